import Foundation
import FSProbeTestSupport
@testable import FSProbeCore
@testable import FSProbePipeline
import Testing

/// `fsprobe run` on a disk buffer an earlier run left behind and that was
/// then changed on disk: what can be read is delivered, what was lost is
/// said at start-up and at the end, and the exit status says events were lost.
@Suite struct DiskBufferRunTests {
    @Test func aCorruptedSpoolDeliversTheRestAndSaysWhatWasLost() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spool = dir.appendingPathComponent("spool").path
        let watched = dir.appendingPathComponent("watched").path
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        // An earlier run's 300 undelivered events, in segments of 100.
        let events = (0..<300).map { makeEvent(seq: $0, path: Array("/earlier/f\($0)".utf8)) }
        do {
            let buffer = try DiskBuffer(directory: spool)
            // Three segments of 100 events: rotation happens at a size.
            for start in stride(from: 0, to: 300, by: 100) {
                #expect(try buffer.append(contentsOf: events[start..<(start + 100)]) == 100)
                try buffer.startNewSegment()
            }
            buffer.close()
        }
        let segments = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".seg") }.sorted()
            .map { spool + "/" + $0 }
        #expect(segments.count == 4)
        // Two bytes flipped in record 40, one in record 41; the second segment's header broken.
        var first = try Data(contentsOf: URL(fileURLWithPath: segments[0]))
        let offsets = first.withUnsafeBytes { SegmentFormat.recordOffsets($0) }
        #expect(offsets.count == 100)
        first[offsets[40] + DiskBuffer.frameSize + 2] ^= 0x21
        first[offsets[40] + DiskBuffer.frameSize + 3] ^= 0x21
        first[offsets[41] + 6] ^= 0x01
        try first.write(to: URL(fileURLWithPath: segments[0]))
        var second = try Data(contentsOf: URL(fileURLWithPath: segments[1]))
        second[1] = 0
        try second.write(to: URL(fileURLWithPath: segments[1]))

        let output = dir.appendingPathComponent("events.json").path
        let run = try FSProbeProcess.runPipeline(yaml: """
            sources:
              files: {type: kernel, paths: [\(watched)], events: [open]}
            sinks:
              archive: {type: file, inputs: [files], path: \(output), buffer_type: disk, buffer_path: \(spool)}
            """, in: dir)
        let expected = Array(events[0..<40]) + Array(events[42..<100]) + Array(events[200...])
        #expect(try waitForLines(in: output, count: expected.count))
        #expect(run.terminate() == 3, "\(run.errors)")
        let delivered = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["src_filename"] as? String }
        #expect(delivered == expected.map { String(decoding: $0.source.bytes, as: UTF8.self) })

        let errors = run.errors
        #expect(errors.contains("fsprobe: sink archive: disk buffer '\(spool)': 198 events from an earlier run to deliver, 2 lost to corruption"), "\(errors)")
        #expect(errors.contains("fsprobe: sink archive: disk buffer '\(spool)': segment set aside as '\(segments[1]).set-aside': not a disk buffer segment; its events are not delivered"), "\(errors)")
        #expect(run.finalStats.contains("archive: delivered 198, dropped buffer_full 0, dropped sink_error 0, queued 0, in flight 0, replayed 198, dropped corrupt 2, set aside 1"), "\(run.finalStats)")
        #expect(errors.contains("; disk buffers: 198 events replayed from an earlier run, 2 lost to corruption, 1 segments set aside"), "\(errors)")
        #expect(FileManager.default.fileExists(atPath: segments[1] + ".set-aside"))
    }

    /// Polls the file until it holds `count` lines (each a delivered event),
    /// or 30 s pass.
    private func waitForLines(in path: String, count: Int) throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               text.split(separator: "\n").count >= count { return true }
            usleep(10_000)
        }
        return false
    }
}
