import CFSProbeBPF
import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

/// The scenarios of the path-truth suite, by the name they are reported under.
enum PathTruthScenario: String, CaseIterable {
    case root = "watched root"
    case ancestorRename = "1 rename of a cached ancestor"
    case concurrentRenames = "2 ancestor renamed during a stream"
    case exchange = "3 RENAME_EXCHANGE of directories"
    case depth = "4 depths"
    case names = "5 raw names"
    case hardLinks = "6 hard links"
    case inodeReuse = "7 removed directory, inode reused"
    case unlinkedWhileOpen = "8 file unlinked while open"
    case bindMount = "9 bind mount"
    case tmpfsRemount = "10 tmpfs unmounted and remounted"
    case lazyUnmount = "10 lazily unmounted tmpfs"
    case manyDirectories = "11 many directories"
    case followMovedOut = "12 follow: file moved out of the watch"
    case nonRecursive = "12 non-recursive watch"
    case withoutFollow = "12 follow=false"
    case fileSystems = "14 ext4, xfs and btrfs images"
    case overlay = "15 overlayfs"
    case lossBurst = "13 burst into a one-page ring buffer"
    case afterLoss = "13 after the losses"

    /// The only scenarios whose paths may be flagged incomplete, and with
    /// what; every other path must be exact.
    ///   - depths: only paths of more than FSP_MAX_DEPTH names (the kernel
    ///     writes that many and marks the rest cut);
    ///   - a file unlinked while open: its path is the name it last had;
    ///   - a lazily unmounted tmpfs: nothing above its root exists any more;
    ///   - renames racing the walks, eviction of small caches and lost
    ///     events: a walk may stop at a directory whose cached path was
    ///     evicted before user space read the event
    ///     (`PathResolution.unresolved`, documented for exactly that);
    ///     and a walk that read a directory's name while it was being
    ///     renamed stops below it (`.truncated`) rather than carry a torn name.
    var mayFlag: PathResolution {
        switch self {
        case .depth: .truncated
        case .unlinkedWhileOpen: .deleted
        case .lazyUnmount: .detached
        case .concurrentRenames: [.unresolved, .truncated]
        case .manyDirectories, .lossBurst: .unresolved
        default: []
        }
    }
}

/// The scenarios of the main load: one recorder (recursive, follow, all
/// event types) on a fresh directory W, every scenario run against it.
final class PathTruthMainRun {
    let ledger: PathTruthLedger
    /// An unwatched directory U, outside W.
    let outside: PathBytes
    private(set) var mounts: [String] = []
    var watched: Place { ledger.root }

    /// Renames per stream of scenario 2; each swaps the two directories' names.
    static let streamRounds = 200
    /// Bounds the opens of scenario 2 so its events fit the ring buffer
    /// even if the reader gets no CPU while the stream runs.
    static let streamMaxOpens = 10_000
    /// Enough directories to churn the smallest default kernel cache
    /// (single_fragment's), one file in each.
    static let manyDirectoryCount = ResolutionMode.singleFragment.defaultKernelCacheEntries + 200

    /// Names the run in the detail lines it prints.
    let label: String

    init(ledger: PathTruthLedger, outside: String, label: String) {
        self.ledger = ledger
        self.outside = bytes(outside)
        self.label = label
    }

    func runAll() throws {
        ancestorRename()
        concurrentRenames()
        exchange()
        rawNames()
        hardLinks()
        inodeReuse()
        unlinkedWhileOpen()
        bindMount()
        tmpfsRemount()
        try lazyUnmount()
        try fileSystems()
        try overlay()
        followMovedOut()
        // Last: these fill the caches (thousands of directories), after
        // which evictions race the reader; the scenarios above run on
        // caches that are not full, where nothing excuses a flag.
        depths()
        manyDirectories()
    }

    /// Detaches whatever a failed scenario left mounted.
    func unmountAll() {
        for mount in mounts.reversed() { umount2(mount, Int32(MNT_DETACH)) }
        mounts.removeAll()
    }

    private func path(_ parts: String...) -> PathBytes {
        parts.reduce(watched.path) { joined($0, bytes($1)) }
    }

    // MARK: 1

    /// The issue's must-hold: a directory cached under its old name must not
    /// survive the rename of an ancestor, including twice in a row.
    func ancestorRename() {
        let s = PathTruthScenario.ancestorRename
        let a = ledger.directory(s, watched, bytes("a"))
        let x = ledger.directory(s, a, bytes("x"))
        let y = ledger.directory(s, x, bytes("y"))
        ledger.create(s, y, bytes("f"))
        for _ in 0..<3 { ledger.open(s, path: path("a", "x", "y", "f")) }
        // Once these events are read, perf_buffer mode has told the kernel
        // about the directories too: the next walk stops at a cached one.
        ledger.settle(s)
        ledger.open(s, path: path("a", "x", "y", "f"))

        ledger.rename(s, watched, bytes("a"), watched, bytes("b"))
        ledger.open(s, path: path("b", "x", "y", "f"))
        ledger.open(s, y.renamed(to: path("b", "x", "y")), bytes("f"))
        ledger.rename(s, watched, bytes("b"), watched, bytes("c"))
        ledger.open(s, path: path("c", "x", "y", "f"))
        ledger.open(s, y.renamed(to: path("c", "x", "y")), bytes("f"))
        ledger.settle(s)

        // Cached under the new names, then renamed again, deeper too.
        ledger.open(s, path: path("c", "x", "y", "f"))
        ledger.settle(s)
        ledger.open(s, path: path("c", "x", "y", "f"))
        ledger.rename(s, watched, bytes("c"), watched, bytes("d"))
        ledger.open(s, path: path("d", "x", "y", "f"))
        ledger.rename(s, a.renamed(to: path("d")), bytes("x"), a.renamed(to: path("d")), bytes("x2"))
        ledger.open(s, path: path("d", "x2", "y", "f"))
        ledger.open(s, y.renamed(to: path("d", "x2", "y")), bytes("f"))
        ledger.settle(s)
        for place in [a, x, y] { close(place.fd) }
    }

    // MARK: 2

    /// One thread swaps the names of W/s1 and W/s2 (through a third name)
    /// while this one opens a file below each as fast as it can: every
    /// reported path must use a name its ancestor really had, and keep the
    /// rest of the path (a mixture of the two trees is a lie).
    func concurrentRenames() {
        let s = PathTruthScenario.concurrentRenames
        let first = ledger.directory(s, watched, bytes("s1"))
        let firstInner = ledger.directory(s, first, bytes("in1"))
        let firstFile = ledger.create(s, firstInner, bytes("f1"))
        let second = ledger.directory(s, watched, bytes("s2"))
        let secondInner = ledger.directory(s, second, bytes("in2"))
        let secondFile = ledger.create(s, secondInner, bytes("f2"))
        for _ in 0..<2 {
            ledger.open(s, firstInner, bytes("f1"))
            ledger.open(s, secondInner, bytes("f2"))
        }
        ledger.settle(s)

        let ancestorNames = ["s1", "s2", "swap"]
        let firstTruths = ancestorNames.map { path($0, "in1", "f1") }
        let secondTruths = ancestorNames.map { path($0, "in2", "f2") }
        let root = watched
        let renamer = StreamRenamer(root: root, rounds: Self.streamRounds)
        renamer.start()
        var opens = 0
        while !renamer.isDone && opens < Self.streamMaxOpens {
            for (inner, name, inode, truths) in [(firstInner, "f1", firstFile, firstTruths), (secondInner, "f2", secondFile, secondTruths)] {
                let fd = openat(inner.fd, name, O_RDONLY | O_CLOEXEC)
                if fd < 0 { XCTFail("open \(name) during the stream: \(String(cString: strerror(errno)))"); continue }
                close(fd)
                ledger.plan(s, MatchKey(.open, inode: inode), "open during the stream", [PathExpectation(truths: truths, allowed: [.unresolved, .truncated])])
                opens += 1
            }
        }
        let renames = renamer.join()
        for rename in renames { ledger.planRename(s, rename, allowed: [.unresolved, .truncated]) }
        XCTAssertEqual(renamer.failures, [], "renames of the stream failed")

        let window = ledger.settle(s)
        // How the names were spread, to show the stream did overlap.
        var seen: [String: Int] = [:]
        for event in window where event.type == .open && (event.source.inode == firstFile || event.source.inode == secondFile) {
            let truths = event.source.inode == firstFile ? firstTruths : secondTruths
            if let index = truths.firstIndex(of: event.source.bytes) {
                seen[ancestorNames[index], default: 0] += 1
            } else {
                seen["flagged or other", default: 0] += 1
            }
        }
        print("path-truth-detail \(label) stream: \(opens) opens during \(renames.count) renames; ancestor seen as "
              + seen.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for place in [first, firstInner, second, secondInner] { close(place.fd) }
    }

    // MARK: 3

    func exchange() {
        let s = PathTruthScenario.exchange
        let e1 = ledger.directory(s, watched, bytes("e1"))
        let e2 = ledger.directory(s, watched, bytes("e2"))
        ledger.create(s, e1, bytes("file1"))
        ledger.create(s, e2, bytes("file2"))
        for _ in 0..<3 {
            ledger.open(s, path: path("e1", "file1"))
            ledger.open(s, path: path("e2", "file2"))
        }
        ledger.settle(s)
        ledger.open(s, path: path("e1", "file1"))
        ledger.open(s, path: path("e2", "file2"))

        ledger.rename(s, watched, bytes("e1"), watched, bytes("e2"), flags: renameExchange)
        ledger.open(s, path: path("e2", "file1"))
        ledger.open(s, path: path("e1", "file2"))
        ledger.open(s, e1.renamed(to: path("e2")), bytes("file1"))
        ledger.open(s, e2.renamed(to: path("e1")), bytes("file2"))
        ledger.settle(s)
        ledger.open(s, path: path("e2", "file1"))
        ledger.settle(s)
        // And back, right after the new names were cached.
        ledger.rename(s, watched, bytes("e1"), watched, bytes("e2"), flags: renameExchange)
        ledger.open(s, path: path("e1", "file1"))
        ledger.open(s, path: path("e2", "file2"))
        ledger.open(s, e1, bytes("file1"))
        ledger.settle(s)
        close(e1.fd)
        close(e2.fd)
    }

    // MARK: 4

    /// Chains built level by level through directory fds (whole paths would
    /// pass PATH_MAX). Lengths around the cacheable segment (64 levels) and
    /// the kernel's name limit are taken both as chain lengths and as
    /// whole-path name counts, since where W lives decides the latter.
    func depths() {
        let s = PathTruthScenario.depth
        let limit = Int(FSP_MAX_DEPTH)
        let rootNames = componentCount(watched.path)
        var chains: [(label: String, levels: Int)] = [1, 2, 10, 63, 64, 65, 199, 200, 201, 1000].map { ("chain\($0)", $0) }
        // container + chain + file = total names of the file's path.
        for total in [63, 64, 65, limit - 1, limit, limit + 1] where total - rootNames - 2 > 0 {
            chains.append(("names\(total)", total - rootNames - 2))
        }
        func allowance(_ truth: PathBytes) -> PathResolution {
            componentCount(truth) > limit ? .truncated : []
        }
        var bottoms: [Place] = []
        for chain in chains {
            var place = ledger.directory(s, watched, bytes("depth-\(chain.label)"))
            for level in 0..<chain.levels {
                let name = bytes("d\(level)")
                let next = ledger.directory(s, place, name, allowed: allowance(joined(place.path, name)))
                close(place.fd)
                place = next
            }
            ledger.create(s, place, bytes("f"), allowed: allowance(joined(place.path, bytes("f"))))
            bottoms.append(place)
        }
        ledger.settle(s)
        for place in bottoms {
            ledger.open(s, place, bytes("f"), allowed: allowance(joined(place.path, bytes("f"))))
        }
        ledger.settle(s)
        for place in bottoms { close(place.fd) }
    }

    // MARK: 5

    static let rawDirectoryNames: [PathBytes] = [
        PathBytes(repeating: UInt8(ascii: "n"), count: 255),
        bytes("with  spaces "),
        bytes("new\nline"),
        bytes("\u{1b}[31mred\u{1b}[0m"),
        [0xff, 0xfe],
        (0..<255).map { UInt8(0x80 + $0 % 0x7f) },  // 255 bytes, none valid UTF-8
        bytes(" lead\ttab\u{7f}"),
    ]
    static let rawFileNames: [PathBytes] = [
        PathBytes(repeating: UInt8(ascii: "f"), count: 255),
        bytes("file with spaces"),
        bytes("file\nnewline"),
        [0xed, 0xa0, 0x80],  // an encoded surrogate: invalid UTF-8
        bytes("\u{1b}]0;title\u{07}"),
        [0xc3, 0x28],
        bytes("é-\u{301}"),
    ]

    func rawNames() {
        let s = PathTruthScenario.names
        var place = ledger.directory(s, watched, bytes("names"))
        var levels: [(Place, PathBytes)] = []
        for (index, name) in Self.rawDirectoryNames.enumerated() {
            place = ledger.directory(s, place, name)
            let fileName = Self.rawFileNames[index % Self.rawFileNames.count]
            ledger.create(s, place, fileName)
            levels.append((place, fileName))
        }
        ledger.settle(s)
        for (level, fileName) in levels { ledger.open(s, level, fileName) }
        ledger.settle(s)
        for (level, _) in levels { close(level.fd) }
    }

    // MARK: 6

    /// Files are never cached (a hard link gives one inode several names):
    /// each open reports the name it went through.
    func hardLinks() {
        let s = PathTruthScenario.hardLinks
        let h = ledger.directory(s, watched, bytes("h"))
        let sub = ledger.directory(s, h, bytes("sub"))
        ledger.create(s, h, bytes("one"))
        ledger.link(s, h, bytes("one"), h, bytes("two"))
        ledger.link(s, h, bytes("one"), sub, bytes("three"))
        for _ in 0..<2 {
            ledger.open(s, h, bytes("one"))
            ledger.open(s, h, bytes("two"))
            ledger.open(s, sub, bytes("three"))
            ledger.open(s, path: path("h", "two"))
            ledger.open(s, path: path("h", "one"))
            ledger.settle(s)
        }
        close(h.fd)
        close(sub.fd)
    }

    // MARK: 7

    /// A directory removed after being cached: a new directory given the
    /// same inode number must not inherit its path.
    func inodeReuse() {
        let s = PathTruthScenario.inodeReuse
        let r = ledger.directory(s, watched, bytes("r"))
        let d1 = ledger.directory(s, r, bytes("d1"))
        ledger.create(s, d1, bytes("f"))
        for _ in 0..<3 { ledger.open(s, d1, bytes("f")) }
        ledger.settle(s)
        ledger.open(s, d1, bytes("f"))
        ledger.open(s, path: path("r", "d1", "f"))
        let removedInode = PathTruthLedger.inode(of: d1.fd)
        ledger.unlink(s, d1, bytes("f"))
        close(d1.fd)
        ledger.rmdir(s, r, bytes("d1"))

        var reused = 0
        let r2 = ledger.directory(s, watched, bytes("r2"))
        for (parent, prefix, count) in [(r2, "n", 50), (r, "again", 10)] {
            for index in 0..<count {
                let name = "\(prefix)\(index)"
                let dir = ledger.directory(s, parent, bytes(name))
                if PathTruthLedger.inode(of: dir.fd) == removedInode { reused += 1 }
                ledger.create(s, dir, bytes("f"))
                ledger.open(s, dir, bytes("f"))
                close(dir.fd)
            }
        }
        ledger.settle(s)
        for index in 0..<50 { ledger.open(s, path: path("r2", "n\(index)", "f")) }
        ledger.settle(s)
        print("path-truth-detail \(label) inode reuse: the removed directory's inode number came back \(reused) time(s)")
        close(r.fd)
        close(r2.fd)
    }

    // MARK: 8

    /// Every backend walks an open file's own dentry, which unlink unhashes
    /// but leaves under its parent: the write's path is the name the file
    /// last had, flagged deleted (the VFS backends report the first write
    /// of an open file, the tracepoint backend every write: one is done).
    func unlinkedWhileOpen() {
        let s = PathTruthScenario.unlinkedWhileOpen
        let u = ledger.directory(s, watched, bytes("u"))
        let fd = ledger.openForWriting(s, u, bytes("f"))
        ledger.unlink(s, u, bytes("f"))
        ledger.write(s, fd: fd, truth: path("u", "f"), allowed: .deleted, required: .deleted)
        close(fd)
        ledger.settle(s)
        close(u.fd)
    }

    // MARK: 9

    /// The same directory seen through two mounts: the cache key includes
    /// the mount, so a path cached through one never shows through the other.
    func bindMount() {
        let s = PathTruthScenario.bindMount
        let src = ledger.directory(s, watched, bytes("src"))
        let d = ledger.directory(s, src, bytes("d"))
        ledger.create(s, d, bytes("f"))
        ledger.mkdir(s, watched, bytes("bind"))
        let bindPath = String(decoding: path("bind"), as: UTF8.self)
        guard mount(String(decoding: src.path, as: UTF8.self), bindPath, nil, UInt(MS_BIND), nil) == 0 else {
            XCTFail("bind mount: \(String(cString: strerror(errno)))")
            return
        }
        mounts.append(bindPath)
        for _ in 0..<3 { ledger.open(s, path: path("src", "d", "f")) }
        ledger.settle(s)
        ledger.open(s, path: path("src", "d", "f"))

        ledger.open(s, path: path("bind", "d", "f"))
        let bindRoot = ledger.openDirectory(s, watched, bytes("bind"))
        let bindD = ledger.openDirectory(s, bindRoot, bytes("d"))
        ledger.open(s, bindD, bytes("f"))
        ledger.mkdir(s, bindD, bytes("new"))
        ledger.open(s, path: path("src", "d", "f"))
        ledger.open(s, path: path("src", "d", "new"))
        ledger.settle(s)
        ledger.open(s, path: path("bind", "d", "f"))
        ledger.open(s, d, bytes("f"))
        ledger.open(s, bindD, bytes("f"))
        ledger.settle(s)

        for place in [bindRoot, bindD, d, src] { close(place.fd) }
        XCTAssertEqual(umount2(bindPath, 0), 0, "umount \(bindPath): \(String(cString: strerror(errno)))")
        mounts.removeAll { $0 == bindPath }
        ledger.open(s, path: path("src", "d", "f"))
        ledger.open(s, path: path("bind"))
        ledger.settle(s)
    }

    // MARK: 10

    /// A tmpfs used, unmounted, and a new one mounted (elsewhere, then at the
    /// same place): inode numbers restart, the kernel may reuse the freed
    /// mount's memory; the new paths must be exact.
    func tmpfsRemount() {
        let s = PathTruthScenario.tmpfsRemount
        var made: Set<String> = []
        for name in ["t1", "t2", "t1"] {
            if made.insert(name).inserted { ledger.mkdir(s, watched, bytes(name)) }
            let mountPath = String(decoding: path(name), as: UTF8.self)
            guard mount("tmpfs", mountPath, "tmpfs", 0, "size=1m,mode=755") == 0 else {
                XCTFail("mount tmpfs at \(mountPath): \(String(cString: strerror(errno)))")
                return
            }
            mounts.append(mountPath)
            let top = ledger.openDirectory(s, watched, bytes(name))
            let d = ledger.directory(s, top, bytes("d"))
            ledger.create(s, d, bytes("f"))
            for _ in 0..<2 { ledger.open(s, d, bytes("f")) }
            ledger.open(s, path: path(name, "d", "f"))
            ledger.settle(s)
            ledger.open(s, path: path(name, "d", "f"))
            ledger.open(s, d, bytes("f"))
            ledger.settle(s)
            close(d.fd)
            close(top.fd)
            XCTAssertEqual(umount2(mountPath, 0), 0, "umount \(mountPath): \(String(cString: strerror(errno)))")
            mounts.removeAll { $0 == mountPath }
        }
    }

    // MARK: 14

    /// Each disk file system fsprobe's users run, loop-mounted from a fresh
    /// image below W (tmpfs is scenario 10): a tree whose directories get
    /// cached, a rename of a cached ancestor, a hard link, a file renamed,
    /// a directory removed. Inode numbers, generations and d_seq behave
    /// per file system; the paths must not.
    func fileSystems() throws {
        let s = PathTruthScenario.fileSystems
        for type in LoopImage.types {
            let name = "fs-\(type.name)"
            ledger.mkdir(s, watched, bytes(name))
            let mountPath = String(decoding: path(name), as: UTF8.self)
            let image = try LoopImage(type, in: String(decoding: outside, as: UTF8.self))
            defer { image.remove() }
            try image.mount(at: mountPath)
            mounts.append(mountPath)
            let top = ledger.openDirectory(s, watched, bytes(name))
            let a = ledger.directory(s, top, bytes("a"))
            let b = ledger.directory(s, a, bytes("b"))
            ledger.create(s, b, bytes("f"))
            for _ in 0..<3 { ledger.open(s, path: path(name, "a", "b", "f")) }
            ledger.settle(s)
            ledger.open(s, path: path(name, "a", "b", "f"))
            ledger.rename(s, top, bytes("a"), top, bytes("a2"))
            let moved = b.renamed(to: path(name, "a2", "b"))
            ledger.open(s, path: path(name, "a2", "b", "f"))
            ledger.open(s, moved, bytes("f"))
            ledger.link(s, moved, bytes("f"), top, bytes("g"))
            ledger.open(s, top, bytes("g"))
            ledger.rename(s, moved, bytes("f"), top, bytes("h"))
            ledger.unlink(s, top, bytes("h"))
            ledger.unlink(s, top, bytes("g"))
            ledger.settle(s)
            ledger.rmdir(s, a.renamed(to: path(name, "a2")), bytes("b"))
            ledger.mkdir(s, a.renamed(to: path(name, "a2")), bytes("b"))
            ledger.open(s, path: path(name, "a2", "b"))
            ledger.settle(s)
            for place in [b, a, top] { close(place.fd) }
            try image.unmount(mountPath)
            mounts.removeAll { $0 == mountPath }
        }
    }

    // MARK: 15

    /// Paths through an overlay mount whose layers lie outside W: the walk
    /// sees the overlay's dentries whichever layer holds the object, before
    /// and after copy-up; a directory only the upper layer has is renamed
    /// once cached (a lower one cannot be: EXDEV).
    func overlay() throws {
        let s = PathTruthScenario.overlay
        let layers = String(decoding: outside, as: UTF8.self) + "/overlay"
        for directory in ["lower/d", "upper", "work"] {
            try FileManager.default.createDirectory(atPath: "\(layers)/\(directory)", withIntermediateDirectories: true)
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(layers)/lower/d/f", contents: nil))
        ledger.mkdir(s, watched, bytes("ovl"))
        let mountPath = String(decoding: path("ovl"), as: UTF8.self)
        let options = "lowerdir=\(layers)/lower,upperdir=\(layers)/upper,workdir=\(layers)/work"
        guard mount("overlay", mountPath, "overlay", 0, options) == 0 else {
            XCTFail("mount overlay at \(mountPath): \(String(cString: strerror(errno)))")
            return
        }
        mounts.append(mountPath)
        let top = ledger.openDirectory(s, watched, bytes("ovl"))
        let d = ledger.openDirectory(s, top, bytes("d"))
        for _ in 0..<3 { ledger.open(s, path: path("ovl", "d", "f")) }
        ledger.settle(s)
        // Writing copies the file (and d) up to the upper layer.
        let fd = ledger.openForWriting(s, d, bytes("f"))
        ledger.write(s, fd: fd, truth: path("ovl", "d", "f"))
        close(fd)
        ledger.open(s, path: path("ovl", "d", "f"))
        ledger.create(s, d, bytes("new"))
        ledger.rename(s, d, bytes("new"), top, bytes("moved"))
        let u = ledger.directory(s, top, bytes("u"))
        ledger.create(s, u, bytes("g"))
        for _ in 0..<2 { ledger.open(s, path: path("ovl", "u", "g")) }
        ledger.settle(s)
        ledger.rename(s, top, bytes("u"), top, bytes("u2"))
        let renamed = u.renamed(to: path("ovl", "u2"))
        ledger.open(s, path: path("ovl", "u2", "g"))
        ledger.link(s, renamed, bytes("g"), top, bytes("g-link"))
        ledger.unlink(s, top, bytes("g-link"))
        ledger.unlink(s, top, bytes("moved"))
        ledger.settle(s)
        for place in [u, d, top] { close(place.fd) }
        XCTAssertEqual(umount2(mountPath, 0), 0, "umount \(mountPath): \(String(cString: strerror(errno)))")
        mounts.removeAll { $0 == mountPath }
    }

    /// A tmpfs lazily unmounted while a directory in it is open: the tree
    /// hangs on no namespace, so a path through it can only be relative to
    /// its root and must say so. Its root is added to the watch, or the
    /// kernel would rightly filter out what no longer lies below W.
    func lazyUnmount() throws {
        let s = PathTruthScenario.lazyUnmount
        ledger.mkdir(s, watched, bytes("t3"))
        let mountPath = String(decoding: path("t3"), as: UTF8.self)
        guard mount("tmpfs", mountPath, "tmpfs", 0, "size=1m,mode=755") == 0 else {
            XCTFail("mount tmpfs at \(mountPath): \(String(cString: strerror(errno)))")
            return
        }
        mounts.append(mountPath)
        try ledger.recorder.source.add(path: mountPath)
        let top = ledger.openDirectory(s, watched, bytes("t3"))
        let d = ledger.directory(s, top, bytes("d"))
        ledger.create(s, d, bytes("g"))
        ledger.open(s, d, bytes("g"))
        ledger.settle(s)
        ledger.open(s, d, bytes("g"))
        close(top.fd)

        XCTAssertEqual(umount2(mountPath, Int32(MNT_DETACH)), 0, "lazy umount: \(String(cString: strerror(errno)))")
        mounts.removeAll { $0 == mountPath }
        ledger.create(s, d, bytes("h"), allowed: .detached, required: .detached)
        ledger.open(s, d, bytes("g"), allowed: .detached, required: .detached)
        ledger.mkdir(s, d, bytes("sub"), allowed: .detached, required: .detached)
        ledger.settle(s)
        ledger.open(s, d, bytes("h"), allowed: .detached, required: .detached)
        ledger.settle(s)
        close(d.fd)
    }

    // MARK: 11

    func manyDirectories() {
        let s = PathTruthScenario.manyDirectories
        let many = ledger.directory(s, watched, bytes("many"))
        for index in 0..<Self.manyDirectoryCount {
            ledger.mkdir(s, many, bytes("d\(index)"), allowed: .unresolved)
            ledger.create(s, many, bytes("d\(index)/f"), allowed: .unresolved)
        }
        ledger.settle(s)
        for index in 0..<Self.manyDirectoryCount {
            ledger.open(s, many, bytes("d\(index)/f"), allowed: .unresolved)
        }
        ledger.settle(s)
        close(many.fd)
    }

    // MARK: 12 (follow)

    /// With follow, a file moved out of W to an unwatched U stays watched:
    /// its later events carry its new path. The settle after the rename
    /// makes sure user space has seen it (and added the watch) first.
    func followMovedOut() {
        let s = PathTruthScenario.followMovedOut
        let fm = ledger.directory(s, watched, bytes("fm"))
        ledger.create(s, fm, bytes("moving"))
        let fd = withCString(outside) { open($0, O_DIRECTORY | O_RDONLY | O_CLOEXEC) }  // unwatched: no event
        XCTAssertGreaterThanOrEqual(fd, 0)
        let u = Place(fd: fd, path: outside)
        ledger.rename(s, fm, bytes("moving"), u, bytes("moved"))
        ledger.settle(s)
        ledger.open(s, u, bytes("moved"))
        let writer = ledger.openForWriting(s, u, bytes("moved"))
        ledger.write(s, fd: writer, truth: joined(outside, bytes("moved")))
        close(writer)
        ledger.settle(s)
        close(fm.fd)
        close(u.fd)
    }
}

/// The other thread of scenario 2: swaps W/s1 and W/s2 through W/swap,
/// recording each rename's true paths for the ledger.
final class StreamRenamer: @unchecked Sendable {
    private let root: Place
    private let rounds: Int
    private let lock = NSLock()
    private var done = false
    private let finished = DispatchSemaphore(value: 0)
    private var renames: [[PathExpectation]] = []
    private(set) var failures: [String] = []

    init(root: Place, rounds: Int) {
        self.root = root
        self.rounds = rounds
    }

    var isDone: Bool {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    func start() {
        Thread { [self] in
            let steps = [("s1", "swap"), ("s2", "s1"), ("swap", "s2")]
            var made: [[PathExpectation]] = []
            var failed: [String] = []
            for _ in 0..<rounds {
                for (from, to) in steps {
                    if PathTruthLedger.performRename(root, bytes(from), root, bytes(to)) == 0 {
                        made.append(PathTruthLedger.renameExpectations(root, bytes(from), root, bytes(to)))
                    } else {
                        failed.append("\(from) -> \(to): \(String(cString: strerror(errno)))")
                    }
                }
            }
            lock.lock()
            renames = made
            failures = failed
            done = true
            lock.unlock()
            finished.signal()
        }.start()
    }

    /// Waits for the thread; the renames it made, in order.
    func join() -> [[PathExpectation]] {
        finished.wait()
        lock.lock()
        defer { lock.unlock() }
        return renames
    }
}

/// A file-system image made fresh with its mkfs, loop-mounted with
/// mount(8) (busybox's in the test VMs): the kernel tests' way to run on
/// file systems the machine's own disks do not use.
struct LoopImage {
    struct FileSystem {
        var name: String
        /// Smallest sizes these mkfs versions accept, sparse files anyway.
        var size: Int
        var mkfs: [String]
    }

    static let types = [
        FileSystem(name: "ext4", size: 16 << 20, mkfs: ["/usr/sbin/mke2fs", "-q", "-F", "-t", "ext4"]),
        FileSystem(name: "xfs", size: 300 << 20, mkfs: ["/usr/sbin/mkfs.xfs", "-q", "-f", "-K"]),
        FileSystem(name: "btrfs", size: 120 << 20, mkfs: ["/usr/sbin/mkfs.btrfs", "-q", "-f"]),
    ]

    let type: FileSystem
    let path: String

    init(_ type: FileSystem, in directory: String) throws {
        self.type = type
        path = "\(directory)/\(type.name).img"
        let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0, ftruncate(fd, off_t(type.size)) == 0 else {
            throw LoopImageError("create \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
        try Self.run(type.mkfs + [path])
    }

    func mount(at directory: String) throws {
        try Self.run(["/bin/mount", "-t", type.name, "-o", "loop", path, directory])
    }

    func unmount(_ directory: String) throws {
        // umount(2) frees the loop device too (mount -o loop sets autoclear).
        guard umount2(directory, 0) == 0 else {
            throw LoopImageError("umount \(directory): \(String(cString: strerror(errno)))")
        }
    }

    func remove() { unlink(path) }

    private static func run(_ command: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LoopImageError("\(command.joined(separator: " ")) exited with \(process.terminationStatus): \(text)")
        }
    }
}

struct LoopImageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
