import Foundation
import FSProbeCore
import FSProbeTestSupport
import FSProbeSources
import XCTest

/// Runs a real `KernelEventSource` on its own thread and records what it
/// emits, so a test can wait for a specific event instead of sleeping.
final class EventRecorder: @unchecked Sendable {
    let source: KernelEventSource
    private let condition = NSCondition()
    private var events: [FileEvent] = []
    private var finished = false
    private var runError: Error?

    /// - Parameter events: what the test needs reported, and no more: under
    ///   the kernel matrix's emulation every hook attached costs about a
    ///   second of the load (`.all` about ten more than one type).
    init(paths: [String], events: [EventType], configure: (inout KernelProbeOptions) -> Void = { _ in }) throws {
        var options = KernelProbeOptions.underTest
        options.events = EventTypeSet(events)
        options.ignoreOwnProcess = false  // the tests' own operations are the workload
        options.backend = TestBackend.kind
        configure(&options)
        source = try KernelEventSource(paths: paths, options: options)
        Thread { [self] in record() }.start()
    }

    private func record() {
        var failure: Error?
        do {
            try source.run { event in
                condition.lock()
                events.append(event)
                condition.broadcast()
                condition.unlock()
            }
        } catch {
            failure = error
        }
        condition.lock()
        runError = failure
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until an event satisfying `predicate` arrives and returns it.
    /// The timeout only bounds a failing test; passing tests never wait for it.
    @discardableResult
    func waitFor(_ what: String, timeout: TimeInterval = 10, file: StaticString = #filePath, line: UInt = #line,
                 _ predicate: (FileEvent) -> Bool) -> FileEvent? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let match = events.first(where: predicate) { return match }
            if finished || !condition.wait(until: deadline) {
                XCTFail("no event for \(what) within \(timeout) s; got: \(events.map(Self.describe))", file: file, line: line)
                return nil
            }
        }
    }

    /// Every event recorded so far.
    var recorded: [FileEvent] {
        condition.lock()
        defer { condition.unlock() }
        return events
    }

    /// Events recorded up to and including the first one matching `marker`,
    /// after waiting for it. Activity done before the marker's operation has
    /// been reported by then (one thread, ordered ring buffer).
    func events(until what: String, file: StaticString = #filePath, line: UInt = #line,
                _ marker: (FileEvent) -> Bool) -> [FileEvent] {
        guard waitFor(what, file: file, line: line, marker) != nil else { return [] }
        let all = recorded
        let index = all.firstIndex(where: marker)!
        return Array(all[...index])
    }

    /// Number of events recorded so far.
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return events.count
    }

    /// Recorded events at these indices.
    func events(in range: Range<Int>) -> [FileEvent] {
        condition.lock()
        defer { condition.unlock() }
        return Array(events[range.clamped(to: 0..<events.count)])
    }

    /// The first event at index `start` or later satisfying `predicate`,
    /// with its index; nil, without failing, when none arrives within
    /// `timeout` (the caller reports what that means).
    func firstEvent(from start: Int, timeout: TimeInterval,
                    where predicate: (FileEvent) -> Bool) -> (index: Int, event: FileEvent)? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        var next = max(start, 0)
        while true {
            while next < events.count {
                if predicate(events[next]) { return (next, events[next]) }
                next += 1
            }
            if finished { return nil }
            if !condition.wait(until: deadline) && next == events.count { return nil }
        }
    }

    func stop() throws {
        source.stop()
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
        if let runError { throw runError }
    }

    /// The event's `flag_names`, as the JSON output has them.
    static func flagNames(_ event: FileEvent) -> String {
        var bytes: [UInt8] = []
        event.appendFlagNames(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func describe(_ event: FileEvent) -> String {
        "\(event.type.name) \(event.source.string)" + (event.target.map { " -> \($0.string)" } ?? "") + " ret=\(event.retval)"
    }
}

/// The backend under test: FSPROBE_TEST_BACKEND (the kernel matrix runs the
/// suite once per backend), else tracepoint, the one every test machine has.
enum TestBackend {
    static let kind: BackendKind = {
        guard let name = ProcessInfo.processInfo.environment["FSPROBE_TEST_BACKEND"] else { return .tracepoint }
        guard let kind = BackendKind(rawValue: name) else { fatalError("FSPROBE_TEST_BACKEND=\(name): expected fentry, kprobe or tracepoint") }
        return kind
    }()

    /// fentry and kprobe hook the VFS; tracepoint hooks syscalls.
    static var isVFS: Bool { kind != .tracepoint }
}

extension KernelProbeOptions {
    /// The defaults, with the ring buffer the kernel matrix runs with
    /// (FSPROBE_TEST_RING_PAGES), where the default would slow every start.
    static var underTest: KernelProbeOptions {
        var options = KernelProbeOptions()
        if let pages = FSProbeProcess.testRingPages { options.ringBufferPages = pages }
        return options
    }
}

/// A test case with two fresh directories: `scratch`, which its tests
/// watch, and `outside`, which they do not.
class InsideOutsideTestCase: XCTestCase {
    var scratch: Scratch!
    var outside: Scratch!

    override func setUpWithError() throws {
        try requireRoot()
        scratch = try Scratch(name)
        outside = try Scratch(name + "outside")
    }

    override func tearDown() {
        scratch?.remove()
        outside?.remove()
    }
}

/// A fresh directory for one test, removed afterwards.
struct Scratch {
    let path: String

    init(_ name: String = #function) throws {
        path = try makeScratch(name)
    }

    func url(_ relative: String) -> String { "\(path)/\(relative)" }

    /// `rm -rf` copes with trees deeper than PATH_MAX, which some tests build.
    func remove() {
        let rm = Process()
        rm.executableURL = URL(fileURLWithPath: "/bin/rm")
        rm.arguments = ["-rf", path]
        try? rm.run()
        rm.waitUntilExit()
    }
}

func requireRoot() throws {
    guard geteuid() == 0 else {
        throw NotRoot()
    }
}

/// The calling thread's kernel tid (`/proc/thread-self` → "PID/task/TID").
func currentThreadID() -> UInt32 {
    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
    return UInt32(target.split(separator: "/").last ?? "") ?? 0
}

/// Opens and closes a file, returning the open(2) result.
@discardableResult
func touch(_ path: String, flags: Int32 = O_RDONLY, mode: mode_t = 0o644) -> Int32 {
    let fd = open(path, flags, mode)
    if fd >= 0 { close(fd) }
    return fd
}

/// `touch` for a forked child: a C string, no allocation.
@discardableResult
func touchC(_ path: UnsafePointer<CChar>) -> Int32 {
    let fd = open(path, O_RDONLY)
    if fd >= 0 { close(fd) }
    return fd
}

/// Thrown (a failure, never a skip) when the kernel tests run without root.
struct NotRoot: Error, CustomStringConvertible {
    var description: String { "the kernel tests load BPF programs and must run as root" }
}

/// Runs `body` in a forked child, which exits with its result, and returns
/// the child's pid once it has exited with 0. The child only makes system
/// calls: it is a copy of a multithreaded process.
func runChild(_ body: () -> Int32, file: StaticString = #filePath, line: UInt = #line) throws -> pid_t {
    let pid = fork()
    if pid == 0 { _exit(body()) }
    guard pid > 0 else { throw ChildFailed(reason: "fork: \(String(cString: strerror(errno)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED and WEXITSTATUS are macros Swift does not import.
    let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
    guard exited && code == 0 else {
        throw ChildFailed(reason: exited ? "child exited with \(code) (the step that failed)" : "child killed by signal \(status & 0x7f)")
    }
    return pid
}

struct ChildFailed: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// unshare(2): Glibc's Swift overlay leaves out GNU extensions.
typealias Unshare = @convention(c) (Int32) -> Int32
let unshareFunction: Unshare? = {
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "unshare").map { unsafeBitCast($0, to: Unshare.self) }
}()
let cloneNewNS: Int32 = 0x0002_0000   // CLONE_NEWNS, from linux/sched.h
let cloneNewPID: Int32 = 0x2000_0000  // CLONE_NEWPID

func unshareMountNamespace() -> Int32 { unshareFunction?(cloneNewNS) ?? -1 }

/// renameat2(2), which Glibc's Swift overlay does not export.
typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32
let renameat2Function: RenameAt2? = {
    // RTLD_DEFAULT is a null handle in glibc.
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2").map { unsafeBitCast($0, to: RenameAt2.self) }
}()
let renameExchange: UInt32 = 1 << 1  // RENAME_EXCHANGE, from linux/fs.h
