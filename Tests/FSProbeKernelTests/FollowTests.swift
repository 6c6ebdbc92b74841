import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

/// `--follow`: an object moved out of the watch stays watched at its new
/// place. On the VFS backends the kernel decides at the rename itself, so
/// the first operation after the move is reported without waiting for
/// anything; on the tracepoint backend user space follows once it has read
/// the rename, which these tests await with a marker before going on.
final class FollowTests: InsideOutsideTestCase {
    func testAMovedFileIsReportedAtOnceAndTheRenameKeepsTheCallersFlags() throws {
        _ = FileManager.default.createFile(atPath: scratch.url("moving"), contents: nil)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open, .rename])
        defer { try? recorder.stop() }
        XCTAssertEqual(rename(scratch.url("moving"), outside.url("moved")), 0)
        awaitFollowOnTracepoint(recorder, "after the rename")
        touch(outside.url("moved"))
        recorder.waitFor("open at the new place") { $0.type == .open && $0.source.string == self.outside.url("moved") }
        let renamed = try XCTUnwrap(recorder.recorded.first { $0.type == .rename })
        XCTAssertEqual(renamed.flags, 0, "the kernel's follow marks are not the caller's flags")
        XCTAssertEqual(recorder.source.kernelCounters.movedObjectsFollowed, 1)

        // A caller setting the bit the kernel marks unselected renames with
        // does not hide its call (refused, EINVAL: seen by the tracepoint
        // backend only, the VFS is never reached).
        let renameat2 = try XCTUnwrap(renameat2Function, "this libc has no renameat2")
        _ = FileManager.default.createFile(atPath: scratch.url("kept"), contents: nil)
        XCTAssertEqual(renameat2(AT_FDCWD, scratch.url("kept"), AT_FDCWD, scratch.url("never"), 1 << 30), -1)
        XCTAssertEqual(errno, EINVAL)
        touch(scratch.url("kept"))
        let events = recorder.events(until: "open after the refused rename") { $0.type == .open && $0.source.string == self.scratch.url("kept") }
        let refused = events.filter { $0.type == .rename && $0.target?.string == self.scratch.url("never") }
        XCTAssertEqual(refused.map(\.retval), TestBackend.isVFS ? [] : [Int64(-EINVAL)])
    }

    /// The case (`-e open -e modify`, then `mv W/a/b/f OUT/g; echo y >> OUT/g`),
    /// a directory moved out, an exchange, and what must not be followed: a
    /// rename that failed, one inside the watch. Renames are never reported.
    func testFollowingDoesNotNeedRenamesReported() throws {
        let w = scratch!, out = outside!
        XCTAssertEqual(mkdir(w.url("a"), 0o755), 0)
        XCTAssertEqual(mkdir(w.url("a/b"), 0o755), 0)
        XCTAssertEqual(mkdir(w.url("d"), 0o755), 0)
        XCTAssertEqual(mkdir(out.url("dir"), 0o755), 0)
        for file in [w.url("a/b/f"), w.url("stays"), w.url("inside"), w.url("x"), out.url("y"), out.url("warm")] {
            _ = FileManager.default.createFile(atPath: file, contents: nil)
        }
        let recorder = try EventRecorder(paths: [w.path], events: [.open, .modify])
        defer { try? recorder.stop() }
        // Opens outside the watch give OUT a discarder (the kernel learns
        // it holds nothing watched); a followed file in it must still pass.
        touch(out.url("warm"))
        touch(out.url("warm"))

        // A rename that fails after its hook ran (a file onto a directory)
        // and one inside the watch follow nothing: hard links outside the
        // watch to both objects stay unreported below.
        XCTAssertEqual(rename(w.url("stays"), out.url("dir")), -1)
        XCTAssertEqual(errno, EISDIR)
        XCTAssertEqual(rename(w.url("inside"), w.url("a/inside")), 0)

        XCTAssertEqual(rename(w.url("a/b/f"), out.url("g")), 0)
        awaitFollowOnTracepoint(recorder, "after moving a file out")
        let fd = open(out.url("g"), O_WRONLY | O_APPEND)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(write(fd, "y\n", 2), 2)
        close(fd)
        recorder.waitFor("the write right after the move") { $0.type == .modify && $0.source.string == out.url("g") }

        XCTAssertEqual(rename(w.url("d"), out.url("d")), 0)
        awaitFollowOnTracepoint(recorder, "after moving a directory out")
        touch(out.url("d/new"), flags: O_CREAT | O_WRONLY)
        recorder.waitFor("a file created in the moved directory") { $0.type == .open && $0.source.string == out.url("d/new") }

        // x leaves the watch for OUT/y, y comes in as W/x.
        let renameat2 = try XCTUnwrap(renameat2Function, "this libc has no renameat2")
        XCTAssertEqual(renameat2(AT_FDCWD, w.url("x"), AT_FDCWD, out.url("y"), renameExchange), 0)
        awaitFollowOnTracepoint(recorder, "after the exchange")
        touch(out.url("y"))
        recorder.waitFor("the exchanged object at its new place") { $0.type == .open && $0.source.string == out.url("y") }

        XCTAssertEqual(link(w.url("stays"), out.url("stays-link")), 0)
        XCTAssertEqual(link(w.url("a/inside"), out.url("inside-link")), 0)
        touch(out.url("stays-link"))
        touch(out.url("inside-link"))
        touch(w.url("marker"), flags: O_CREAT | O_WRONLY)
        let events = recorder.events(until: "marker") { $0.source.string == w.url("marker") }
        let unexpected = events.filter { $0.type == .rename || $0.source.string.hasSuffix("-link") }
        XCTAssertEqual(unexpected.map(EventRecorder.describe), [])
        let counters = recorder.source.kernelCounters
        XCTAssertEqual(counters.movedObjectsFollowed, 3, "f, d and x")
        XCTAssertEqual(counters.kernel.followed, TestBackend.isVFS ? 3 : 0, "the kernel follows on the VFS backends only")
        XCTAssertEqual(counters.movedObjectsNotFollowed, 0)
    }

    func testWithoutFollowAMovedFileIsNoLongerReported() throws {
        _ = FileManager.default.createFile(atPath: scratch.url("moving"), contents: nil)
        _ = FileManager.default.createFile(atPath: scratch.url("marker"), contents: nil)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open, .rename]) { $0.follow = false }
        defer { try? recorder.stop() }
        XCTAssertEqual(rename(scratch.url("moving"), outside.url("moved")), 0)
        touch(outside.url("moved"))
        touch(scratch.url("marker"))
        let events = recorder.events(until: "marker") { $0.source.string == self.scratch.url("marker") }
        XCTAssertEqual(events.filter { $0.source.string == self.outside.url("moved") }.count, 0)
        XCTAssertEqual(events.filter { $0.type == .rename }.count, 1)
    }

    /// On the tracepoint backend user space follows once it has read the
    /// rename: an open in the watch, reported after it, says it has. The
    /// VFS backends go on at once: the kernel followed before the rename
    /// returned.
    private func awaitFollowOnTracepoint(_ recorder: EventRecorder, _ when: String,
                                         file: StaticString = #filePath, line: UInt = #line) {
        guard !TestBackend.isVFS else { return }
        let marker = scratch.url("follow-marker-\(recorder.count)")
        touch(marker, flags: O_CREAT | O_WRONLY)
        recorder.waitFor("a marker \(when)", file: file, line: line) { $0.source.string == marker }
    }
}
