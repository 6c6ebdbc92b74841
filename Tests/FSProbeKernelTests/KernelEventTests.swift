import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

/// A backend (TestBackend) against the running kernel: real BPF programs,
/// real file operations, events asserted one by one.
final class KernelEventTests: InsideOutsideTestCase {
    func testOpenReportsAbsolutePathAndProcessContext() throws {
        FileManager.default.createFile(atPath: scratch.url("file"), contents: Data("x".utf8))
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open])
        defer { try? recorder.stop() }

        let fd = touch(scratch.url("file"), flags: O_RDWR)
        let tid = currentThreadID()
        let event = try XCTUnwrap(recorder.waitFor("open of file") { $0.type == .open && $0.source.string == self.scratch.url("file") })
        XCTAssertEqual(event.pid, UInt32(getpid()))
        XCTAssertEqual(event.tid, tid)
        XCTAssertEqual(event.uid, getuid())
        XCTAssertEqual(event.gid, getgid())
        // The syscall returns the fd; the VFS's vfs_open() returns 0.
        XCTAssertEqual(event.retval, TestBackend.isVFS ? 0 : Int64(fd))
        XCTAssertEqual(event.flags & UInt32(O_ACCMODE), UInt32(O_RDWR))
        var info = stat()
        XCTAssertEqual(stat(scratch.url("file"), &info), 0)
        XCTAssertEqual(event.source.inode, UInt64(info.st_ino))
        XCTAssertNotEqual(event.source.mountID, 0)
        XCTAssertTrue(event.source.resolution.isEmpty, "an fd-based path is fully resolved in the kernel")
        XCTAssertEqual(event.comm, ProcessName(Self.ownComm()))
        XCTAssertEqual(event.backend, TestBackend.kind)

        // The uid and gid are the real ones, and the name the thread's own:
        // a child with other real ids (root stays its effective user, so the
        // file opens) and another name.
        let path = strdup(scratch.url("file"))!, name = strdup("fsp-real-ids")!
        defer { free(path); free(name) }
        let child = fork()
        if child == 0 {
            let comm = open("/proc/thread-self/comm", O_WRONLY)
            guard comm >= 0, write(comm, name, strlen(name)) == strlen(name) else { _exit(20) }
            guard setregid(4244, 0) == 0, setreuid(4245, 0) == 0 else { _exit(21) }
            _exit(open(path, O_RDONLY) >= 0 ? 0 : 22)
        }
        var status: Int32 = 0
        XCTAssertEqual(waitpid(child, &status, 0), child)
        XCTAssertEqual(status, 0, "child's failed step: \(status >> 8)")
        let other = try XCTUnwrap(recorder.waitFor("the child's open") { $0.type == .open && $0.pid == UInt32(child) })
        XCTAssertEqual([other.uid, other.gid], [4245, 4244])
        XCTAssertEqual(other.comm, ProcessName("fsp-real-ids"))
    }

    /// An open reports the flags its caller passed, those the kernel clears
    /// once the file is open (O_CREAT, O_EXCL, O_TRUNC) included; and the
    /// thread's next open, which has none of them, does not inherit them.
    func testOpenFlagsAreTheCallersEvenThoseTheKernelClears() throws {
        FileManager.default.createFile(atPath: scratch.url("existing"), contents: Data("x".utf8))
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open])
        defer { try? recorder.stop() }

        XCTAssertGreaterThanOrEqual(touch(scratch.url("new"), flags: O_WRONLY | O_CREAT | O_EXCL), 0)
        XCTAssertGreaterThanOrEqual(touch(scratch.url("existing"), flags: O_WRONLY | O_TRUNC), 0)
        XCTAssertGreaterThanOrEqual(touch(scratch.url("existing"), flags: O_RDONLY), 0)
        XCTAssertGreaterThanOrEqual(touch(scratch.url("new"), flags: O_RDWR | O_CREAT), 0)
        let seen = recorder.events(until: "the last open") {
            $0.type == .open && $0.source.string == self.scratch.url("new") && $0.flags & UInt32(O_ACCMODE) == UInt32(O_RDWR)
        }
        let interesting = UInt32(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC)
        XCTAssertEqual(seen.map { "\($0.source.string) \(String($0.flags & interesting, radix: 8))" }, [
            "\(scratch.url("new")) \(String(UInt32(O_WRONLY | O_CREAT | O_EXCL), radix: 8))",
            "\(scratch.url("existing")) \(String(UInt32(O_WRONLY | O_TRUNC), radix: 8))",
            "\(scratch.url("existing")) \(String(UInt32(O_RDONLY), radix: 8))",
            "\(scratch.url("new")) \(String(UInt32(O_RDWR | O_CREAT), radix: 8))",
        ])
    }

    func testEventsOutsideTheWatchedTreeAreFilteredInTheKernel() throws {
        FileManager.default.createFile(atPath: outside.url("elsewhere"), contents: nil)
        FileManager.default.createFile(atPath: scratch.url("marker"), contents: nil)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open, .mkdir])
        defer { try? recorder.stop() }

        touch(outside.url("elsewhere"))
        XCTAssertEqual(mkdir(outside.url("dir"), 0o755), 0)
        touch(scratch.url("marker"))
        let seen = recorder.events(until: "marker open") { $0.source.string == self.scratch.url("marker") }
        XCTAssertFalse(seen.isEmpty)
        XCTAssertTrue(seen.allSatisfy { $0.source.string.hasPrefix(self.scratch.path) }, "\(seen.map(EventRecorder.describe))")
        XCTAssertGreaterThan(recorder.source.kernelCounters.kernel.filtered, 0)
    }

    func testEveryEventTypeWithResults() throws {
        let recorder = try EventRecorder(paths: [scratch.path], events: EventType.allCases)
        defer { try? recorder.stop() }
        let d = scratch.path

        XCTAssertEqual(mkdir("\(d)/sub", 0o750), 0)
        let fd = open("\(d)/sub/new", O_CREAT | O_WRONLY, 0o640)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(write(fd, "hello", 5), 5)
        XCTAssertEqual(ftruncate(fd, 2), 0)
        close(fd)
        XCTAssertEqual(chmod("\(d)/sub/new", 0o600), 0)
        XCTAssertEqual(truncate("\(d)/sub/new", 1), 0)
        XCTAssertEqual(rename("\(d)/sub/new", "\(d)/renamed"), 0)
        XCTAssertEqual(link("\(d)/renamed", "\(d)/hardlink"), 0)
        XCTAssertEqual(unlink("\(d)/hardlink"), 0)
        XCTAssertEqual(rmdir("\(d)/sub"), 0)
        XCTAssertEqual(mkdir("\(d)/renamed", 0o755), -1)  // EEXIST
        XCTAssertEqual(open("\(d)/missing", O_RDONLY), -1)  // ENOENT
        XCTAssertEqual(unlink("\(d)/renamed"), 0)

        let events = recorder.events(until: "final unlink") { $0.type == .unlink && $0.source.string == "\(d)/renamed" }
        let summary = events.map { e in
            "\(e.type.name) \(e.source.string)\(e.target.map { " -> " + $0.string } ?? "") \(e.retval < 0 ? String(e.retval) : "ok")"
        }
        var expected = [
            "mkdir \(d)/sub ok",
            "open \(d)/sub/new ok",
            "modify \(d)/sub/new ok",
            "setattr \(d)/sub/new ok",
            "setattr \(d)/sub/new ok",
            "setattr \(d)/sub/new ok",
            "rename \(d)/sub/new -> \(d)/renamed ok",
            "link \(d)/renamed -> \(d)/hardlink ok",
            "unlink \(d)/hardlink ok",
            "rmdir \(d)/sub ok",
            "mkdir \(d)/renamed -\(EEXIST)",
            "open \(d)/missing -\(ENOENT)",
            "unlink \(d)/renamed ok",
        ]
        if TestBackend.isVFS {
            // Both fail in the path lookup, before the VFS operation a VFS hook sees.
            expected.removeAll { $0.hasSuffix("-\(EEXIST)") || $0.hasSuffix("-\(ENOENT)") }
        }
        XCTAssertEqual(summary, expected)
        let mkdirEvent = try XCTUnwrap(events.first)
        XCTAssertEqual(mkdirEvent.mode & 0o7777, 0o750)
        if TestBackend.isVFS {
            XCTAssertTrue(mkdirEvent.source.resolution.isEmpty, "a VFS hook resolves the whole path in the kernel")
            XCTAssertNotEqual(mkdirEvent.source.inode, 0, "mkdir reports the new directory's inode")
        } else {
            XCTAssertTrue(mkdirEvent.source.resolution.contains(.callerSuffix), "mkdir's name came from the caller")
        }
        let create = events[1]
        XCTAssertNotEqual(create.flags & UInt32(O_CREAT), 0)
        XCTAssertTrue(events.allSatisfy { $0.pid == UInt32(getpid()) })
    }

    func testSymlinkedDirectoryAndDotDotResolveInTheKernel() throws {
        try FileManager.default.createDirectory(atPath: scratch.url("real/inner"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: scratch.url("real/inner/first"), contents: nil)
        FileManager.default.createFile(atPath: scratch.url("real/inner/second"), contents: nil)
        XCTAssertEqual(symlink(scratch.url("real"), outside.url("link")), 0)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open])
        defer { try? recorder.stop() }

        touch(outside.url("link/inner/first"))
        touch(scratch.url("real/inner/../inner/./second"))
        let events = recorder.events(until: "open of second") { $0.source.string.hasSuffix("/second") }
        let opens = events.filter { $0.type == .open }.map(\.source.string)
        XCTAssertEqual(opens, [scratch.url("real/inner/first"), scratch.url("real/inner/second")])
    }

    func testDirectoryCreatedAfterStartIsCovered() throws {
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open])
        defer { try? recorder.stop() }
        try FileManager.default.createDirectory(atPath: scratch.url("a/b/c"), withIntermediateDirectories: true)
        touch(scratch.url("a/b/c/late"), flags: O_CREAT | O_WRONLY)
        recorder.waitFor("open in a new subdirectory") { $0.type == .open && $0.source.string == self.scratch.url("a/b/c/late") }
    }

    func testNonRecursiveWatchReportsOnlyImmediateChildren() throws {
        try FileManager.default.createDirectory(atPath: scratch.url("sub"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: scratch.url("sub/deep"), contents: nil)
        FileManager.default.createFile(atPath: scratch.url("child"), contents: nil)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open, .mkdir]) { $0.recursive = false }
        defer { try? recorder.stop() }

        touch(scratch.url("sub/deep"))
        XCTAssertEqual(mkdir(scratch.url("sub/newdir"), 0o755), 0)
        touch(scratch.url("child"))
        let events = recorder.events(until: "open of the immediate child") { $0.source.string == self.scratch.url("child") }
        XCTAssertEqual(events.map { "\($0.type.name) \($0.source.string)" }, ["open \(scratch.url("child"))"])
    }

    func testWatchedFileIsReportedAndItsSiblingsAreNot() throws {
        FileManager.default.createFile(atPath: scratch.url("watched"), contents: nil)
        FileManager.default.createFile(atPath: scratch.url("sibling"), contents: nil)
        let recorder = try EventRecorder(paths: [scratch.url("watched")], events: [.open])
        defer { try? recorder.stop() }
        touch(scratch.url("sibling"))
        touch(scratch.url("watched"))
        let events = recorder.events(until: "open of the watched file") { $0.source.string == self.scratch.url("watched") }
        XCTAssertEqual(events.count, 1, "\(events.map(EventRecorder.describe))")
    }

    func testPathsFilteringOffReportsTheWholeFileSystem() throws {
        FileManager.default.createFile(atPath: outside.url("anywhere"), contents: nil)
        let recorder = try EventRecorder(paths: [], events: [.open]) { $0.pathsFiltering = false }
        defer { try? recorder.stop() }
        touch(outside.url("anywhere"))
        recorder.waitFor("open outside any watch") { $0.type == .open && $0.source.string == self.outside.url("anywhere") }
    }

    func testLongNamesAndDeepTreesAreWholeOrMarkedTruncated() throws {
        let longName = String(repeating: "n", count: 255)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open])
        defer { try? recorder.stop() }

        touch(scratch.url(longName), flags: O_CREAT | O_WRONLY)
        recorder.waitFor("255-byte name") { $0.type == .open && $0.source.string == self.scratch.url(longName) }

        // 120 levels, created relative to the previous level (paths longer
        // than PATH_MAX are fine for the kernel).
        let deep = try makeDeepTree(levels: 120, componentLength: 10, under: scratch.path)
        let event = try XCTUnwrap(recorder.waitFor("open at depth 120") { $0.type == .open && $0.source.string.hasSuffix("/leaf") })
        XCTAssertEqual(event.source.string, deep)
        XCTAssertFalse(event.source.resolution.contains(.truncated))
    }

    func testTooDeepPathsAreMarkedTruncatedNotCut() throws {
        // 800 events of up to 8 KiB each, unfiltered: a ring buffer big
        // enough that a slow reader (an emulated CPU) loses none of them.
        let recorder = try EventRecorder(paths: [], events: [.open]) {
            $0.pathsFiltering = false
            $0.ringBufferPages = 4096
        }
        defer { try? recorder.stop() }
        let deep = try makeDeepTree(levels: 400, componentLength: 20, under: scratch.path)
        let event = try XCTUnwrap(recorder.waitFor("open at depth 400") {
            $0.type == .open && $0.pid == UInt32(getpid()) && $0.source.string.hasSuffix("/leaf")
        })
        if event.source.string != deep {
            XCTAssertTrue(event.source.resolution.contains(.truncated), "a cut path must be marked truncated")
            XCTAssertTrue(deep.hasSuffix(event.source.string), "a truncated path is a true suffix")
        }
    }

    /// Builds `levels` nested directories and a file `leaf` at the bottom,
    /// using directory fds so no single path exceeds PATH_MAX. Returns the
    /// leaf's absolute path.
    func makeDeepTree(levels: Int, componentLength: Int, under root: String) throws -> String {
        var fd = open(root, O_DIRECTORY | O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var path = root
        for level in 0..<levels {
            let name = String(format: "d%0\(componentLength - 1)d", level)
            XCTAssertEqual(mkdirat(fd, name, 0o755), 0)
            let next = openat(fd, name, O_DIRECTORY | O_RDONLY)
            close(fd)
            fd = next
            path += "/" + name
        }
        let file = openat(fd, "leaf", O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(file, 0)
        close(file)
        close(fd)
        return path + "/leaf"
    }

    static func ownComm() -> String {
        (try? String(contentsOfFile: "/proc/self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? ""
    }
}
