import Foundation
@testable import FSProbeCore
@testable import FSProbePipeline
import FSProbeTestSupport
import Testing

/// Segment files changed on disk between runs (a bad disk, a person, a
/// crash): the buffer steps over what is corrupt, counts exactly the records
/// lost after the acknowledged position, sets aside what it cannot read, and
/// delivers everything else.
extension DiskBufferTests {
    @Test func corruptRecordsAreSteppedOverAndCountedExactly() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = (0..<40).map { makeEvent(seq: $0) }
        do {
            let buffer = try DiskBuffer(directory: directory)
            #expect(try buffer.append(contentsOf: events) == 40)
            // Five delivered: corruption before them loses nothing.
            #expect(try buffer.readBatch(max: 5) == Array(events[0..<5]))
            try buffer.acknowledge()
            buffer.close()
        }
        let segment = try #require(try segmentFiles(directory).first)
        let offsets = try recordOffsets(segment)
        try changeBytes(of: segment) { bytes in
            bytes[offsets[2] + DiskBuffer.frameSize + 3] ^= 0x01  // delivered already
            bytes[offsets[10] + DiskBuffer.frameSize + 9] ^= 0x40  // a payload byte
            bytes[offsets[20] + 5] ^= 0x10  // a CRC byte
            bytes[offsets[21] + DiskBuffer.frameSize] ^= 0xFF  // the next record too
            bytes[offsets[30] + 9] = 0x7F  // a length far past the end
            bytes[offsets[31]] = 0  // a marker
        }

        let lost: Set<Int> = [10, 20, 21, 30, 31]
        let expected = events.indices.filter { $0 >= 5 && !lost.contains($0) }.map { events[$0] }
        let reopened = try DiskBuffer(directory: directory)
        #expect(reopened.recovery.discardedRecords == 5)
        #expect(reopened.recovery.replayedEvents == 30)
        #expect(reopened.queuedEvents == 30)
        var received: [FileEvent] = []
        while received.count < 15 {
            #expect(try reopened.readBatch(into: &received, max: 15 - received.count, wait: false))
            try reopened.acknowledge()
        }
        #expect(received == Array(expected[0..<15]))
        reopened.close()

        // Past the first two stretches: only the later ones still count.
        let again = try DiskBuffer(directory: directory)
        defer { again.close() }
        #expect(again.recovery.discardedRecords == 2)
        while try again.readBatch(into: &received, max: 7, wait: false), again.queuedEvents > 0 {
            try again.acknowledge()
        }
        try again.acknowledge()
        #expect(received == expected)
        #expect(again.queuedEvents == 0)
        #expect(again.discardedRecords == 2, "what opening found is not counted again while reading")
    }

    @Test func aSegmentCutShortCountsWhatTheNextSegmentsNumberingSays() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = (0..<30).map { makeEvent(seq: $0) }
        let record = try recordSize(of: events[0])
        do {
            let buffer = try DiskBuffer(directory: directory, options: .init(segmentBytes: DiskBuffer.headerSize + 6 * record))
            #expect(try buffer.append(contentsOf: events) == 30)
            buffer.close()
        }
        let segments = try segmentFiles(directory)
        #expect(segments.count == 5)
        // The second segment (events 6..<12) cut in the middle of its third record.
        let offsets = try recordOffsets(segments[1])
        #expect(truncate(segments[1], off_t(offsets[2] + 7)) == 0)

        let reopened = try DiskBuffer(directory: directory, options: .init(segmentBytes: DiskBuffer.headerSize + 6 * record))
        defer { reopened.close() }
        #expect(reopened.recovery.discardedRecords == 4)
        #expect(reopened.recovery.replayedEvents == 26)
        var received: [FileEvent] = []
        while try reopened.readBatch(into: &received, max: 10, wait: false), reopened.queuedEvents > 0 {
            try reopened.acknowledge()
        }
        #expect(received == Array(events[0..<8] + events[12...]))
    }

    @Test func unreadableSegmentsAreSetAsideAndTheOthersDelivered() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = (0..<18).map { makeEvent(seq: $0) }
        let record = try recordSize(of: events[0])
        let options = DiskBuffer.Options(segmentBytes: DiskBuffer.headerSize + 6 * record)
        do {
            let buffer = try DiskBuffer(directory: directory, options: options)
            #expect(try buffer.append(contentsOf: events) == 18)
            buffer.close()
        }
        let segments = try segmentFiles(directory)
        #expect(segments.count == 3)
        try changeBytes(of: segments[1]) { $0[0] = 0x58 }  // not our magic
        try changeBytes(of: segments[2]) { $0[4] = 1 }  // the format before this one
        // A name already taken: the next free one is used.
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: segments[2] + ".set-aside"))

        let reopened = try DiskBuffer(directory: directory, options: options)
        #expect(reopened.recovery.setAside == [
            .init(path: segments[1] + ".set-aside", reason: "not a disk buffer segment"),
            .init(path: segments[2] + ".set-aside.1", reason: "segment format version 1, this fsprobe reads version 2"),
        ])
        #expect(try Data(contentsOf: URL(fileURLWithPath: segments[2] + ".set-aside")) == Data("keep me".utf8))
        #expect(try fileSize(atPath: segments[1] + ".set-aside") == DiskBuffer.headerSize + 6 * record, "kept whole")
        #expect(reopened.recovery.replayedEvents == 6)
        #expect(try reopened.readBatch(max: 10) == Array(events[0..<6]))
        try reopened.acknowledge()
        // Appends go to a new segment after them all.
        #expect(try reopened.append(contentsOf: [events[0]]) == 1)
        #expect(try reopened.readBatch(max: 10) == [events[0]])
        try reopened.acknowledge()
        reopened.close()
        #expect(try segmentFiles(directory) == [directory + "/00000000000000000004.seg"])
        let again = try DiskBuffer(directory: directory, options: options)
        defer { again.close() }
        #expect(again.recovery == DiskBuffer.Recovery(), "set aside once, not reported again")
    }

    @Test func aRecordThatDoesNotDecodeIsSkippedAndCounted() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = (0..<5).map { makeEvent(seq: $0) }
        do {
            let buffer = try DiskBuffer(directory: directory)
            #expect(try buffer.append(contentsOf: events[0..<3]) == 3)
            buffer.close()
        }
        // Intact framing and CRC around a payload that is not an event (a
        // future format, a bug): only that record is skipped.
        var record: [UInt8] = []
        let start = SegmentFormat.openFrame(in: &record)
        record += [FileEventCodec.formatVersion, 99, 0, 0]
        SegmentFormat.sealFrame(at: start, sequence: 3, in: &record)
        let segment = try #require(try segmentFiles(directory).first)
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data(record))
        try handle.close()

        do {
            let reopened = try DiskBuffer(directory: directory)
            #expect(reopened.recovery.discardedRecords == 0, "the CRC holds, so recovery keeps it")
            #expect(reopened.queuedEvents == 4)
            #expect(try reopened.append(contentsOf: events[3...]) == 2)
            // A batch ends before the bad record; the next read skips it.
            #expect(try reopened.readBatch(max: 10) == Array(events[0..<3]))
            try reopened.acknowledge()
            #expect(try reopened.readBatch(max: 10) == Array(events[3...]))
            #expect(reopened.discardedRecords == 1)
            #expect(reopened.queuedEvents == 2)
            reopened.close()
        }
        let again = try DiskBuffer(directory: directory)
        defer { again.close() }
        #expect(again.queuedEvents == 2, "the skip was persisted, the unacknowledged batch was not")
        #expect(again.recovery.discardedRecords == 0)
        #expect(try again.readBatch(max: 10) == Array(events[3...]))
    }

    @Test func aRecordImageInsideAPayloadDoesNotDerailTheNumbering() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A filename holding a whole, valid record that claims a far-ahead number.
        var forged: [UInt8] = []
        let start = SegmentFormat.openFrame(in: &forged)
        FileEventCodec().encodeForTest(makeEvent(seq: 666), into: &forged)
        SegmentFormat.sealFrame(at: start, sequence: 1_000_000, in: &forged)
        let events = (0..<6).map { makeEvent(seq: $0, path: $0 == 2 ? Array("/w/".utf8) + forged : Array("/w/f\($0)".utf8)) }
        do {
            let buffer = try DiskBuffer(directory: directory)
            #expect(try buffer.append(contentsOf: events) == 6)
            buffer.close()
        }
        let segment = try #require(try segmentFiles(directory).first)
        let offsets = try recordOffsets(segment)
        try changeBytes(of: segment) { $0[offsets[2] + 5] ^= 0x01 }  // the record holding the image

        let reopened = try DiskBuffer(directory: directory)
        defer { reopened.close() }
        #expect(reopened.recovery.discardedRecords == 1)
        var received: [FileEvent] = []
        while try reopened.readBatch(into: &received, max: 10, wait: false), reopened.queuedEvents > 0 {
            try reopened.acknowledge()
        }
        #expect(received == [events[0], events[1], events[3], events[4], events[5]])
    }

    // MARK: Helpers

    /// Where each record of a segment starts (walking the frames).
    func recordOffsets(_ path: String) throws -> [Int] {
        try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { SegmentFormat.recordOffsets($0) }
    }

    func changeBytes(of path: String, _ change: (inout Data) -> Void) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&bytes)
        try bytes.write(to: URL(fileURLWithPath: path))
    }
}

extension FileEventCodec {
    /// `encode` on a fresh codec, for building records by hand.
    func encodeForTest(_ event: FileEvent, into buffer: inout [UInt8]) {
        var codec = self
        codec.encode(event, into: &buffer)
    }
}
