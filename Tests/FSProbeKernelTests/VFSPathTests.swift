import Foundation
import FSProbeCore
import FSProbeSources
import FSProbeTestSupport
import XCTest

/// What the issue of VFS-level hooks promises, asserted on every backend:
/// absolute paths across directories and mounts, io_uring operations
/// (VFS backends only; the tracepoint backend is shown not to see them) and
/// overlayfs without duplicates.
final class VFSPathTests: XCTestCase {
    var scratch: Scratch!
    var outside: Scratch!
    var mounts: [String] = []

    override func setUpWithError() throws {
        try requireRoot()
        scratch = try Scratch(name)
        outside = try Scratch(name + "outside")
    }

    override func tearDown() {
        for mount in mounts.reversed() { umount2(mount, Int32(MNT_DETACH)) }
        scratch?.remove()
        outside?.remove()
    }

    func testRenameAcrossDirectoriesReportsTheOldAndTheNewAbsolutePath() throws {
        try FileManager.default.createDirectory(atPath: scratch.url("from/deep"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.url("to"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: scratch.url("from/deep/file"), contents: nil))
        var info = stat()
        XCTAssertEqual(stat(scratch.url("from/deep/file"), &info), 0)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.rename])
        defer { try? recorder.stop() }

        // Relative names from another working directory: the event must not echo them.
        let dirfd = open(scratch.url("from"), O_DIRECTORY | O_RDONLY)
        defer { close(dirfd) }
        XCTAssertEqual(renameat(dirfd, "deep/file", AT_FDCWD, scratch.url("to/renamed")), 0)
        let event = try XCTUnwrap(recorder.waitFor("rename") { $0.type == .rename })
        XCTAssertEqual(event.source.string, scratch.url("from/deep/file"))
        XCTAssertEqual(event.target?.string, scratch.url("to/renamed"))
        XCTAssertEqual(event.retval, 0)
        if TestBackend.isVFS {
            XCTAssertEqual(event.source.inode, UInt64(info.st_ino))
            XCTAssertEqual(event.target?.inode, UInt64(info.st_ino), "the new path names the same inode")
            XCTAssertTrue(event.source.resolution.isEmpty)
        }
    }

    func testUnlinkReportsThePathTheFileHad() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: scratch.url("doomed"), contents: Data("x".utf8)))
        var info = stat()
        XCTAssertEqual(stat(scratch.url("doomed"), &info), 0)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.unlink])
        defer { try? recorder.stop() }

        XCTAssertEqual(unlink(scratch.url("doomed")), 0)
        let event = try XCTUnwrap(recorder.waitFor("unlink") { $0.type == .unlink })
        XCTAssertEqual(event.source.string, scratch.url("doomed"))
        XCTAssertEqual(event.retval, 0)
        if TestBackend.isVFS {
            XCTAssertEqual(event.source.inode, UInt64(info.st_ino), "the inode the name pointed to")
        }
    }

    func testMkdirAndRmdirInABindMountReportThePathThroughTheMount() throws {
        try FileManager.default.createDirectory(atPath: outside.url("real"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.url("bind"), withIntermediateDirectories: true)
        XCTAssertEqual(mount(outside.url("real"), scratch.url("bind"), nil, UInt(MS_BIND), nil), 0, String(cString: strerror(errno)))
        mounts.append(scratch.url("bind"))
        let recorder = try EventRecorder(paths: [scratch.path], events: [.mkdir, .rmdir])
        defer { try? recorder.stop() }

        XCTAssertEqual(mkdir(scratch.url("bind/made"), 0o755), 0)
        XCTAssertEqual(rmdir(scratch.url("bind/made")), 0)
        let events = recorder.events(until: "rmdir") { $0.type == .rmdir }
        XCTAssertEqual(events.map { "\($0.type.name) \($0.source.string) \($0.retval)" },
                       ["mkdir \(scratch.url("bind/made")) 0", "rmdir \(scratch.url("bind/made")) 0"])
        // The same directory seen through its other path is outside the watch.
        XCTAssertEqual(mkdir(outside.url("real/elsewhere"), 0o755), 0)
        XCTAssertEqual(mkdir(scratch.url("marker"), 0o755), 0)
        let later = recorder.events(until: "marker") { $0.source.string == self.scratch.url("marker") }
        XCTAssertFalse(later.contains { $0.source.string.hasSuffix("/elsewhere") }, "\(later.map(EventRecorder.describe))")
    }

    func testWritesAndRenamesThroughIoUring() throws {
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open, .modify, .rename, .mkdir])
        defer { try? recorder.stop() }

        XCTAssertEqual(try runUringTool(["write", scratch.url("ring"), "data"]), 0)
        let renameStatus = try runUringTool(["rename", scratch.url("ring"), scratch.url("ring-renamed")])
        if renameStatus == 2 {
            // IORING_OP_RENAMEAT arrived in 5.11: only an older kernel may refuse it.
            XCTAssertTrue(KernelVersion.running < KernelVersion(5, 11), "io_uring rename refused on \(KernelVersion.running)")
        } else {
            XCTAssertEqual(renameStatus, 0)
        }
        XCTAssertEqual(mkdir(scratch.url("marker"), 0o755), 0)
        let events = recorder.events(until: "marker") { $0.source.string == self.scratch.url("marker") }
        let seen = events.map { "\($0.type.name) \($0.source.string)\($0.target.map { " -> " + $0.string } ?? "")" }
        if TestBackend.isVFS {
            var expected = ["open \(scratch.url("ring"))", "modify \(scratch.url("ring"))"]
            if renameStatus == 0 { expected.append("rename \(scratch.url("ring")) -> \(scratch.url("ring-renamed"))") }
            expected.append("mkdir \(scratch.url("marker"))")
            XCTAssertEqual(seen, expected)
        } else {
            // Documented limit: io_uring bypasses the syscall tracepoints.
            XCTAssertEqual(seen, ["mkdir \(scratch.url("marker"))"])
        }
        // Read last: this open is the test's own, not the ring's.
        XCTAssertEqual(try String(contentsOfFile: renameStatus == 0 ? scratch.url("ring-renamed") : scratch.url("ring"), encoding: .utf8), "data")
    }

    func testAWriteInsideOverlayfsIsReportedOnce() throws {
        for dir in ["lower", "upper", "work"] {
            try FileManager.default.createDirectory(atPath: outside.url(dir), withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(atPath: scratch.url("merged"), withIntermediateDirectories: true)
        let options = "lowerdir=\(outside.url("lower")),upperdir=\(outside.url("upper")),workdir=\(outside.url("work"))"
        XCTAssertEqual(mount("overlay", scratch.url("merged"), "overlay", 0, options), 0,
                       "mount overlay: \(String(cString: strerror(errno)))")
        mounts.append(scratch.url("merged"))
        // The upper layer is watched too: the write reaching the real file there must not show up as a second event.
        let recorder = try EventRecorder(paths: [scratch.path, outside.url("upper")], events: [.open, .modify, .mkdir])
        defer { try? recorder.stop() }

        let fd = open(scratch.url("merged/file"), O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(write(fd, "once", 4), 4)
        close(fd)
        XCTAssertEqual(mkdir(scratch.url("marker"), 0o755), 0)
        let events = recorder.events(until: "marker") { $0.source.string == self.scratch.url("marker") }
        XCTAssertEqual(events.map { "\($0.type.name) \($0.source.string)" }, [
            "open \(scratch.url("merged/file"))",
            "modify \(scratch.url("merged/file"))",
            "mkdir \(scratch.url("marker"))",
        ])
    }

    /// An extended attribute set through overlayfs is reported once, on the
    /// merged path (the upper layer, watched too, gets it again); the
    /// attributes overlayfs copies up before a chmod or an open for writing
    /// are the kernel's doing, not changes to report.
    func testAnXattrChangeInsideOverlayfsIsReportedOnce() throws {
        for dir in ["lower", "upper", "work"] {
            try FileManager.default.createDirectory(atPath: outside.url(dir), withIntermediateDirectories: true)
        }
        let calls = XattrCalls()
        for name in ["a", "b", "c"] { XCTAssertGreaterThanOrEqual(touch(outside.url("lower/\(name)"), flags: O_CREAT | O_WRONLY), 0) }
        for name in ["b", "c"] {
            XCTAssertEqual(calls.set(outside.url("lower/\(name)"), "trusted.kept", [1], 0), 0, String(cString: strerror(errno)))
        }
        try FileManager.default.createDirectory(atPath: scratch.url("merged"), withIntermediateDirectories: true)
        let options = "lowerdir=\(outside.url("lower")),upperdir=\(outside.url("upper")),workdir=\(outside.url("work"))"
        XCTAssertEqual(mount("overlay", scratch.url("merged"), "overlay", 0, options), 0,
                       "mount overlay: \(String(cString: strerror(errno)))")
        mounts.append(scratch.url("merged"))
        let recorder = try EventRecorder(paths: [scratch.path, outside.url("upper")], events: [.setattr, .mkdir, .open])
        defer { try? recorder.stop() }

        XCTAssertEqual(calls.set(scratch.url("merged/a"), "trusted.fsprobe", [2], 0), 0, String(cString: strerror(errno)))
        XCTAssertEqual(chmod(scratch.url("merged/b"), 0o600), 0)
        XCTAssertGreaterThanOrEqual(touch(scratch.url("merged/c"), flags: O_WRONLY), 0)
        XCTAssertEqual(mkdir(scratch.url("marker"), 0o755), 0)
        let events = recorder.events(until: "marker") { $0.source.string == self.scratch.url("marker") }
        XCTAssertEqual(events.map { event -> String in
            let name = event.attributes?.extendedAttribute.map { " " + String(decoding: $0.name, as: UTF8.self) } ?? ""
            return "\(event.type.name) \(event.source.string)\(name)"
        }, [
            "setattr \(scratch.url("merged/a")) trusted.fsprobe",
            "setattr \(scratch.url("merged/b"))",
            "open \(scratch.url("merged/c"))",
            "mkdir \(scratch.url("marker"))",
        ])
        XCTAssertEqual(events.first?.retval, 0)
    }

    /// Runs the io_uring helper built with the package; its exit status.
    func runUringTool(_ arguments: [String]) throws -> Int32 {
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: Self.uringTool)
        tool.arguments = arguments
        try tool.run()
        tool.waitUntilExit()
        return tool.terminationStatus
    }

    static var uringTool: String {
        ProcessInfo.processInfo.environment["FSPROBE_URING_BIN"] ?? FSProbeProcess.built("fsprobe-uring")
    }
}

/// The running kernel's version, compared as (major, minor).
struct KernelVersion: Comparable, CustomStringConvertible {
    let major: Int
    let minor: Int

    init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    static var running: KernelVersion {
        let release = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? ""
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return KernelVersion(parts.first ?? 0, parts.dropFirst().first ?? 0)
    }

    static func < (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    var description: String { "\(major).\(minor)" }
}
