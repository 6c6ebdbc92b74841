import Foundation
@testable import FSProbeCore
@testable import FSProbePipeline
import FSProbeTestSupport
import Synchronization
import Testing

/// The disk buffer on real files in a temporary directory: the codec, the
/// segment files and their recovery, and the sink that delivers from them.
@Suite struct DiskBufferTests {
    // MARK: Codec

    @Test(arguments: HostileNames.all)
    func codecRoundTripsEveryProperty(name: HostileNames.Case) throws {
        var event = makeEvent(.rename, seq: 7, path: name.bytes, target: name.bytes + [0x2F, 0xFF], retval: -18)
        event.comm = ([0x0A, 0xFF, 0x1B, 0x41, 0xC3] as [UInt8]).withUnsafeBytes { ProcessName(bytes: $0) }
        event.source.device = 0x0080_0001
        event.source.mode = 0o100_644
        event.source.resolution = [.truncated, .disconnected, .deleted, .unresolved]
        event.source.processRootOffset = 0
        event.target?.resolution = [.callerSuffix, .callerTruncated, .detached, .foreignMountNamespace]
        event.target?.processRootOffset = name.bytes.count
        event.target?.device = 9
        event.backend = .kprobe
        event.flags = .max
        event.fields = Self.hostileLayout
        event.source.linkCount = 3
        event.source.mount = MountInfo(mountID: 28, device: 0x0080_0001, mountPoint: name.bytes, fsType: "ext4")
        event.process = ProcessContext(
            ppid: 1, startTime: EventTimestamp(nanosecondsSinceEpoch: -5), loginUID: 0, sessionID: 7,
            euid: .max - 1, egid: 3, executable: EventPath(bytes: name.bytes, inode: 5, mountID: 28, device: 1,
                                                        mode: 0o100755, processRootOffset: 0, linkCount: 1),
            cgroupID: .max, cgroup: CgroupInfo(id: .max, path: name.bytes, containerID: "c", runtime: .nspawn),
            mountNamespace: 1, pidNamespace: 2, userNamespace: 3,
            userName: "", groupName: nil, effectiveUserName: "r\u{0}t", effectiveGroupName: "g")
        event.attributes = AttributeChange(mode: 0o104755, uid: nil, gid: .max, size: -1,
                                           accessTime: .now, modificationTime: .at(EventTimestamp(nanosecondsSinceEpoch: .min)))
        event.bytesWritten = .max
        event.origin = EventOrigin(host: "agent\n\u{1b}[31m-é", stream: .max)
        event.sequence = .max - 1

        var codec = FileEventCodec()
        var buffer: [UInt8] = [0xEE]  // encode appends: what was there stays
        codec.encode(event, into: &buffer)
        #expect(buffer.first == 0xEE)
        let decoded = try decodeFresh(Array(buffer.dropFirst()))
        #expect(decoded == event)
        #expect(decoded.comm.withBytes { Array($0) } == [0x0A, 0xFF, 0x1B, 0x41, 0xC3])
        #expect(decoded.id == EventID(stream: .max, sequence: .max - 1) && decoded.origin?.host == event.origin?.host)
        #expect(decoded.fields?.names == Self.hostileLayout.names)
        #expect(decoded.fields?.extras.map { "\($0.name)=\($0.value)" } == Self.hostileLayout.extras.map { "\($0.name)=\($0.value)" })
    }

    @Test func codecKeepsNilAndStandardLayoutsApartAndSharesARepeatedLayout() throws {
        var codec = FileEventCodec()
        var plain = makeEvent(seq: 1)
        plain.comm = ProcessName("sixteen-bytes-xx")  // full capacity
        var standard = makeEvent(seq: 2)
        standard.fields = .standard
        var custom = makeEvent(seq: 3)
        custom.fields = Self.hostileLayout
        var buffer: [UInt8] = []
        var decoded: [FileEvent] = []
        for event in [plain, standard, custom, custom, plain, custom] {
            buffer.removeAll(keepingCapacity: true)
            codec.encode(event, into: &buffer)
            decoded.append(try codec.decode(buffer))
        }
        #expect(decoded == [plain, standard, custom, custom, plain, custom])
        #expect(decoded[0].fields == nil && decoded[1].fields != nil && decoded[1].fields!.isStandard)
        #expect(decoded[0].comm.count == 16)
        // The same layout decodes into one shared instance, not one per event.
        #expect(decoded[2].fields! === decoded[3].fields! && decoded[3].fields! === decoded[5].fields!)
    }

    /// Buffers outlive upgrades: a field keeps its bit in the layout words
    /// when fields are added before it (the companions, after the path flags).
    @Test func layoutBitsOfEarlierFieldsDoNotMove() throws {
        var names = EventFieldLayout.standard.names
        names[EventField.commRaw.rawValue] = nil
        names[EventField.targetPathDetached.rawValue] = nil
        names[EventField.targetProcessPath.rawValue] = nil
        var event = makeEvent(seq: 4)
        event.fields = EventFieldLayout(names: names, extras: [])
        var codec = FileEventCodec()
        var buffer: [UInt8] = []
        codec.encode(event, into: &buffer)
        // No renames or extras: the layout is its word count, two omitted
        // words, two renamed words and the extra count.
        let layout = Array(buffer.suffix(1 + 32 + 4))
        #expect(layout[0] == 2)
        let words = layout.withUnsafeBytes { raw in
            (0..<4).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 1 + 8 * $0, as: UInt64.self)) }
                + [UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 33, as: UInt32.self)))]
        }
        #expect(words == [1 << 22 | 1 << 28 | 1 << 32, 0, 0, 0, 0])
        #expect(try decodeFresh(buffer) == event)
        // exe_raw, the first field past 64 bits, lands in the second word.
        names[EventField.exeRaw.rawValue] = nil
        event.fields = EventFieldLayout(names: names, extras: [])
        buffer.removeAll()
        codec.encode(event, into: &buffer)
        let second = Array(buffer.suffix(1 + 32 + 4)).withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 9, as: UInt64.self))
        }
        #expect(second == 1)
        #expect(try decodeFresh(buffer) == event)
    }

    /// A disk buffer written by an earlier fsprobe (format 1: no process
    /// root offsets, 32-bit layout words) is still delivered.
    @Test func formatOneStillDecodes() throws {
        var event = makeEvent(.rename, seq: 5, target: Array("/tmp/new".utf8))
        var names = EventFieldLayout.standard.names
        names[EventField.commRaw.rawValue] = nil
        names[EventField.uid.rawValue] = "user"
        event.fields = EventFieldLayout(names: names, extras: [("site", "paris")])
        var buffer: [UInt8] = []
        var codec = FileEventCodec()
        codec.encode(event, into: &buffer)
        #expect(try decodeFresh(Self.earlierFormat(buffer, of: event, version: 1)) == event)
        let sourceEnd = 4 + 8 + 6 * 4 + 8 + 1 + 3 + 4 + event.source.bytes.count + 8 + 4 + 4 + 4 + 2
        #expect(Array(buffer[sourceEnd..<(sourceEnd + 4)]) == [0xFF, 0xFF, 0xFF, 0xFF], "no offset is -1")
    }

    /// An empty change (a setattr whose values the kernel could not read)
    /// stays a change, and every member combination round-trips.
    @Test func attributeChangesRoundTrip() throws {
        let times: [AttributeChange.Time?] = [nil, .now, .at(EventTimestamp(nanosecondsSinceEpoch: 1_795_675_544_000_000_001))]
        var changes: [AttributeChange?] = [nil, AttributeChange()]
        for access in times {
            for modification in times {
                changes.append(AttributeChange(mode: 0o644, size: 0, accessTime: access, modificationTime: modification))
            }
        }
        changes.append(AttributeChange(uid: 0, gid: 0))
        changes.append(AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: Array("user.a\nb".utf8) + [0xff])))
        changes.append(AttributeChange(extendedAttribute: ExtendedAttributeChange(.remove, name: [])))
        var codec = FileEventCodec()
        for change in changes {
            var event = makeEvent(.setattr, seq: 9)
            event.attributes = change
            var buffer: [UInt8] = []
            codec.encode(event, into: &buffer)
            #expect(try decodeFresh(buffer) == event, "\(String(describing: change))")
        }
    }

    /// Format 3 (no extended attribute) too.
    @Test func formatThreeStillDecodes() throws {
        var event = makeEvent(.setattr, seq: 7)
        event.attributes = AttributeChange(mode: 0o600, accessTime: .now)
        var buffer: [UInt8] = []
        var codec = FileEventCodec()
        codec.encode(event, into: &buffer)
        // The attributes end with "no extended attribute" (0), then "no bytes written" (0), "no origin" (0).
        #expect(buffer.suffix(3) == [0, 0, 0])
        var old = Array(buffer.dropLast(3)) + [0]
        old[0] = 3
        #expect(try decodeFresh(old) == event)
    }

    /// Format 4 had no origin: its events decode without an id.
    @Test func formatFourStillDecodes() throws {
        var event = makeEvent(.mkdir, seq: 9)
        var buffer: [UInt8] = []
        var codec = FileEventCodec()
        codec.encode(event, into: &buffer)
        #expect(buffer.last == 0)
        var old = Array(buffer.dropLast())
        old[0] = 4
        #expect(try decodeFresh(old) == event)
        // With an origin, version 5 carries it; consecutive events of one
        // stream decode into one shared origin.
        event.origin = EventOrigin(host: "h", stream: 7)
        var decoder = FileEventCodec()
        var decoded: [FileEvent] = []
        for sequence in 1...2 as ClosedRange<UInt64> {
            event.sequence = sequence
            buffer.removeAll()
            codec.encode(event, into: &buffer)
            decoded.append(try decoder.decode(buffer))
        }
        #expect(decoded.map(\.id) == [EventID(stream: 7, sequence: 1), EventID(stream: 7, sequence: 2)])
        #expect(decoded[0].origin === decoded[1].origin)
    }

    /// Format 2 (no link counts, mounts or process context) too.
    @Test func formatTwoStillDecodes() throws {
        var event = makeEvent(.link, seq: 6, target: Array("/tmp/other".utf8))
        event.source.processRootOffset = 4
        var names = EventFieldLayout.standard.names
        names[EventField.targetProcessPath.rawValue] = "tpp"
        event.fields = EventFieldLayout(names: names, extras: [])
        var buffer: [UInt8] = []
        var codec = FileEventCodec()
        codec.encode(event, into: &buffer)
        #expect(try decodeFresh(Self.earlierFormat(buffer, of: event, version: 2)) == event)
    }

    /// The current encoding of `event` (no mounts, link counts or process
    /// context) rewritten as an earlier format wrote it: format 2 had no
    /// link count, mount or process context; format 1 not the process root
    /// offset either, and 32-bit layout words.
    static func earlierFormat(_ buffer: [UInt8], of event: FileEvent, version: UInt8) -> [UInt8] {
        let headerEnd = 4 + 8 + 6 * 4 + 8 + 1 + event.comm.count
        var old = Array(buffer[..<headerEnd])
        old[0] = version
        var offset = headerEnd
        for path in [event.source] + (event.target.map { [$0] } ?? []) {
            let common = 4 + path.bytes.count + 8 + 4 + 4 + 4 + 2
            old += buffer[offset..<(offset + common + (version == 2 ? 4 : 0))]
            offset += common + 4 + 4 + 1  // root offset, link count, no mount
        }
        offset += 4 + 8 + 4 * 4 + 8 + 3 * 4 + 1 + 1 + 4  // the process context, all absent
        offset += 1 + 1 + 1  // no attributes, no bytes written, no origin
        let layout = Array(buffer[offset...])
        guard !layout.isEmpty else { return old }
        // Format 3: word count, two omitted words, two renamed words, the rest.
        let omitted = layout[1..<9], renamed = layout[17..<25], rest = layout[33...]
        old += version == 1 ? omitted.prefix(4) + renamed.prefix(4) + rest : omitted + renamed + rest
        return old
    }

    @Test func codecRefusesGarbage() throws {
        var codec = FileEventCodec()
        var event = makeEvent(.link, seq: 3, target: Array("/tmp/new".utf8))
        event.fields = Self.hostileLayout
        var valid: [UInt8] = []
        codec.encode(event, into: &valid)

        // Every truncation, and anything appended.
        for length in 0..<valid.count {
            #expect(throws: FileEventCodecError.self) { try decodeFresh(Array(valid.prefix(length))) }
        }
        #expect(throws: FileEventCodecError.self) { try decodeFresh(valid + [0]) }

        // Each header byte out of range: version, event type, backend, presence bits.
        for (offset, value) in [(0, FileEventCodec.formatVersion + 1), (1, 8), (2, 3), (3, 4)] {
            var bad = valid
            bad[offset] = value
            #expect(throws: FileEventCodecError.self, "byte \(offset) = \(value)") { try decodeFresh(bad) }
        }
        // A comm longer than the kernel's 16 bytes, and a NUL inside one.
        let commOffset = 4 + 8 + 6 * 4 + 8
        var long = valid
        long[commOffset] = 17
        #expect(throws: FileEventCodecError.self) { try decodeFresh(long) }
        var nul = valid
        nul[commOffset + 1] = 0
        #expect(throws: FileEventCodecError.self) { try decodeFresh(nul) }

        // Names and values must be UTF-8: the last added field's value ends
        // the payload, so break the UTF-8 of its last byte.
        var invalidText = valid
        invalidText[invalidText.count - 1] = 0xFF
        #expect(throws: FileEventCodecError.self) { try decodeFresh(invalidText) }

        // An extended attribute of an unknown operation, or with a NUL in its name.
        var xattrEvent = makeEvent(.setattr, seq: 8)
        xattrEvent.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: Array("user.x".utf8)))
        var withXattr: [UInt8] = []
        codec.encode(xattrEvent, into: &withXattr)
        // The payload ends: operation, u32 length 6, "user.x", no bytes written, no origin.
        let operation = withXattr.count - 1 - 1 - 6 - 4 - 1
        #expect(withXattr[operation] == 1 && (try? decodeFresh(withXattr)) == xattrEvent)
        var unknownOperation = withXattr
        unknownOperation[operation] = 3
        #expect(throws: FileEventCodecError.self) { try decodeFresh(unknownOperation) }
        var nulInName = withXattr
        nulInName[withXattr.count - 3] = 0
        #expect(throws: FileEventCodecError.self) { try decodeFresh(nulInName) }

        // Random bytes never trap; whatever decodes re-encodes to the same bytes.
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            var bytes = (0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if !bytes.isEmpty && generator.next() % 2 == 0 { bytes[0] = FileEventCodec.formatVersion }
            guard let decoded = try? codec.decode(bytes) else { continue }
            var again: [UInt8] = []
            codec.encode(decoded, into: &again)
            #expect(again == bytes)
        }
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) } == 0xE306_9283)
        #expect([UInt8]().withUnsafeBytes { CRC32C.checksum($0) } == 0)
    }

    // MARK: DiskBuffer

    @Test func fifoAcrossSegmentsAndAcknowledgedSegmentsAreDeleted() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let buffer = try DiskBuffer(directory: directory, options: .init(segmentBytes: 1024, sync: .never))
        defer { buffer.close() }
        let events = (0..<100).map { makeEvent(seq: $0) }
        var index = 0
        for size in [1, 30, 2, 67] {
            #expect(try buffer.append(contentsOf: events[index..<index + size]) == size)
            index += size
        }
        #expect(buffer.queuedEvents == 100)
        let segmentsAtStart = try segmentFiles(directory).count
        #expect(segmentsAtStart >= 5, "small segments: \(segmentsAtStart)")
        #expect(buffer.segmentCount == segmentsAtStart)

        var received: [FileEvent] = []
        var fewerFiles = false
        while received.count < events.count {
            let batch = try buffer.readBatch(max: 7)
            #expect(!batch.isEmpty && batch.count <= 7)
            received += batch
            try buffer.acknowledge()
            #expect(buffer.queuedEvents == events.count - received.count)
            if try segmentFiles(directory).count < segmentsAtStart { fewerFiles = true }
        }
        #expect(received == events)
        #expect(fewerFiles, "segments are deleted as they are acknowledged, not only at the end")
        #expect(try segmentFiles(directory).count == 1, "only the segment being written remains")
        #expect(buffer.queuedBytes == 0)
        #expect(try buffer.readBatch(max: 10, wait: false).isEmpty)
    }

    @Test func reopeningReplaysExactlyTheUnacknowledgedEvents() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = (0..<50).map { makeEvent(seq: $0) }
        do {
            let buffer = try DiskBuffer(directory: directory, options: .init(segmentBytes: 2048))
            #expect(try buffer.append(contentsOf: events) == 50)
            try buffer.sync()
            // A batch stays within one segment, so it may hold fewer than asked.
            var acknowledged: [FileEvent] = []
            while acknowledged.count < 20 {
                #expect(try buffer.readBatch(into: &acknowledged, max: 20 - acknowledged.count))
                try buffer.acknowledge()
            }
            #expect(acknowledged == Array(events[0..<20]))
            // Read but not acknowledged: returned again, now and after a restart.
            let unacknowledged = try buffer.readBatch(max: 10)
            #expect(!unacknowledged.isEmpty && unacknowledged == Array(events[20..<(20 + unacknowledged.count)]))
            #expect(try buffer.readBatch(max: 10) == unacknowledged)
            buffer.close()
        }
        let reopened = try DiskBuffer(directory: directory, options: .init(segmentBytes: 2048))
        defer { reopened.close() }
        #expect(reopened.recovery == DiskBuffer.Recovery(replayedEvents: 30))
        #expect(reopened.queuedEvents == 30)
        var received: [FileEvent] = []
        while try reopened.readBatch(into: &received, max: 8, wait: false), reopened.queuedEvents > 0 {
            try reopened.acknowledge()
        }
        try reopened.acknowledge()
        #expect(received == Array(events[20...]))
        // Appends continue after what was there.
        let more = (50..<53).map { makeEvent(seq: $0) }
        #expect(try reopened.append(contentsOf: more) == 3)
        // A batch comes from one segment, and the three may span two.
        var appended: [FileEvent] = []
        for _ in 0..<3 where appended.count < 3 {
            appended += try reopened.readBatch(max: 10, wait: false)
            try reopened.acknowledge()
        }
        #expect(appended == more)
    }

    @Test func aTornTailIsTruncatedAndCountedAndEarlierRecordsSurvive() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = (0..<10).map { makeEvent(seq: $0) }
        let buffer = try DiskBuffer(directory: directory)
        #expect(try buffer.append(contentsOf: events[0..<9]) == 9)
        let bytesOfNine = buffer.queuedBytes
        #expect(try buffer.append(contentsOf: events[9...]) == 1)
        let bytesOfTen = buffer.queuedBytes
        buffer.close()

        // A crash in the middle of writing the last record.
        let segment = try #require(try segmentFiles(directory).first)
        #expect(truncate(segment, off_t(DiskBuffer.headerSize + bytesOfTen - 3)) == 0)

        let reopened = try DiskBuffer(directory: directory)
        defer { reopened.close() }
        #expect(reopened.recovery.discardedRecords == 1)
        #expect(reopened.recovery.discardedBytes == bytesOfTen - bytesOfNine - 3)
        #expect(reopened.recovery.replayedEvents == 9)
        #expect(try fileSize(atPath: segment) == DiskBuffer.headerSize + bytesOfNine, "cut back to the last whole record")
        #expect(try reopened.readBatch(max: 100) == Array(events[0..<9]))
        // New records follow the cut and read back.
        #expect(try reopened.append(contentsOf: [events[9]]) == 1)
        try reopened.acknowledge()
        #expect(try reopened.readBatch(max: 100) == [events[9]])
    }

    @Test func aSinkDroppedWithoutCloseReleasesItsDirectory() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let sink = try DiskBufferedSink(inner: CollectingSink(name: "never-run"), directory: directory)
            #expect(sink.queuedEvents == 0)
        }
        try DiskBuffer(directory: directory).close()
    }

    @Test func appendStopsAtMaxBytesAndResumesOnceRoomIsMade() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let record = try recordSize(of: makeEvent())
        let buffer = try DiskBuffer(directory: directory, options: .init(maxBytes: 5 * record + record / 2))
        defer { buffer.close() }
        let events = (0..<20).map { makeEvent(seq: $0) }
        #expect(try buffer.append(contentsOf: events) == 5)
        #expect(buffer.queuedBytes == 5 * record)
        #expect(try buffer.append(contentsOf: events[5...]) == 0)
        #expect(try buffer.readBatch(max: 2) == Array(events[0..<2]))
        #expect(try buffer.append(contentsOf: events[5...]) == 0, "read but unacknowledged still takes room")
        try buffer.acknowledge()
        #expect(buffer.waitForRoom())
        #expect(try buffer.append(contentsOf: events[5...]) == 2)
        #expect(buffer.queuedEvents == 5)

        // An empty buffer takes one event however large, so a waiting writer always progresses.
        let tinyDirectory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: tinyDirectory) }
        let tiny = try DiskBuffer(directory: tinyDirectory, options: .init(maxBytes: 10))
        defer { tiny.close() }
        #expect(try tiny.append(contentsOf: events) == 1)
        #expect(try tiny.append(contentsOf: events) == 0)
    }

    @Test func aDirectoryIsUsedByOneBufferAtATime() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try DiskBuffer(directory: directory + "/nested/buffer")
        #expect(throws: DiskBufferError.inUse(directory: directory + "/nested/buffer")) {
            try DiskBuffer(directory: directory + "/nested/buffer")
        }
        first.close()
        #expect(throws: DiskBufferError.closed) { try first.append(contentsOf: [makeEvent()]) }
        try DiskBuffer(directory: directory + "/nested/buffer").close()
    }

    @Test func concurrentWriterAndReaderKeepOrderUnderABlockingBound() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let record = try recordSize(of: makeEvent())
        // Room for 20 events, segments of 8: the writer keeps waiting for the reader.
        let buffer = try DiskBuffer(directory: directory,
                                    options: .init(maxBytes: 20 * record, segmentBytes: 8 * record + DiskBuffer.headerSize, sync: .never))
        let events = (0..<3000).map { makeEvent(seq: $0) }
        let writer = WorkerThread {
            var index = 0
            while index < events.count {
                index += (try? buffer.append(contentsOf: events[index..<min(index + 13, events.count)])) ?? 0
                if index < events.count { _ = buffer.waitForRoom() }
            }
        }
        var received: [FileEvent] = []
        while received.count < events.count {
            #expect(try buffer.readBatch(into: &received, max: 9))
            try buffer.acknowledge()
            #expect(buffer.queuedBytes <= 20 * record)
        }
        writer.join()
        #expect(received == events)
        #expect(buffer.segmentCount == 1)
        // A waiting reader is woken by stopReading.
        let reader = WorkerThread { _ = try? buffer.readBatch(max: 1) }
        #expect(eventually { buffer.waitingReaderCount == 1 })
        buffer.stopReading()
        reader.join()
        buffer.close()
    }

    // MARK: DiskBufferedSink

    @Test func aRecoveringInnerSinkGetsEveryEventInOrderOnce() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let inner = FlakySink(failingFlushes: 3)
        let errors = Mutex<[DiskBufferedSink.DeliveryError.Stage]>([])
        let sink = try DiskBufferedSink(
            inner: inner, directory: directory, bufferOptions: .init(segmentBytes: 4096),
            options: .init(batchSize: 64, retryInitialDelay: .milliseconds(5), retryMaxDelay: .milliseconds(20)),
            errorHandler: { error in errors.withLock { $0.append(error.stage) } })
        let events = (0..<1000).map { makeEvent(seq: $0) }
        for (index, event) in events.enumerated() {
            try sink.write(event)
            if index % 100 == 99 { try sink.flush() }
        }
        try sink.flush()
        #expect(eventually { sink.delivered == 1000 })
        #expect(inner.delivered == events, "every event, in order, none lost or repeated")
        #expect(sink.retries == 3)
        #expect(errors.withLock { $0 } == [.flush], "the first error of its kind only")
        #expect(sink.queuedEvents == 0 && sink.queuedBytes == 0)
        try sink.close()
        #expect(inner.closed)
        #expect(sink.undelivered == 0 && sink.droppedFull == 0)
    }

    @Test func closeGivesUpAfterDrainTimeoutAndTheEventsWaitOnDisk() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let inner = FlakySink(failingFlushes: .max)
        let sink = try DiskBufferedSink(
            inner: inner, directory: directory,
            options: .init(drainTimeout: .milliseconds(300), batchSize: 16, retryInitialDelay: .milliseconds(10)))
        let events = (0..<50).map { makeEvent(seq: $0) }
        for event in events { try sink.write(event) }
        try sink.flush()
        #expect(eventually { sink.retries >= 2 })
        let clock = ContinuousClock()
        let started = clock.now
        try sink.close()
        let elapsed = clock.now - started
        #expect(elapsed >= .milliseconds(300), "it waited for the drain")
        #expect(elapsed < .seconds(3), "it gave up: \(elapsed)")
        #expect(inner.closed && inner.delivered.isEmpty)
        #expect(sink.undelivered == 0, "kept on disk, not lost")

        // The next start delivers them.
        let buffer = try DiskBuffer(directory: directory)
        #expect(buffer.queuedEvents == 50)
        buffer.close()
        let next = CollectingSink(name: "next")
        let restarted = try DiskBufferedSink(inner: next, directory: directory)
        #expect(eventually { restarted.delivered == 50 })
        try restarted.close()
        #expect(next.events == events)
    }

    /// A disk-buffered sink whose inner sink never flushes and whose buffer
    /// holds five events: full after the fifth.
    fileprivate func bufferOfFive(_ directory: String, _ options: DiskBufferedSink.Options) throws -> (DiskBufferedSink, FlakySink) {
        let record = try recordSize(of: makeEvent())
        let inner = FlakySink(failingFlushes: .max)
        let sink = try DiskBufferedSink(inner: inner, directory: directory, bufferOptions: .init(maxBytes: 5 * record),
                                        options: options)
        return (sink, inner)
    }

    @Test func dropNewestCountsWhatDoesNotFit() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sink, _) = try bufferOfFive(directory, .init(whenFull: .dropNewest, drainTimeout: .zero, batchSize: 8))
        for seq in 0..<20 { try sink.write(makeEvent(seq: seq)) }
        try sink.flush()
        #expect(sink.droppedFull == 15)
        #expect(sink.undelivered == 15)
        #expect(sink.queuedEvents == 5)
        try sink.close()
        let buffer = try DiskBuffer(directory: directory)
        #expect(try buffer.readBatch(max: 100) == (0..<5).map { makeEvent(seq: $0) }, "the oldest are kept")
        buffer.close()
    }

    @Test func blockWaitsForRoomThenEverythingArrives() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sink, inner) = try bufferOfFive(directory, .init(whenFull: .block, batchSize: 4, retryInitialDelay: .milliseconds(5),
                                                             retryMaxDelay: .milliseconds(10)))
        let events = (0..<20).map { makeEvent(seq: $0) }
        let writer = WorkerThread {
            for event in events { try? sink.write(event) }
            try? sink.flush()
        }
        #expect(eventually { sink.buffer.waitingWriterCount == 1 }, "the writer waits for room")
        #expect(sink.queuedEvents <= 5 && sink.delivered == 0)
        inner.recover()
        writer.join()
        #expect(eventually { sink.delivered == 20 })
        try sink.close()
        #expect(inner.delivered == events)
        #expect(sink.droppedFull == 0 && sink.undelivered == 0)
    }

    // MARK: Helpers

    /// Renames, removals and added fields with names no JSON key should have.
    static let hostileLayout: EventFieldLayout = {
        var names = EventFieldLayout.standard.names
        names[EventField.pid.rawValue] = "process\nid"
        names[EventField.tid.rawValue] = nil
        names[EventField.srcFilename.rawValue] = "pa\"th\u{1b}"
        names[EventField.srcFilenameRaw.rawValue] = "pa\"th\u{1b}_raw"
        names[EventField.commRaw.rawValue] = nil
        return EventFieldLayout(names: names, extras: [("env", "prod\n{\"x\":1}"), ("empty", ""), ("é", "\u{2028}")])
    }()

    func temporaryDirectory() throws -> String {
        try makeTemporaryDirectory("fsprobe-disk")
    }

    func segmentFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()
            .map { directory + "/" + $0 }
    }

    /// Bytes one event takes in a buffer (frame included).
    func recordSize(of event: FileEvent) throws -> Int {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let buffer = try DiskBuffer(directory: directory)
        defer { buffer.close() }
        _ = try buffer.append(contentsOf: [event])
        return buffer.queuedBytes
    }
}

private func decodeFresh(_ bytes: [UInt8]) throws -> FileEvent {
    var codec = FileEventCodec()
    return try codec.decode(bytes)
}

/// Polls `condition` until it holds or `timeout` passes (a deadline, not a
/// sleep standing in for synchronisation).
func eventually(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        if clock.now >= deadline { return condition() }
        usleep(1000)
    }
    return true
}

/// An inner sink that loses what it staged and throws on its first
/// `failingFlushes` flushes (or until `recover()`), like a producer whose
/// broker is down; what a successful flush commits is `delivered`.
private final class FlakySink: EventSink, Sendable {
    struct Down: Error {}
    let name = "flaky"
    private let state: Mutex<(staged: [FileEvent], delivered: [FileEvent], failuresLeft: Int, closed: Bool)>

    init(failingFlushes: Int) {
        state = Mutex(([], [], failingFlushes, false))
    }

    func write(_ event: FileEvent) throws { state.withLock { $0.staged.append(event) } }

    func flush() throws {
        try state.withLock { state throws(Down) in
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                state.staged.removeAll()
                throw Down()
            }
            state.delivered += state.staged
            state.staged.removeAll()
        }
    }

    func close() throws { state.withLock { $0.closed = true } }

    func recover() { state.withLock { $0.failuresLeft = 0 } }

    var delivered: [FileEvent] { state.withLock { $0.delivered } }
    var closed: Bool { state.withLock { $0.closed } }
}

/// A small deterministic generator, so a failure can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
