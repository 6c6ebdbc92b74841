import FSProbeCore
import CFSProbeBPF
@testable import FSProbeSources
import FSProbeTestSupport
import XCTest

/// The user-space half of path resolution: record layout, fragment reversal,
/// caller-string joining and the user-space watch filter.
final class DecodingTests: XCTestCase {
    func assemble(_ fragments: [String], caller: String? = nil) -> String {
        var fragmentBytes: [UInt8] = []
        for name in fragments { fragmentBytes += Array(name.utf8) + [0] }
        let callerBytes = caller.map { Array($0.utf8) } ?? []
        var out: [UInt8] = []
        var items = PathItems()
        fragmentBytes.withUnsafeBytes { f in
            XCTAssertTrue(items.parse(f))
            callerBytes.withUnsafeBytes { c in
                XCTAssertTrue(PathAssembler.assemble(items.items, fragments: f, caller: caller == nil ? nil : c,
                                                     anchorPath: { _ in nil }, into: &out).resolved)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The executable comes as a third path; while its path stays the same
    /// its bytes are shared from event to event, not allocated again.
    func testExecutableAndProcessContextAreDecoded() throws {
        var builder = KernelRecordBuilder(type: .open, source: ["tmp", "f"])
        builder.executable = ["usr", "bin", "cat"]
        builder.euid = 4243
        builder.cgroupID = 77
        let decoder = KernelRecordDecoder(clock: BootClock(realtimeMinusBoottime: 1_000))
        func decode() throws -> FileEvent { try builder.build().withUnsafeBytes { try decoder.decode($0) } }
        let first = try decode(), second = try decode()
        let exe = try XCTUnwrap(first.process.executable)
        XCTAssertEqual(exe.string, "/usr/bin/cat")
        XCTAssertEqual(exe.inode, builder.inode + 2)
        XCTAssertEqual(first.source.string, "/tmp/f", "the exe's bytes follow the paths' in the data area")
        XCTAssertEqual(first.process.euid, 4243)
        XCTAssertEqual(first.process.cgroupID, 77)
        XCTAssertEqual(first.process.startTime.nanosecondsSinceEpoch, Int64(builder.startTimeBoot) + 1_000)
        XCTAssertNil(first.process.loginUID)
        XCTAssertNil(first.process.sessionID)
        let shared = exe.bytes.withUnsafeBufferPointer { a in
            second.process.executable?.bytes.withUnsafeBufferPointer { $0.baseAddress == a.baseAddress }
        }
        XCTAssertEqual(shared, true)

        builder.executable = ["usr", "bin", "dog"]  // same inode, renamed: its new path, not the shared one
        XCTAssertEqual(try decode().process.executable?.string, "/usr/bin/dog")
        builder.executable = nil  // a kernel thread
        XCTAssertNil(try decode().process.executable)
    }

    /// Within a round the previous record's process is reused only while
    /// every field it came from is the same: another user, start or
    /// executable in the same round gets its own context.
    func testProcessOfTheRoundIsReusedOnlyForTheSameFields() throws {
        var builder = KernelRecordBuilder(type: .open, source: ["tmp", "f"])
        builder.executable = ["usr", "bin", "cat"]
        builder.euid = 1000
        let decoder = KernelRecordDecoder(clock: BootClock(realtimeMinusBoottime: 0))
        func decode() throws -> FileEvent { try builder.build().withUnsafeBytes { try decoder.decode($0) } }
        XCTAssertEqual(try decode().process.euid, 1000)
        builder.euid = 0  // setuid, same executable, same round
        XCTAssertEqual(try decode().process.euid, 0)
        builder.startTimeBoot += 1  // another process running the same executable
        XCTAssertEqual(try decode().process.startTime.nanosecondsSinceEpoch, Int64(builder.startTimeBoot))
        builder.source = ["tmp", "much", "deeper", "f"]  // the executable's bytes move in the record
        XCTAssertEqual(try decode().process.executable?.string, "/usr/bin/cat")
        builder.executable = ["usr", "bin", "cut"]  // same length, same inode, other bytes
        XCTAssertEqual(try decode().process.executable?.string, "/usr/bin/cut")
        decoder.endRound()
        let next = try decode()
        XCTAssertEqual(next.process.executable?.string, "/usr/bin/cut")
        XCTAssertEqual(next.process.euid, 0)
    }

    /// A setattr of an extended attribute: its name follows the paths and
    /// the executable; one that claims bytes past the data is refused.
    func testExtendedAttributeNameIsDecoded() throws {
        var builder = KernelRecordBuilder(type: .setattr, source: ["tmp", "f"])
        builder.flags = UInt32(FSP_SETATTR_XATTR_REMOVE)
        builder.executable = ["usr", "bin", "attr"]
        builder.xattrName = Array("security.a\n".utf8) + [0xfe]
        let decoder = KernelRecordDecoder()
        let event = try builder.build().withUnsafeBytes { try decoder.decode($0) }
        XCTAssertEqual(event.attributes, AttributeChange(extendedAttribute: ExtendedAttributeChange(.remove, name: builder.xattrName!)))
        XCTAssertEqual(event.source.string, "/tmp/f")
        XCTAssertEqual(event.process.executable?.string, "/usr/bin/attr")
        // A repeated name is shared, not allocated again.
        let again = try builder.build().withUnsafeBytes { try decoder.decode($0) }
        let shared = event.attributes?.extendedAttribute?.name.withUnsafeBufferPointer { a in
            again.attributes?.extendedAttribute?.name.withUnsafeBufferPointer { $0.baseAddress == a.baseAddress }
        }
        XCTAssertEqual(shared, true)
        builder.flags = UInt32(FSP_SETATTR_XATTR | FSP_SETATTR_XATTR_CREATE)
        builder.xattrName = []  // no room was left for it
        XCTAssertEqual(try builder.build().withUnsafeBytes { try decoder.decode($0) }.attributes?.extendedAttribute,
                       ExtendedAttributeChange(.set, name: []))
        // A chmod's values, not a name, whatever the offsets say.
        builder.flags = UInt32(FSP_SETATTR_MODE)
        XCTAssertNil(try builder.build().withUnsafeBytes { try decoder.decode($0) }.attributes?.extendedAttribute)

        builder.flags = UInt32(FSP_SETATTR_XATTR)
        builder.xattrName = Array("user.x".utf8)
        var record = builder.build()
        record.removeLast(1)  // the name runs past the data
        let headerSize = MemoryLayout<fsp_event>.size
        record.withUnsafeMutableBytes { raw in
            var header = raw.loadUnaligned(as: fsp_event.self)
            header.data_len -= 1
            raw.storeBytes(of: header, as: fsp_event.self)
        }
        XCTAssertEqual(record.count, headerSize + Int(record.withUnsafeBytes { $0.loadUnaligned(as: fsp_event.self) }.data_len))
        XCTAssertThrowsError(try record.withUnsafeBytes { try decoder.decode($0) }) { error in
            XCTAssertEqual(error as? KernelRecordError, .xattrNameOutOfBounds)
        }
    }

    func testFragmentsAreLeafFirst() {
        XCTAssertEqual(assemble(["passwd", "etc"]), "/etc/passwd")
        XCTAssertEqual(assemble([]), "/")
    }

    func testCallerStringIsJoinedAndNormalised() {
        XCTAssertEqual(assemble(["work", "home"], caller: "a/./b//c"), "/home/work/a/b/c")
        XCTAssertEqual(assemble(["work", "home"], caller: "../x"), "/home/x")
        XCTAssertEqual(assemble(["home"], caller: "../../../x"), "/x", "'..' stops at the root")
        XCTAssertEqual(assemble(["ignored"], caller: "/abs/./p"), "/abs/p", "an absolute string restarts at the root")
        XCTAssertEqual(assemble(["work"], caller: "dir/"), "/work/dir")
    }

    /// Fragment bytes leaf first, where "/R" is the process-root marker.
    func assembleItems(_ items: [String], caller: String? = nil) -> (path: String, processRoot: Int?) {
        var bytes: [UInt8] = []
        for item in items { bytes += item == "/R" ? Array(item.utf8) : Array(item.utf8) + [0] }
        let callerBytes = caller.map { Array($0.utf8) } ?? []
        var out: [UInt8] = []
        var parsed = PathItems()
        var outcome = PathAssembler.Outcome()
        bytes.withUnsafeBytes { f in
            XCTAssertTrue(parsed.parse(f))
            callerBytes.withUnsafeBytes { c in
                outcome = PathAssembler.assemble(parsed.items, fragments: f, caller: caller == nil ? nil : c,
                                                 anchorPath: { _ in nil }, into: &out)
            }
        }
        return (String(decoding: out, as: UTF8.self), outcome.processRootOffset)
    }

    func testTheProcessRootMarksWhereTheProcessViewStarts() {
        let chrooted = assembleItems(["f", "etc", "/R", "jail", "srv"])
        XCTAssertEqual(chrooted.path, "/srv/jail/etc/f")
        XCTAssertEqual(chrooted.processRoot, 9)
        let atRoot = assembleItems(["/R", "jail", "srv"])
        XCTAssertEqual(atRoot.path, "/srv/jail")
        XCTAssertEqual(atRoot.processRoot, 9, "the process root itself: its view is /")
        XCTAssertNil(assembleItems(["f", "tmp"]).processRoot, "outside the process root")
        XCTAssertEqual(assembleItems(["f", "/R"]).processRoot, 0)
    }

    func testCallerStringsStayInsideTheProcessRoot() {
        // An absolute string starts at the process root, the walked base.
        XCTAssertEqual(assembleItems(["/R", "jail", "srv"], caller: "/etc/../../x").path, "/srv/jail/x")
        XCTAssertEqual(assembleItems(["etc", "/R", "jail", "srv"], caller: "../../../y").path, "/srv/jail/y")
        XCTAssertEqual(assembleItems(["etc", "/R", "jail", "srv"], caller: "z").processRoot, 9)
        // Without the marker (a base outside the root), ".." stops at "/".
        XCTAssertEqual(assembleItems(["b", "a"], caller: "../../../c").path, "/c")
    }

    func testDecodeRecord() throws {
        var builder = KernelRecordBuilder(type: .rename, source: ["home", "user", "old"])
        builder.target = ["home", "user", "new"]
        builder.retval = 0
        builder.comm = "mv"
        builder.timestampBoot = 5
        let record = builder.build()
        let decoder = KernelRecordDecoder(clock: BootClock(realtimeMinusBoottime: 1_000), backend: .tracepoint)
        let event = try record.withUnsafeBytes { try decoder.decode($0) }
        XCTAssertEqual(event.type, .rename)
        XCTAssertEqual(event.source.string, "/home/user/old")
        XCTAssertEqual(event.target?.string, "/home/user/new")
        XCTAssertEqual(event.comm.string, "mv")
        XCTAssertEqual(event.timestamp.nanosecondsSinceEpoch, 1_005)
        XCTAssertEqual(event.pid, 1234)
        XCTAssertEqual(event.source.inode, 42)
    }

    /// The kernel's follow marks ride in a rename's flags: they are read as
    /// marks and never reported as the caller's flags; other types' flags
    /// (an open's O_* bits up there) are left alone.
    func testRenameFollowMarksAreSeparatedFromTheCallersFlags() throws {
        var builder = KernelRecordBuilder(type: .rename, source: ["w", "f"])
        builder.target = ["out", "g"]
        builder.flags = UInt32(FSP_RENAME_FOLLOWED_SOURCE | FSP_RENAME_UNSELECTED) | 1  // RENAME_NOREPLACE
        let record = builder.build()
        let event = try record.withUnsafeBytes { try KernelRecordDecoder().decode($0) }
        XCTAssertEqual(event.flags, 1)
        XCTAssertEqual(record.withUnsafeBytes { RenameFollowMarks(record: $0) }, [.followedSource, .unselected])

        var open = KernelRecordBuilder(type: .open, source: ["w", "f"])
        open.flags = UInt32(FSP_RENAME_FOLLOWED_SOURCE) | 0o2
        let opened = open.build()
        XCTAssertEqual(try opened.withUnsafeBytes { try KernelRecordDecoder().decode($0) }.flags, open.flags)
        XCTAssertEqual(opened.withUnsafeBytes { RenameFollowMarks(record: $0) }, [])
    }

    func testCallerSuffixIsFlagged() throws {
        var builder = KernelRecordBuilder(type: .mkdir, source: ["tmp"])
        builder.sourceCaller = "new/dir"
        let event = try builder.build().withUnsafeBytes { try KernelRecordDecoder().decode($0) }
        XCTAssertEqual(event.source.string, "/tmp/new/dir")
        XCTAssertTrue(event.source.resolution.contains(.callerSuffix))
        XCTAssertNil(event.target)
    }

    func testMalformedRecordsAreRejectedNotTrusted() {
        let short: [UInt8] = [1, 2, 3]
        XCTAssertThrowsError(try short.withUnsafeBytes { try KernelRecordDecoder().decode($0) })
        var record = KernelRecordBuilder(type: .open, source: ["a", "b"]).build()
        record.removeLast(2)  // data shorter than the path claims
        XCTAssertThrowsError(try record.withUnsafeBytes { try KernelRecordDecoder().decode($0) }) { error in
            XCTAssertEqual(error as? KernelRecordError, .pathOutOfBounds)
        }
        var badType = KernelRecordBuilder(type: .open, source: ["a"]).build()
        badType[8] = 99  // event_type
        XCTAssertThrowsError(try badType.withUnsafeBytes { try KernelRecordDecoder().decode($0) })
    }

    func testKernelDeviceEncoding() {
        // glibc makedev(8, 1) = 0x801; the kernel's MKDEV(8, 1) = 8 << 20 | 1.
        XCTAssertEqual(WatchResolver.kernelDevice(fromUserSpace: 0x801), (8 << 20) | 1)
        // major 259, minor 300: glibc puts minor's high bits at 12..31.
        let dev: UInt64 = (UInt64(259 & 0xfff) << 8) | UInt64(300 & 0xff) | (UInt64(300 & ~0xff) << 12)
        XCTAssertEqual(WatchResolver.kernelDevice(fromUserSpace: dev), (259 << 20) | 300)
    }

    func testWatchFilterComponentsNotPrefixes() {
        let dir = WatchedPath(requested: "/w", resolved: Array("/w".utf8), device: 1, inode: 2, isDirectory: true)
        let recursive = WatchFilter(watched: [dir], recursive: true)
        XCTAssertTrue(recursive.matches(Array("/w".utf8)))
        XCTAssertTrue(recursive.matches(Array("/w/a/b".utf8)))
        XCTAssertFalse(recursive.matches(Array("/wx/a".utf8)), "a name sharing a prefix is not inside")
        XCTAssertFalse(recursive.matches(Array("/".utf8)))
        let flat = WatchFilter(watched: [dir], recursive: false)
        XCTAssertTrue(flat.matches(Array("/w/a".utf8)))
        XCTAssertFalse(flat.matches(Array("/w/a/b".utf8)))
        let file = WatchedPath(requested: "/f", resolved: Array("/f".utf8), device: 1, inode: 3, isDirectory: false)
        XCTAssertFalse(WatchFilter(watched: [file], recursive: true).matches(Array("/f/x".utf8)))
    }

    func testWatchResolverRefusesMissingPaths() {
        XCTAssertThrowsError(try WatchResolver.resolve("/nonexistent/x")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/x"))
        }
    }
}
