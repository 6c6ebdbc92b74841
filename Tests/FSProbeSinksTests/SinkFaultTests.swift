import Foundation
import FSProbeCore
import FSProbeTestSupport
import FSProbeSinks
import Testing

/// The file sink when writes fail: a full file system, space coming back,
/// a device that refuses every byte. Whatever happens, the file holds whole
/// lines only, and every event accepted is either a line of it or counted
/// in `undelivered` (which the pipeline reports as `sink_error`).
@Suite(.serialized) struct SinkFaultTests {
    /// A tmpfs of `bytes`, mounted on a new directory for one test.
    final class SmallFileSystem {
        let path: String

        init(bytes: Int) throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("fsprobe-full-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            guard mount("fsprobe-test", path, "tmpfs", 0, "size=\(bytes)") == 0 else {
                let code = errno
                try? FileManager.default.removeItem(atPath: path)
                throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EPERM)
            }
        }

        deinit {
            umount2(path, Int32(MNT_DETACH))
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// The pids of the file's lines; fails the test on a line that is not whole JSON.
    func linePIDs(_ path: String) throws -> [Int] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.isEmpty || bytes.last == UInt8(ascii: "\n"), "the file ends mid-line")
        return try bytes.split(separator: UInt8(ascii: "\n")).map { line in
            try parseJSONLine(Array(line))["pid"] as? Int ?? -1
        }
    }

    @Test func aFullFileSystemKeepsWholeLinesAndCountsTheRest() throws {
        let fs = try SmallFileSystem(bytes: 64 * 1024)
        let path = fs.path + "/events.jsonl"
        let sink = try FileSink(path: path, format: .json)
        let total = 1_000  // some 500 KB of JSON for 64 KiB of room
        for i in 0..<total { try sink.write(makeEvent(seq: i)) }
        #expect(throws: SinkError.writeFailed(name: path, errno: ENOSPC)) { try sink.flush() }
        try? sink.close()

        let pids = try linePIDs(path)
        #expect(!pids.isEmpty)
        #expect(pids == Array(1000..<(1000 + pids.count)), "lines out of order or repeated")
        #expect(UInt64(pids.count) + sink.undelivered == UInt64(total))
        #expect(sink.confirmed == UInt64(pids.count), "delivered means written out whole")
    }

    @Test func spaceComingBackNeverMergesACutLineWithTheNext() throws {
        let fs = try SmallFileSystem(bytes: 512 * 1024)
        // Leave some 20 KB: the 64 KiB chunks that follow are cut midway.
        let filler = fs.path + "/filler"
        let room = 20_000
        try Data(count: 512 * 1024 - room).write(to: URL(fileURLWithPath: filler))
        let path = fs.path + "/events.jsonl"
        let sink = try FileSink(path: path, format: .json)
        let lineLength = JSONLineEncoder().line(makeEvent(seq: 0)).utf8.count
        let whileFull = 3 * 64 * 1024 / lineLength, afterwards = 100 * 1024 / lineLength
        for i in 0..<whileFull { try sink.write(makeEvent(seq: i)) }
        #expect(throws: SinkError.writeFailed(name: path, errno: ENOSPC)) { try sink.flush() }
        let lostWhileFull = sink.undelivered
        #expect(lostWhileFull > 0)

        try FileManager.default.removeItem(atPath: filler)
        for i in whileFull..<(whileFull + afterwards) { try sink.write(makeEvent(seq: i)) }
        try sink.flush()
        try sink.close()

        let pids = try linePIDs(path)
        #expect(sink.undelivered == lostWhileFull, "nothing is lost once there is room")
        #expect(UInt64(pids.count) + sink.undelivered == UInt64(whileFull + afterwards))
        #expect(sink.confirmed == UInt64(pids.count))
        #expect(pids.suffix(afterwards) == Array((1000 + whileFull)..<(1000 + whileFull + afterwards)))
    }

    @Test func aDeviceThatRefusesEveryByteLosesEveryEventCounted() throws {
        let sink = try FileSink(path: "/dev/full", format: .json)
        for i in 0..<500 { try sink.write(makeEvent(seq: i)) }  // more than one chunk
        #expect(throws: SinkError.writeFailed(name: "/dev/full", errno: ENOSPC)) { try sink.flush() }
        try? sink.close()
        #expect(sink.undelivered == 500)
        #expect(sink.confirmed == 0)
    }
}
