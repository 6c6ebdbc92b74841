import CFSProbeBPF
import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

// The bookkeeping of the path-truth suite: every file operation the suite
// performs is done through `PathTruthLedger`, which knows the operation's
// true path(s) at the moment it is made, logs it, and later pairs it with the
// event the source reported, classifying the reported path against the truth.

/// A path as the kernel stores it: raw bytes, not necessarily UTF-8.
typealias PathBytes = [UInt8]

let slashByte = UInt8(ascii: "/")

func bytes(_ text: String) -> PathBytes { Array(text.utf8) }

/// `parent + "/" + name`.
func joined(_ parent: PathBytes, _ name: PathBytes) -> PathBytes {
    var path = parent
    path.append(slashByte)
    path.append(contentsOf: name)
    return path
}

/// Number of names in an absolute path ("/a/b" has 2).
func componentCount(_ path: PathBytes) -> Int {
    path.split(separator: slashByte).count
}

/// Calls `body` with `name` as a NUL-terminated C string (names are raw bytes).
func withCString<R>(_ name: PathBytes, _ body: (UnsafePointer<CChar>) -> R) -> R {
    (name + [0]).withUnsafeBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
    }
}

/// Bytes made readable in assertion messages: printable ASCII as is, the
/// rest as \xNN; a long path keeps its start and end, which is where a cut
/// or a wrong prefix shows.
func escaped(_ path: PathBytes, limit: Int = 700) -> String {
    func render(_ part: ArraySlice<UInt8>) -> String {
        var out = ""
        for byte in part {
            if byte == UInt8(ascii: "\\") {
                out += "\\\\"
            } else if byte >= 0x20 && byte < 0x7f {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "\\x%02x", byte)
            }
        }
        return out
    }
    guard path.count > limit else { return "\"\(render(path[...]))\"" }
    let head = limit / 4, tail = limit - head
    return "\"\(render(path.prefix(head)))…[\(path.count - limit) of \(path.count) bytes elided]…\(render(path.suffix(tail)))\""
}

/// The flags that say a path is not the whole, current, absolute path.
/// (`.callerSuffix` is not one: it says where the bytes came from.)
let incompletenessFlags: PathResolution = [.truncated, .unresolved, .disconnected, .deleted, .detached, .callerTruncated]

/// Flags after which the bytes may be only the end of the true path.
let startMissingFlags: PathResolution = [.truncated, .unresolved, .disconnected, .detached]

func describe(_ flags: PathResolution) -> String {
    let names: [(PathResolution, String)] = [
        (.truncated, "truncated"), (.callerSuffix, "callerSuffix"), (.callerTruncated, "callerTruncated"),
        (.disconnected, "disconnected"), (.deleted, "deleted"), (.detached, "detached"), (.unresolved, "unresolved"),
    ]
    let present = names.filter { flags.contains($0.0) }.map(\.1)
    return present.isEmpty ? "none" : present.joined(separator: ",")
}

/// What one reported path must be.
struct PathExpectation {
    /// The true path, or the paths that were all true while the operation
    /// ran (an ancestor being renamed concurrently).
    var truths: [PathBytes]
    /// Incompleteness flags this operation may honestly carry.
    var allowed: PathResolution = []
    /// Flags it must carry (a path that cannot be absolute any more).
    var required: PathResolution = []
}

enum PathVerdict: Equatable {
    case correct
    case flagged
    /// Honest bytes, but a flag the scenario does not expect.
    case unexpectedFlag
    case wrong(String)
}

func classify(_ reported: EventPath, _ expectation: PathExpectation) -> PathVerdict {
    let flags = reported.resolution.intersection(incompletenessFlags)
    if flags.isEmpty {
        if !expectation.required.isEmpty { return .wrong("not flagged \(describe(expectation.required))") }
        return expectation.truths.contains(reported.bytes) ? .correct : .wrong("bytes differ from the truth")
    }
    if !expectation.required.isSubset(of: flags) {
        return .wrong("flagged \(describe(flags)) instead of \(describe(expectation.required))")
    }
    let startMissing = !flags.isDisjoint(with: startMissingFlags)
    let endMissing = flags.contains(.callerTruncated)
    let bytes = reported.bytes
    let honest: Bool
    switch (startMissing, endMissing) {
    case (false, false):
        // Deleted alone still promises the whole (last) path.
        honest = expectation.truths.contains(bytes)
    case (true, false):
        // A suffix starting at a component: the reported bytes begin with "/".
        honest = bytes.first == slashByte && expectation.truths.contains { $0.ends(with: bytes) }
    case (false, true):
        honest = expectation.truths.contains { $0.starts(with: bytes) }
    case (true, true):
        honest = bytes.first == slashByte && expectation.truths.contains { $0.contains(bytes) }
    }
    if !honest { return .wrong("flagged \(describe(flags)) but not an honest part of the truth") }
    // A caller's string the kernel could not read back when the call
    // returned (its page unmapped meanwhile) cuts a joined path wherever
    // the machine's memory management decides: honest in every scenario.
    var allowed = expectation.allowed
    if reported.resolution.contains(.callerSuffix) { allowed.insert(.callerTruncated) }
    return flags.isSubset(of: allowed) ? .flagged : .unexpectedFlag
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        suffix.count <= count && self[(count - suffix.count)...].elementsEqual(suffix)
    }

    func contains(_ part: [UInt8]) -> Bool {
        guard part.count <= count else { return false }
        return (0...(count - part.count)).contains { self[$0..<($0 + part.count)].elementsEqual(part) }
    }
}

/// Counts per scenario and the failure messages, shared by every load of one mode.
final class PathTruthTally {
    struct Counts {
        var correct = 0, flagged = 0, wrong = 0, dropped = 0, unexpectedFlags = 0
    }

    private(set) var counts: [String: Counts] = [:]
    private(set) var scenarios: [String] = []
    private(set) var failures: [String] = []
    private var failuresPerScenario: [String: Int] = [:]
    static let failuresShownPerScenario = 12

    func count(_ scenario: PathTruthScenario, _ change: (inout Counts) -> Void) {
        let name = scenario.rawValue
        if counts[name] == nil {
            counts[name] = Counts()
            scenarios.append(name)
        }
        change(&counts[name]!)
    }

    func fail(_ scenario: PathTruthScenario, _ message: String) {
        let name = scenario.rawValue
        let seen = failuresPerScenario[name, default: 0]
        failuresPerScenario[name] = seen + 1
        if seen < Self.failuresShownPerScenario {
            failures.append("[\(name)] \(message)")
        } else if seen == Self.failuresShownPerScenario {
            failures.append("[\(name)] … further failures of this scenario not shown")
        }
    }

    var total: Counts {
        counts.values.reduce(into: Counts()) { sum, c in
            sum.correct += c.correct
            sum.flagged += c.flagged
            sum.wrong += c.wrong
            sum.dropped += c.dropped
            sum.unexpectedFlags += c.unexpectedFlags
        }
    }
}

/// An open directory and the path it truly has now.
struct Place {
    var fd: Int32
    var path: PathBytes

    /// The same directory, known under the name it has after a rename.
    func renamed(to path: PathBytes) -> Place { Place(fd: fd, path: path) }
}

/// How an operation is paired with its event: open and modify events carry
/// the inode of the object (every backend resolves them from the open
/// file); path-based operations are paired in the order they were made,
/// per type. Device numbers are left out on purpose: stat's st_dev is not
/// the superblock's on every file system.
struct MatchKey: Hashable {
    var type: EventType
    var inode: UInt64

    init(_ type: EventType, inode: UInt64 = 0) {
        self.type = type
        self.inode = (type == .open || type == .modify) ? inode : 0
    }

    init(of event: FileEvent) {
        self.init(event.type, inode: event.source.inode)
    }
}


/// Performs and logs the operations of one load, and checks them at each
/// `settle`: a marker file is opened after the operations, and once its
/// event is in, everything done before it has been reported (one thread,
/// ordered ring buffer), so a missing event is a dropped one, without sleeping.
final class PathTruthLedger {
    struct Planned {
        var scenario: PathTruthScenario
        var key: MatchKey
        var what: String
        /// Source, then target for rename and link.
        var paths: [PathExpectation]
        /// Must not be reported at all (outside the watch).
        var forbidden = false
    }

    let recorder: EventRecorder
    let tally: PathTruthTally
    let root: Place
    let pid = UInt32(getpid())
    private var planned: [Planned] = []
    private var windowStart = 0
    private var markers = 0
    /// Bounds only a failing run; a passing one never waits for it.
    static let settleTimeout: TimeInterval = 60
    /// The types the ledger's operations are reported as (none sets
    /// attributes); what a recorder feeding a ledger loads.
    static let reportedTypes: [EventType] = [.open, .mkdir, .link, .rename, .unlink, .rmdir, .modify]

    /// Opens the root (a logged operation) unless `openedRoot` is given:
    /// a root opened before the load, whose open no walk saw.
    init(recorder: EventRecorder, tally: PathTruthTally, rootPath: String, scenario: PathTruthScenario, openedRoot: Place? = nil) {
        self.recorder = recorder
        self.tally = tally
        if let openedRoot {
            root = openedRoot
            return
        }
        let rootBytes = bytes(rootPath)
        let fd = withCString(rootBytes) { Glibc.open($0, O_DIRECTORY | O_RDONLY | O_CLOEXEC) }
        XCTAssertGreaterThanOrEqual(fd, 0, "open \(rootPath): \(String(cString: strerror(errno)))")
        root = Place(fd: fd, path: rootBytes)
        plan(scenario, MatchKey(.open, inode: Self.inode(of: fd)), "open of the watched root", [PathExpectation(truths: [rootBytes])])
    }

    func close() { Glibc.close(root.fd) }

    // MARK: logging

    /// Flags an operation may carry are at most those its scenario lists
    /// (`PathTruthScenario.mayFlag`), so that table is the whole list.
    func plan(_ scenario: PathTruthScenario, _ key: MatchKey, _ what: String, _ paths: [PathExpectation], forbidden: Bool = false) {
        let paths = paths.map { expectation in
            var clamped = expectation
            clamped.allowed.formIntersection(scenario.mayFlag)
            return clamped
        }
        planned.append(Planned(scenario: scenario, key: key, what: what, paths: paths, forbidden: forbidden))
    }

    /// Events with this key until the next settle would come from outside the watch.
    func forbid(_ scenario: PathTruthScenario, _ key: MatchKey, _ what: String) {
        plan(scenario, key, what, [], forbidden: true)
    }

    /// Starts the next window after `index` (events before it are not checked).
    func skipEvents(through index: Int) { windowStart = index + 1 }

    static func inode(of fd: Int32) -> UInt64 {
        var info = stat()
        return fstat(fd, &info) == 0 ? UInt64(info.st_ino) : 0
    }

    private func check(_ result: Int32, _ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
        if result < 0 { XCTFail("\(what()): \(String(cString: strerror(errno)))", file: file, line: line) }
    }

    // MARK: operations

    /// mkdirat, logged.
    @discardableResult
    func mkdir(_ scenario: PathTruthScenario, _ parent: Place, _ name: PathBytes, allowed: PathResolution = [],
               required: PathResolution = [], file: StaticString = #filePath, line: UInt = #line) -> PathBytes {
        let truth = joined(parent.path, name)
        check(withCString(name) { mkdirat(parent.fd, $0, 0o755) }, "mkdir \(escaped(truth))", file: file, line: line)
        plan(scenario, MatchKey(.mkdir), "mkdir", [PathExpectation(truths: [truth], allowed: allowed, required: required)])
        return truth
    }

    /// openat(O_DIRECTORY), logged; the caller closes the place.
    func openDirectory(_ scenario: PathTruthScenario, _ parent: Place, _ name: PathBytes, allowed: PathResolution = [],
                       file: StaticString = #filePath, line: UInt = #line) -> Place {
        let truth = joined(parent.path, name)
        let fd = withCString(name) { openat(parent.fd, $0, O_DIRECTORY | O_RDONLY | O_CLOEXEC) }
        check(fd, "open directory \(escaped(truth))", file: file, line: line)
        plan(scenario, MatchKey(.open, inode: Self.inode(of: fd)), "open of a directory", [PathExpectation(truths: [truth], allowed: allowed)])
        return Place(fd: fd, path: truth)
    }

    /// Opens a directory by absolute path, logged; the caller closes the place.
    func openDirectory(_ scenario: PathTruthScenario, path: PathBytes, file: StaticString = #filePath, line: UInt = #line) -> Place {
        let fd = withCString(path) { Glibc.open($0, O_DIRECTORY | O_RDONLY | O_CLOEXEC) }
        check(fd, "open directory \(escaped(path))", file: file, line: line)
        plan(scenario, MatchKey(.open, inode: Self.inode(of: fd)), "open of a directory by absolute path", [PathExpectation(truths: [path])])
        return Place(fd: fd, path: path)
    }

    /// Opens a file for writing, logged; the caller writes and closes it.
    func openForWriting(_ scenario: PathTruthScenario, _ parent: Place, _ name: PathBytes,
                        file: StaticString = #filePath, line: UInt = #line) -> Int32 {
        let truth = joined(parent.path, name)
        let fd = withCString(name) { openat(parent.fd, $0, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) }
        check(fd, "open for writing \(escaped(truth))", file: file, line: line)
        plan(scenario, MatchKey(.open, inode: Self.inode(of: fd)), "open for writing", [PathExpectation(truths: [truth])])
        return fd
    }

    /// An open that is not logged (its events are checked by `forbid` or
    /// not at all). Returns the inode.
    @discardableResult
    static func openUnlogged(_ parent: Place, _ name: PathBytes, flags: Int32 = O_RDONLY) -> UInt64 {
        let fd = withCString(name) { openat(parent.fd, $0, flags | O_CLOEXEC, 0o644) }
        XCTAssertGreaterThanOrEqual(fd, 0, "open \(escaped(joined(parent.path, name))): \(String(cString: strerror(errno)))")
        let inode = inode(of: fd)
        Glibc.close(fd)
        return inode
    }

    /// mkdir then open of the new directory, both logged.
    func directory(_ scenario: PathTruthScenario, _ parent: Place, _ name: PathBytes, allowed: PathResolution = [],
                   file: StaticString = #filePath, line: UInt = #line) -> Place {
        mkdir(scenario, parent, name, allowed: allowed, file: file, line: line)
        return openDirectory(scenario, parent, name, allowed: allowed, file: file, line: line)
    }

    /// Creates (or opens for writing) a file and closes it; logged. Returns its inode.
    @discardableResult
    func create(_ scenario: PathTruthScenario, _ parent: Place, _ name: PathBytes, allowed: PathResolution = [],
                required: PathResolution = [], file: StaticString = #filePath, line: UInt = #line) -> UInt64 {
        let truth = joined(parent.path, name)
        let fd = withCString(name) { openat(parent.fd, $0, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) }
        check(fd, "create \(escaped(truth))", file: file, line: line)
        let inode = Self.inode(of: fd)
        Glibc.close(fd)
        plan(scenario, MatchKey(.open, inode: inode), "create",
             [PathExpectation(truths: [truth], allowed: allowed, required: required)])
        return inode
    }

    /// Opens a file (or directory) read-only through a directory and closes it; logged.
    @discardableResult
    func open(_ scenario: PathTruthScenario, _ parent: Place, _ name: PathBytes, truths: [PathBytes]? = nil,
              allowed: PathResolution = [], required: PathResolution = [],
              file: StaticString = #filePath, line: UInt = #line) -> UInt64 {
        let truth = joined(parent.path, name)
        let fd = withCString(name) { openat(parent.fd, $0, O_RDONLY | O_CLOEXEC) }
        check(fd, "open \(escaped(truth))", file: file, line: line)
        let inode = Self.inode(of: fd)
        Glibc.close(fd)
        plan(scenario, MatchKey(.open, inode: inode), "open",
             [PathExpectation(truths: truths ?? [truth], allowed: allowed, required: required)])
        return inode
    }

    /// Opens by absolute path (the kernel resolves it from the root); logged.
    @discardableResult
    func open(_ scenario: PathTruthScenario, path: PathBytes, allowed: PathResolution = [],
              file: StaticString = #filePath, line: UInt = #line) -> UInt64 {
        let fd = withCString(path) { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        check(fd, "open \(escaped(path))", file: file, line: line)
        let inode = Self.inode(of: fd)
        Glibc.close(fd)
        plan(scenario, MatchKey(.open, inode: inode), "open by absolute path", [PathExpectation(truths: [path], allowed: allowed)])
        return inode
    }

    /// renameat, or renameat2 with `flags`; logged with the old and the new path.
    func rename(_ scenario: PathTruthScenario, _ fromDir: Place, _ fromName: PathBytes, _ toDir: Place, _ toName: PathBytes,
                flags: UInt32 = 0, file: StaticString = #filePath, line: UInt = #line) {
        plan(scenario, MatchKey(.rename), flags == 0 ? "rename" : "renameat2(\(flags))", Self.renameExpectations(fromDir, fromName, toDir, toName))
        check(Self.performRename(fromDir, fromName, toDir, toName, flags: flags),
              "rename \(escaped(joined(fromDir.path, fromName))) -> \(escaped(joined(toDir.path, toName)))", file: file, line: line)
    }

    static func renameExpectations(_ fromDir: Place, _ fromName: PathBytes, _ toDir: Place, _ toName: PathBytes) -> [PathExpectation] {
        [PathExpectation(truths: [joined(fromDir.path, fromName)]), PathExpectation(truths: [joined(toDir.path, toName)])]
    }

    /// The rename itself, unlogged: callable from another thread.
    static func performRename(_ fromDir: Place, _ fromName: PathBytes, _ toDir: Place, _ toName: PathBytes, flags: UInt32 = 0) -> Int32 {
        withCString(fromName) { old in
            withCString(toName) { new in
                if flags == 0 { return renameat(fromDir.fd, old, toDir.fd, new) }
                guard let renameat2 = renameat2Function else {
                    errno = ENOSYS
                    return -1
                }
                return renameat2(fromDir.fd, old, toDir.fd, new, flags)
            }
        }
    }

    /// Logs a rename another thread made (after joining it).
    func planRename(_ scenario: PathTruthScenario, _ paths: [PathExpectation], allowed: PathResolution = []) {
        let paths = paths.map { expectation in
            var widened = expectation
            widened.allowed.formUnion(allowed)
            return widened
        }
        plan(scenario, MatchKey(.rename), "rename by another thread", paths)
    }

    func link(_ scenario: PathTruthScenario, _ fromDir: Place, _ fromName: PathBytes, _ toDir: Place, _ toName: PathBytes,
              file: StaticString = #filePath, line: UInt = #line) {
        let result = withCString(fromName) { old in withCString(toName) { new in linkat(fromDir.fd, old, toDir.fd, new, 0) } }
        check(result, "link \(escaped(joined(toDir.path, toName)))", file: file, line: line)
        plan(scenario, MatchKey(.link), "link", Self.renameExpectations(fromDir, fromName, toDir, toName))
    }

    func unlink(_ scenario: PathTruthScenario, _ parent: Place, _ name: PathBytes, file: StaticString = #filePath, line: UInt = #line) {
        let truth = joined(parent.path, name)
        check(withCString(name) { unlinkat(parent.fd, $0, 0) }, "unlink \(escaped(truth))", file: file, line: line)
        plan(scenario, MatchKey(.unlink), "unlink", [PathExpectation(truths: [truth])])
    }

    func rmdir(_ scenario: PathTruthScenario, _ parent: Place, _ name: PathBytes, file: StaticString = #filePath, line: UInt = #line) {
        let truth = joined(parent.path, name)
        check(withCString(name) { unlinkat(parent.fd, $0, AT_REMOVEDIR) }, "rmdir \(escaped(truth))", file: file, line: line)
        plan(scenario, MatchKey(.rmdir), "rmdir", [PathExpectation(truths: [truth])])
    }

    /// One write to an open file; logged as the modify it must produce.
    func write(_ scenario: PathTruthScenario, fd: Int32, truth: PathBytes, allowed: PathResolution = [], required: PathResolution = [],
               file: StaticString = #filePath, line: UInt = #line) {
        check(Int32(Glibc.write(fd, "x", 1)), "write \(escaped(truth))", file: file, line: line)
        plan(scenario, MatchKey(.modify, inode: Self.inode(of: fd)), "write",
             [PathExpectation(truths: [truth], allowed: allowed, required: required)])
    }

    // MARK: checking

    /// Opens a fresh marker file, waits for its event, then pairs every
    /// operation logged since the last settle with its event and classifies
    /// the reported paths. Returns the window's events (ours only).
    @discardableResult
    func settle(_ scenario: PathTruthScenario, file: StaticString = #filePath, line: UInt = #line) -> [FileEvent] {
        markers += 1
        let name = bytes("marker-\(markers)")
        let truth = joined(root.path, name)
        let fd = withCString(name) { openat(root.fd, $0, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) }
        check(fd, "create marker", file: file, line: line)
        let key = MatchKey(.open, inode: Self.inode(of: fd))
        Glibc.close(fd)
        plan(scenario, key, "marker open", [PathExpectation(truths: [truth])])
        let pid = self.pid
        // The marker's inode number may be one an operation of this window
        // used before it was freed (a file unlinked): its events come first.
        var earlier = planned.dropLast().filter { $0.key == key }.count
        guard let marker = recorder.firstEvent(from: windowStart, timeout: Self.settleTimeout, where: {
            guard $0.pid == pid && MatchKey(of: $0) == key else { return false }
            earlier -= 1
            return earlier < 0
        }) else {
            let counters = recorder.source.kernelCounters.kernel
            let last = recorder.count > 0 ? recorder.events(in: (recorder.count - 1)..<recorder.count).first : nil
            tally.fail(scenario, "marker \(escaped(truth)) never reported within \(Int(Self.settleTimeout)) s: the source stalled or lost events (kernel emitted \(counters.emitted), lost \(counters.ringBufferFull) to a full ring buffer; \(recorder.count) recorded, the last: \(last.map { "pid \($0.pid) \($0.type.name) \(escaped($0.source.bytes))" } ?? "none"))")
            match([])
            windowStart = recorder.count
            return []
        }
        let window = recorder.events(in: windowStart..<(marker.index + 1)).filter { $0.pid == pid }
        windowStart = marker.index + 1
        match(window)
        return window
    }

    /// Pairs the planned operations with `events`, in order per key.
    private func match(_ events: [FileEvent]) {
        var queues: [MatchKey: [FileEvent]] = [:]
        for event in events { queues[MatchKey(of: event), default: []].append(event) }
        var next: [MatchKey: Int] = [:]
        for op in planned {
            if op.forbidden {
                let reported = queues[op.key] ?? []
                if let first = reported.first {
                    tally.count(op.scenario) { $0.wrong += reported.count }
                    tally.fail(op.scenario, "\(op.what): \(reported.count) event(s) reported although outside the watch, first: \(first.type.name) \(escaped(first.source.bytes))")
                }
                queues[op.key] = []
                continue
            }
            let index = next[op.key, default: 0]
            guard let event = queues[op.key].flatMap({ index < $0.count ? $0[index] : nil }) else {
                tally.count(op.scenario) { $0.dropped += 1 }
                tally.fail(op.scenario, "\(op.what): no event; truth \(escaped(op.paths.first?.truths.first ?? []))")
                continue
            }
            next[op.key] = index + 1
            let reported = [event.source] + (event.target.map { [$0] } ?? [])
            for (role, expectation) in op.paths.enumerated() {
                let side = role == 0 ? "source" : "target"
                guard role < reported.count else {
                    tally.count(op.scenario) { $0.wrong += 1 }
                    tally.fail(op.scenario, "\(op.what): event has no \(side) path; truth \(escaped(expectation.truths.first ?? []))")
                    continue
                }
                let path = reported[role]
                let truthText = expectation.truths.count == 1 ? escaped(expectation.truths[0])
                    : "one of [" + expectation.truths.map { escaped($0) }.joined(separator: ", ") + "]"
                switch classify(path, expectation) {
                case .correct:
                    tally.count(op.scenario) { $0.correct += 1 }
                case .flagged:
                    tally.count(op.scenario) { $0.flagged += 1 }
                case .unexpectedFlag:
                    tally.count(op.scenario) { $0.flagged += 1; $0.unexpectedFlags += 1 }
                    tally.fail(op.scenario, "\(op.what) \(side): flagged \(describe(path.resolution)), which this scenario does not expect; truth \(truthText), reported \(escaped(path.bytes))")
                case .wrong(let why):
                    tally.count(op.scenario) { $0.wrong += 1 }
                    tally.fail(op.scenario, "\(op.what) \(side): WRONG (\(why)); truth \(truthText), reported \(escaped(path.bytes)) flags \(describe(path.resolution))")
                }
            }
            checkExecutable(of: event, op)
        }
        planned.removeAll()
    }

    /// The executable of every event: this test binary, walked by the
    /// kernel through the same caches as the paths, under the same
    /// flags. Only a wrong one is counted (as wrong), so the totals stay
    /// those of the paths.
    private func checkExecutable(of event: FileEvent, _ op: Planned) {
        let allowed = op.paths.first?.allowed ?? []
        guard let exe = event.process.executable else {
            tally.count(op.scenario) { $0.wrong += 1 }
            tally.fail(op.scenario, "\(op.what): no executable")
            return
        }
        switch classify(exe, PathExpectation(truths: [Self.ownExecutable], allowed: allowed)) {
        case .correct, .flagged: break
        case .unexpectedFlag, .wrong:
            tally.count(op.scenario) { $0.wrong += 1 }
            tally.fail(op.scenario, "\(op.what): WRONG executable \(escaped(exe.bytes)) flags \(describe(exe.resolution)); truth \(escaped(Self.ownExecutable))")
        }
    }

    static let ownExecutable = bytes((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "?")
}
