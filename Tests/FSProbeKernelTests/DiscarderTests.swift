import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

/// Discarders (ebpf/lib/discard.bpf.h): a directory found to hold nothing
/// watched drops the next events in it before anything is built. Each test
/// first shows a discarder at work (the kernel's counter moves), then does
/// what must end it, and asserts the event that a stale discarder would
/// have hidden. Every backend.
final class DiscarderTests: InsideOutsideTestCase {
    /// Opens `path` until the kernel has dropped at least one more event with
    /// a discarder than before; fails when 20 opens did not.
    private func openUntilDiscarded(_ path: String, _ recorder: EventRecorder,
                                    file: StaticString = #filePath, line: UInt = #line) {
        let before = recorder.source.kernelCounters.kernel.discarded
        for _ in 0..<20 {
            XCTAssertGreaterThanOrEqual(touch(path), 0, path, file: file, line: line)
            if recorder.source.kernelCounters.kernel.discarded > before { return }
        }
        XCTFail("no open of \(path) was dropped by a discarder", file: file, line: line)
    }

    /// One recorder for every case (a BPF load takes seconds under the
    /// kernel matrix's emulation): a watched directory, a watched file, and
    /// an unwatched tree whose directories get discarders.
    func testDiscardersDropUnwatchedEventsAndNeverAWatchedOne() throws {
        let deep = outside.url("a/b/c/d/e")
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(deep)/f", contents: nil)
        let tree = scratch.url("tree"), file = scratch.url("file-dir/watched-file")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.url("file-dir"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: file, contents: nil)
        FileManager.default.createFile(atPath: outside.url("other"), contents: nil)
        let recorder = try EventRecorder(paths: [tree, file], events: [.open])
        defer { try? recorder.stop() }

        // Opens outside the watch are dropped before any walk, at any depth.
        openUntilDiscarded("\(deep)/f", recorder)
        XCTAssertGreaterThan(recorder.source.kernelCounters.kernel.discardersAdded, 0)

        // A watched file moved into a directory with a discarder (made
        // after the rename, which ends the epoch on the tracepoint backend):
        // only the object's own check can see it.
        XCTAssertEqual(rename(file, outside.url("moved")), 0)
        openUntilDiscarded(outside.url("other"), recorder)
        touch(outside.url("moved"))
        recorder.waitFor("open of the moved watched file") { $0.type == .open && $0.source.string == self.outside.url("moved") }

        // A hard link to it, made there.
        XCTAssertEqual(link(outside.url("moved"), outside.url("hard")), 0)
        openUntilDiscarded(outside.url("other"), recorder)
        touch(outside.url("hard"))
        recorder.waitFor("open through the hard link") { $0.type == .open && $0.source.string == self.outside.url("hard") }

        // The watched directory renamed into it: the rename ends the epoch,
        // the directory gets a new discarder, which must still let the
        // watched child through.
        XCTAssertEqual(rename(tree, outside.url("tree")), 0)
        openUntilDiscarded(outside.url("other"), recorder)
        let fd = open(outside.url("tree"), O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        recorder.waitFor("open of the watched directory at its new place") {
            $0.type == .open && $0.source.string == self.outside.url("tree")
        }

        // A watch added later ends the discarders of its tree.
        openUntilDiscarded("\(deep)/f", recorder)
        try recorder.source.add(path: outside.url("a"))
        touch("\(deep)/f")
        recorder.waitFor("open in the directory watched since") { $0.type == .open && $0.source.string == "\(deep)/f" }

        let marker = outside.url("tree/marker")
        touch(marker, flags: O_CREAT | O_WRONLY)  // not createFile: it writes a temporary file first
        let seen = recorder.events(until: "marker open") { $0.source.string == marker }.map(\.source.string)
        XCTAssertEqual(seen, [outside.url("moved"), outside.url("hard"), outside.url("tree"), "\(deep)/f", marker],
                       "nothing outside the watch, and nothing twice")
    }

    /// A mount moved into the watch: the same struct mount, the same
    /// directories, new ancestors. Done by a child in a private mount
    /// namespace (the machine's own mounts may be shared, which refuses
    /// MS_MOVE), so its paths are flagged as another namespace's.
    func testAMountMovedIntoTheWatchIsWatchedAtOnce() throws {
        let source = outside.url("mnt"), target = scratch.url("mnt")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open])
        defer { try? recorder.stop() }
        let before = recorder.source.kernelCounters.kernel.discarded
        let src = strdup(source)!, dst = strdup(target)!, inner = strdup("\(source)/sub")!
        let file = strdup("\(source)/sub/f")!, moved = strdup("\(target)/sub/f")!
        defer { for pointer in [src, dst, inner, file, moved] { free(pointer) } }

        _ = try runChild {
            guard unshareMountNamespace() == 0, mount("none", "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0 else { return 10 }
            guard mount("tmpfs", src, "tmpfs", 0, "size=1m") == 0, mkdir(inner, 0o755) == 0 else { return 11 }
            let created = open(file, O_CREAT | O_WRONLY, 0o644)
            guard created >= 0 else { return 12 }
            close(created)
            for _ in 0..<20 where touchC(file) < 0 { return 13 }  // a discarder for sub, then its use
            guard mount(src, dst, nil, UInt(MS_MOVE), nil) == 0 else { return 14 }
            return touchC(moved) >= 0 ? 0 : 15
        }
        let event = recorder.waitFor("open on the moved mount") { $0.type == .open && $0.source.string == "\(target)/sub/f" }
        XCTAssertEqual(event?.source.resolution.contains(.foreignMountNamespace), true)
        XCTAssertGreaterThan(recorder.source.kernelCounters.kernel.discarded, before, "the opens before the move were discarded")
    }
}
