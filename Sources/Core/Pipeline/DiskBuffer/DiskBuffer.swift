#if canImport(Glibc)
import FSProbeCore
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A durable, bounded FIFO of events in a directory, so a sink that is down
/// for a long time (a Kafka broker) costs disk space, not events, and what
/// was not delivered survives a restart.
///
/// Files in the directory:
///
///     00000000000000000001.seg   segments, oldest first: a header, then
///     00000000000000000002.seg   records (`SegmentFormat`), each holding one
///     ...                        event (a `FileEventCodec` encoding)
///     state                      the acknowledged position (read position)
///     lock                       flock(2)ed while open: one user at a time
///     *.seg.set-aside[.N]        segments this format cannot read, kept for a person
///
/// The state file is replaced atomically (written to `state.tmp`, renamed).
///
/// Reading: `readBatch` returns events from the oldest unacknowledged one;
/// `acknowledge()` marks what the last `readBatch` returned as done,
/// persists the position and deletes segments that hold nothing newer. A
/// batch read but not acknowledged is returned again by the next
/// `readBatch`, and after a restart: delivery is at-least-once.
///
/// Recovery (on open): every record is checked. A corrupt stretch (bytes
/// changed on disk) is stepped over to the next good record, found by its
/// marker and CRC; the gap in sequence numbers counts the records lost in
/// it. A torn tail (a crash in the middle of a write) is cut off the last
/// segment. A segment whose header this format cannot read is renamed
/// `*.seg.set-aside` and reported, not deleted. Records after the
/// acknowledged position are replayed; lost ones after it are counted in
/// `recovery`. With no (valid) state file, everything on disk is replayed.
///
/// Bounds: `append` accepts events while the unacknowledged records take at
/// most `maxBytes` (`queuedBytes`); the caller decides whether to wait for
/// room (`waitForRoom()`) or to drop. Disk use may exceed `maxBytes` by the
/// acknowledged part of the oldest segment (less than `segmentBytes`) plus
/// the headers, because a segment is deleted only once entirely acknowledged.
///
/// Threads: one writer thread (`append`, `waitForRoom`, `sync`, `close`) and
/// one reader thread (`readBatch`, `acknowledge`, `stopReading`) may use it
/// at the same time; the lock inside is never held across a sync or the
/// decoding of a batch.
public final class DiskBuffer: @unchecked Sendable {
    /// When appended events are forced to the disk.
    public enum SyncPolicy: String, CaseIterable, Sendable {
        /// `sync()` fdatasyncs the current segment, a full segment is synced
        /// before the next is started, and the state file is fsynced before
        /// it replaces the previous one: after `sync()` returns, a power loss
        /// loses nothing appended.
        case everyBatch = "every_batch"
        /// Nothing is synced (the kernel writes back on its own schedule): a
        /// crash of fsprobe loses nothing, a power loss may lose the latest
        /// events or replay some already delivered.
        case never
    }

    public struct Options: Sendable, Hashable {
        /// Most bytes of unacknowledged records (framing included).
        public var maxBytes: Int
        /// Size at which a segment is closed and the next one started.
        public var segmentBytes: Int
        public var sync: SyncPolicy

        public init(maxBytes: Int = 256 << 20, segmentBytes: Int = 8 << 20, sync: SyncPolicy = .everyBatch) {
            self.maxBytes = maxBytes
            self.segmentBytes = segmentBytes
            self.sync = sync
        }
    }

    /// What opening the directory found.
    public struct Recovery: Sendable, Hashable {
        /// Events after the acknowledged position, to be read again.
        public var replayedEvents = 0
        /// Records lost after the acknowledged position: the gaps in
        /// sequence numbers around corrupt stretches, plus one for a torn
        /// tail of the last segment (a lower bound: how many records a cut
        /// file lost at its end cannot be known).
        public var discardedRecords = 0
        /// Bytes stepped over or cut off.
        public var discardedBytes = 0
        /// Segments existed but the state file was missing or invalid, so
        /// every event on disk is replayed.
        public var stateMissing = false
        /// Segment files renamed aside (path after renaming, and why).
        public var setAside: [SetAsideSegment] = []
    }

    public struct SetAsideSegment: Sendable, Hashable {
        public var path: String
        public var reason: String
    }

    public let directory: String
    public let options: Options
    public let recovery: Recovery

    static let headerSize = SegmentFormat.headerSize
    static let frameSize = SegmentFormat.frameSize
    private static let readChunk = 256 << 10

    private struct Segment {
        let id: UInt64
        /// End of the last complete record (the file's valid size).
        var end: Int
        /// Valid records in it.
        var records: Int
        /// Corrupt stretches recovery found, in order; the reader steps over them.
        var holes: [Hole] = []
    }

    /// Bytes between two good records that are not records.
    private struct Hole {
        var start: Int
        var end: Int
        /// The sequence number of the record at `end`.
        var nextSequence: UInt64
    }

    /// A record boundary: `record` valid records of `segment` lie before
    /// `offset`; `sequence` is the next record's sequence number (as far as
    /// known: after a skipped corrupt tail, the last one seen plus one).
    private struct Position {
        var segment: UInt64
        var offset: Int
        var record: Int
        var sequence: UInt64
    }

    private let lock = ConditionLock()
    private let lockFD: Int32
    // Guarded by `lock`. `segments` is never empty; the last one is the
    // writer's, and `acked.segment == segments[0].id`.
    private var segments: [Segment]
    private var acked: Position
    private var pendingRead: Position?
    /// Record bytes and records in every live segment (acknowledged or not).
    private var storedBytes: Int
    private var storedRecords: Int
    private var closed = false
    private var readingStopped = false
    private var waitingReaders = 0
    private var waitingWriters = 0
    private var runtimeDiscardedRecords = 0
    private var runtimeDiscardedBytes = 0
    private var readFD: Int32 = -1
    private var readFDSegment: UInt64 = 0
    // Reader-owned (`readBuffer` is filled under the lock, parsed outside).
    private var readBuffer: [UInt8]
    private var decoder = FileEventCodec()
    // Writer-owned.
    private var writeFD: Int32
    private var writeSegment: UInt64
    private var nextSequence: UInt64
    private var encodeBuffer: [UInt8] = []
    private var encoder = FileEventCodec()
    /// Size of the record the last `append` could not fit.
    private var neededRoom = 0

    /// Opens (creating it and its parents if needed) the buffer in
    /// `directory` and recovers what a previous run left there.
    /// - Throws: `DiskBufferError`: the directory is in use by another
    ///   `DiskBuffer` (in this or another process), or a system call failed.
    ///   A segment this format cannot read does not throw: it is set aside
    ///   (`Recovery.setAside`).
    public init(directory: String, options: Options = Options()) throws {
        precondition(options.maxBytes > 0, "DiskBuffer maxBytes must be positive")
        precondition(options.segmentBytes > Self.headerSize + Self.frameSize, "DiskBuffer segmentBytes is too small")
        self.directory = directory
        self.options = options
        try Self.makeDirectory(directory)
        lockFD = try Self.lockDirectory(directory)
        let found: Recovered
        do {
            found = try Self.recover(directory: directory, options: options)
        } catch {
            closeFile(lockFD)
            throw error
        }
        let records = found.segments.reduce(0) { $0 + $1.records }
        var recovery = found.recovery
        recovery.replayedEvents = records - found.acked.record
        self.recovery = recovery
        segments = found.segments
        acked = found.acked
        writeFD = found.writeFD
        writeSegment = found.segments[found.segments.count - 1].id
        nextSequence = found.nextSequence
        storedBytes = found.segments.reduce(0) { $0 + $1.end - Self.headerSize }
        storedRecords = records
        readBuffer = Array(repeating: 0, count: Self.readChunk)
    }

    deinit { close() }

    // MARK: Writing

    /// Appends events in order while they fit under `maxBytes`; returns how
    /// many were appended (a prefix of `events`). An empty buffer always
    /// accepts one event, however large, so a caller waiting for room
    /// cannot wait forever. Visible to the reader at once; durable after
    /// `sync()` (with `.everyBatch`).
    /// - Throws: `DiskBufferError` when closed or a write fails (e.g. the
    ///   disk is full). Events appended before the failing write, in an
    ///   earlier segment, stay appended.
    public func append(contentsOf events: some Collection<FileEvent>) throws -> Int {
        lock.lock()
        guard !closed else {
            lock.unlock()
            throw DiskBufferError.closed
        }
        // Room only grows while we encode: the reader alone frees it.
        var room = options.maxBytes - queuedBytesLocked
        let wasEmpty = storedRecords == acked.record
        var segment = segments[segments.count - 1]
        lock.unlock()

        encodeBuffer.removeAll(keepingCapacity: true)
        var encodedRecords = 0
        var accepted = 0
        neededRoom = 0
        for event in events {
            let start = encodeBuffer.count
            try appendRecord(event, sequence: nextSequence &+ UInt64(encodedRecords))
            let size = encodeBuffer.count - start
            if size > room && !(wasEmpty && accepted == 0) {
                encodeBuffer.removeSubrange(start...)
                neededRoom = size
                break
            }
            // A record never straddles two segments.
            if segment.end + encodeBuffer.count > options.segmentBytes && (segment.end > Self.headerSize || start > 0) {
                if start > 0 {
                    try commit(bytes: start, records: encodedRecords, to: &segment)
                    encodeBuffer.removeFirst(start)
                    encodedRecords = 0
                }
                try rotate(&segment)
            }
            encodedRecords += 1
            accepted += 1
            room -= size
        }
        if encodedRecords > 0 {
            try commit(bytes: encodeBuffer.count, records: encodedRecords, to: &segment)
        }
        return accepted
    }

    /// Waits until the event the last `append` could not fit would fit
    /// (or the buffer is empty). Returns false, at once, when the buffer is
    /// closed or its reader stopped (room would never come).
    public func waitForRoom() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while !closed && !readingStopped {
            let queued = queuedBytesLocked
            if queued == 0 || options.maxBytes - queued >= neededRoom { return true }
            waitingWriters += 1
            lock.waitNotFull()
            waitingWriters -= 1
        }
        return false
    }

    /// Forces appended events to the disk (`fdatasync` of the current
    /// segment) with `.everyBatch`; does nothing with `.never`.
    public func sync() throws {
        guard options.sync == .everyBatch, writeFD >= 0 else { return }
        try Self.dataSync(writeFD, path: segmentPath(writeSegment))
    }

    /// Closes the current segment and starts the next one although it is
    /// not full (tests lay out segments with it). The writer's thread.
    func startNewSegment() throws {
        lock.lock()
        var segment = segments[segments.count - 1]
        lock.unlock()
        try rotate(&segment)
    }

    /// Frame + payload at the end of `encodeBuffer`, numbered `sequence`.
    private func appendRecord(_ event: FileEvent, sequence: UInt64) throws {
        let start = SegmentFormat.openFrame(in: &encodeBuffer)
        encoder.encode(event, into: &encodeBuffer)
        let length = encodeBuffer.count - start - Self.frameSize
        guard length <= Int(UInt32.max) else {
            encodeBuffer.removeSubrange(start...)
            throw DiskBufferError.eventTooLarge(bytes: length)
        }
        SegmentFormat.sealFrame(at: start, sequence: sequence, in: &encodeBuffer)
    }

    /// Writes the first `bytes` of `encodeBuffer` at the end of `segment`
    /// and makes them visible to the reader.
    private func commit(bytes: Int, records: Int, to segment: inout Segment) throws {
        do {
            try encodeBuffer.withUnsafeBytes { raw in
                try Self.writeFully(writeFD, raw.baseAddress!, bytes, at: segment.end, path: segmentPath(segment.id))
            }
        } catch {
            // No half record may stay behind the committed end.
            _ = ftruncate(writeFD, off_t(segment.end))
            throw error
        }
        segment.end += bytes
        segment.records += records
        nextSequence &+= UInt64(records)  // numbers wrap: a corrupt header may start them anywhere
        lock.lock()
        segments[segments.count - 1] = segment
        storedBytes += bytes
        storedRecords += records
        if waitingReaders > 0 { lock.signalNotEmpty() }
        lock.unlock()
    }

    /// Closes `segment` (synced with `.everyBatch`) and starts the next.
    private func rotate(_ segment: inout Segment) throws {
        if options.sync == .everyBatch { try Self.dataSync(writeFD, path: segmentPath(segment.id)) }
        let next = Segment(id: segment.id + 1, end: Self.headerSize, records: 0)
        let fd = try Self.createSegment(SegmentFormat.Header(segment: next.id, firstSequence: nextSequence),
                                        in: directory, sync: options.sync)
        closeFile(writeFD)
        writeFD = fd
        writeSegment = next.id
        segment = next
        lock.lock()
        segments.append(next)
        lock.unlock()
    }

    // MARK: Reading

    /// Moves up to `maxCount` events, oldest unacknowledged first, into
    /// `batch` (appending). With `wait`, waits for at least one; without,
    /// may append none. Returns false, appending nothing, once the buffer is
    /// closed or `stopReading()` was called.
    ///
    /// A corrupt stretch found on open is stepped over (its records were
    /// counted then). A record that cannot be decoded is skipped and counted
    /// in `discardedRecords`; so is the rest of a segment changed on disk
    /// while open (a record that now fails its CRC).
    public func readBatch(into batch: inout [FileEvent], max maxCount: Int, wait: Bool = true) throws -> Bool {
        precondition(maxCount > 0, "readBatch needs a positive maximum")
        enum Problem { case rest, record(size: Int, sequence: UInt64), hole(Hole) }
        while true {
            lock.lock()
            var found: (segment: Segment, start: Position)?
            while found == nil {
                if closed || readingStopped {
                    lock.unlock()
                    return false
                }
                // The first segment with unread bytes; those before are exhausted.
                for (index, segment) in segments.enumerated() {
                    let start = index == 0 ? acked
                        : Position(segment: segment.id, offset: Self.headerSize, record: 0, sequence: acked.sequence)
                    if start.offset < segment.end {
                        found = (segment, start)
                        break
                    }
                }
                if found == nil {
                    if !wait {
                        lock.unlock()
                        return true
                    }
                    waitingReaders += 1
                    lock.waitNotEmpty()
                    waitingReaders -= 1
                }
            }
            let (segment, start) = found!
            var problem: Problem?
            // Records run to the segment's end or to the next corrupt stretch.
            var limit = segment.end
            for hole in segment.holes where hole.end > start.offset {
                if hole.start <= start.offset { problem = .hole(hole) } else { limit = hole.start }
                break
            }
            var position = 0, taken = 0, neededBuffer = 0
            var sequence = start.sequence
            if problem == nil {
                let available = limit - start.offset
                let count = min(available, readBuffer.count)
                do {
                    let fd = try openForReading(segment.id)
                    try readBuffer.withUnsafeMutableBytes { raw in
                        try Self.readFully(fd, raw.baseAddress!, count, at: start.offset, path: segmentPath(segment.id))
                    }
                } catch {
                    lock.unlock()
                    throw error
                }
                lock.unlock()

                readBuffer.withUnsafeBytes { raw in
                    while taken < maxCount && position < count {
                        let rest = UnsafeRawBufferPointer(rebasing: raw[position..<count])
                        switch SegmentFormat.frame(rest, remaining: available - position) {
                        case .cut(let size):
                            if taken == 0 { neededBuffer = size }
                            return
                        case .bad:
                            problem = .rest
                            return
                        case let .record(recordSequence, size):
                            do {
                                batch.append(try decoder.decode(SegmentFormat.payload(rest, size: size)))
                            } catch {
                                problem = .record(size: size, sequence: recordSequence)
                                return
                            }
                            taken += 1
                            position += size
                            sequence = recordSequence &+ 1
                        }
                    }
                }
            } else {
                lock.unlock()
            }
            if taken > 0 {
                lock.lock()
                pendingRead = Position(segment: segment.id, offset: start.offset + position,
                                       record: start.record + taken, sequence: sequence)
                lock.unlock()
                return true
            }
            if neededBuffer > 0 {
                readBuffer = Array(repeating: 0, count: neededBuffer)
                continue
            }
            // The first unread record is bad or a corrupt stretch: step over
            // it (or the rest of its segment), persistently, and read on.
            let skipTo: Position
            var skipped = 0
            switch problem {
            case let .hole(hole):
                // Counted when the buffer was opened.
                skipTo = Position(segment: segment.id, offset: hole.end, record: start.record, sequence: hole.nextSequence)
            case let .record(size, recordSequence):
                skipTo = Position(segment: segment.id, offset: start.offset + size, record: start.record + 1,
                                  sequence: recordSequence &+ 1)
                skipped = 1
            case .rest, nil:
                skipTo = Position(segment: segment.id, offset: segment.end, record: segment.records, sequence: start.sequence)
                skipped = segment.records - start.record
            }
            lock.lock()
            guard !closed else {
                lock.unlock()
                return false
            }
            runtimeDiscardedRecords += skipped
            if skipped > 0 { runtimeDiscardedBytes += skipTo.offset - start.offset }
            pendingRead = nil
            let removed = advance(to: skipTo)
            let state = acked
            lock.unlock()
            try persist(state, removing: removed)
        }
    }

    /// The events of `readBatch(into:max:wait:)` as an array (empty once
    /// closed or stopped, or when nothing is there and `wait` is false).
    public func readBatch(max maxCount: Int, wait: Bool = true) throws -> [FileEvent] {
        var batch: [FileEvent] = []
        _ = try readBatch(into: &batch, max: maxCount, wait: wait)
        return batch
    }

    /// Marks the events the last `readBatch` returned as delivered: persists
    /// the new position (state file, replaced atomically) and deletes the
    /// segments it leaves behind. Does nothing if there is no such batch or
    /// the buffer is closed (the batch is then replayed on the next open).
    public func acknowledge() throws {
        lock.lock()
        guard !closed, let end = pendingRead else {
            lock.unlock()
            return
        }
        pendingRead = nil
        let removed = advance(to: end)
        let state = acked
        lock.unlock()
        try persist(state, removing: removed)
    }

    /// Makes `readBatch` return false from now on (waking a waiting reader),
    /// without closing: `acknowledge()` still works.
    public func stopReading() {
        lock.lock()
        readingStopped = true
        lock.broadcastNotEmpty()
        lock.broadcastNotFull()
        lock.unlock()
    }

    /// Moves the acknowledged position to `end` and forgets the segments
    /// before it (and the segment it ends if the writer has moved on).
    /// Returns their numbers, for deletion outside the lock. Lock held.
    private func advance(to end: Position) -> [UInt64] {
        var removed: [UInt64] = []
        func dropFirst() {
            let first = segments.removeFirst()
            storedBytes -= first.end - Self.headerSize
            storedRecords -= first.records
            removed.append(first.id)
        }
        while segments[0].id != end.segment { dropFirst() }
        acked = end
        if acked.offset == segments[0].end && segments.count > 1 {
            dropFirst()
            acked = Position(segment: segments[0].id, offset: Self.headerSize, record: 0, sequence: end.sequence)
        }
        if readFD >= 0 && removed.contains(readFDSegment) {
            closeFile(readFD)
            readFD = -1
        }
        if waitingWriters > 0 { lock.broadcastNotFull() }
        return removed
    }

    /// The state first, then the deletions: a crash between them leaves
    /// segments that the next open deletes.
    private func persist(_ state: Position, removing removed: [UInt64]) throws {
        try Self.writeState(state, in: directory, sync: options.sync)
        for id in removed { _ = unlink(segmentPath(id)) }
    }

    /// The reader's descriptor for segment `id`. Lock held.
    private func openForReading(_ id: UInt64) throws -> Int32 {
        if readFD >= 0 && readFDSegment == id { return readFD }
        if readFD >= 0 { closeFile(readFD) }
        readFD = -1
        let path = segmentPath(id)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DiskBufferError.system(operation: "open", path: path, errno: errno) }
        readFD = fd
        readFDSegment = id
        return fd
    }

    // MARK: Closing and counters

    /// Wakes a waiting reader and writer, syncs (with `.everyBatch`) and
    /// releases the directory. What was not acknowledged stays on disk for
    /// the next open. Call from the writer's thread (or when no `append`
    /// runs); the reader's calls after this return false or do nothing.
    /// Idempotent.
    public func close() {
        lock.lock()
        if closed {
            lock.unlock()
            return
        }
        closed = true
        lock.broadcastNotEmpty()
        lock.broadcastNotFull()
        if readFD >= 0 { closeFile(readFD) }
        readFD = -1
        lock.unlock()
        if options.sync == .everyBatch { _ = dataSyncFile(writeFD) }
        closeFile(writeFD)
        writeFD = -1
        closeFile(lockFD)
    }

    /// Events appended and not yet acknowledged.
    public var queuedEvents: Int { withLock { storedRecords - acked.record } }
    /// Bytes of those events' records (what `maxBytes` bounds).
    public var queuedBytes: Int { withLock { queuedBytesLocked } }
    /// Records lost to corruption: recovery's tails plus those skipped while reading.
    public var discardedRecords: Int { withLock { recovery.discardedRecords + runtimeDiscardedRecords } }
    public var discardedBytes: Int { withLock { recovery.discardedBytes + runtimeDiscardedBytes } }
    /// Segment files in use.
    public var segmentCount: Int { withLock { segments.count } }
    public var isClosed: Bool { withLock { closed } }
    /// Threads waiting in `readBatch` / `waitForRoom` (lets tests observe
    /// blocking without sleeping).
    var waitingReaderCount: Int { withLock { waitingReaders } }
    var waitingWriterCount: Int { withLock { waitingWriters } }

    private var queuedBytesLocked: Int { storedBytes - (acked.offset - Self.headerSize) }

    private func withLock<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    func segmentPath(_ id: UInt64) -> String { Self.segmentPath(id, in: directory) }

    static func segmentPath(_ id: UInt64, in directory: String) -> String {
        let digits = String(id)
        return directory + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }
}

// MARK: - Recovery

extension DiskBuffer {
    private struct Recovered {
        var segments: [Segment]
        var acked: Position
        var writeFD: Int32
        var nextSequence: UInt64
        var recovery: Recovery
    }

    private static func recover(directory: String, options: Options) throws -> Recovered {
        var recovery = Recovery()
        _ = unlink(directory + "/state.tmp")  // an interrupted state write
        var ids = try listSegments(in: directory)
        let state = readState(in: directory)
        if let state {
            // Wholly acknowledged; their deletion was interrupted.
            for id in ids where id < state.segment { _ = unlink(segmentPath(id, in: directory)) }
            ids.removeAll { $0 < state.segment }
        } else if !ids.isEmpty {
            recovery.stateMissing = true
        }
        // Records numbered below this were delivered: losing them loses nothing.
        let ackedSequence = state?.sequence ?? 0
        func lost(_ range: Range<UInt64>) -> Int {
            range.upperBound > ackedSequence ? Int(clamping: range.upperBound - max(range.lowerBound, ackedSequence)) : 0
        }

        var segments: [Segment] = []
        var acked: Position?
        var writeFD: Int32 = -1
        var scratch: [UInt8] = []
        // The sequence number after the previous segment's last good record
        // (nil after a segment set aside: its records are kept, not lost),
        // and after the last good record of any segment.
        var expected: UInt64? = state?.sequence
        var following = ackedSequence
        for (index, id) in ids.enumerated() {
            let isLast = index == ids.count - 1
            let path = segmentPath(id, in: directory)
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw DiskBufferError.system(operation: "open", path: path, errno: errno) }
            var keep = false
            defer { if !keep { closeFile(fd) } }
            let size = try fileSize(fd, path: path)
            let header: SegmentFormat.Header
            if size < headerSize && isLast {
                // Created, but the header never reached the disk: it holds nothing.
                recovery.discardedBytes += size
                header = SegmentFormat.Header(segment: id, firstSequence: following)
                try truncate(fd, to: 0, path: path)
                try writeHeader(fd, header, path: path)
            } else {
                switch try readHeader(fd, size: size, path: path) {
                case .success(let found) where found.segment == id:
                    header = found
                case .success(let found):
                    recovery.setAside.append(try setAside(path, reason: "its header says segment \(found.segment)"))
                    expected = nil
                    continue
                case .failure(let problem):
                    recovery.setAside.append(try setAside(path, reason: problem.description))
                    expected = nil
                    continue
                }
            }
            let mark = state?.segment == id ? state?.offset : nil
            var reader = ChunkReader(fd: fd, size: size, path: path, scratch: scratch)
            let scan = try scanRecords(&reader, header: header, mark: mark, lost: lost)
            scratch = reader.scratch
            // Records cut off the end of the previous segment, or in segment
            // files that are gone.
            if let previous = expected, scan.firstSequence > previous {
                recovery.discardedRecords += lost(previous..<scan.firstSequence)
            }
            recovery.discardedRecords += scan.lost
            recovery.discardedBytes += scan.holes.reduce(0) { $0 + $1.end - $1.start } + size - scan.end
            if scan.end < size && isLast {
                // Appends go on from the last whole record. What the cut
                // lost is unknown (no later header tells): one at least.
                try truncate(fd, to: scan.end, path: path)
                let afterAck = state.map { id > $0.segment || (id == $0.segment && scan.end >= $0.offset) } ?? true
                if afterAck { recovery.discardedRecords += 1 }
            }
            segments.append(Segment(id: id, end: scan.end, records: scan.records, holes: scan.holes))
            expected = scan.nextSequence
            following = max(following, scan.nextSequence)
            if let marked = scan.marked { acked = marked }
            if isLast {
                keep = true
                writeFD = fd
            }
        }
        if writeFD < 0 {
            // No segment, or the last was set aside: a new one after them all.
            let header = SegmentFormat.Header(segment: max((ids.last ?? 0) + 1, state?.segment ?? 1), firstSequence: following)
            writeFD = try createSegment(header, in: directory, sync: options.sync)
            segments.append(Segment(id: header.segment, end: headerSize, records: 0))
        }
        let start = acked ?? Position(segment: segments[0].id, offset: headerSize, record: 0,
                                      sequence: max(ackedSequence, segments[0].holes.first?.nextSequence ?? 0))
        return Recovered(segments: segments, acked: start, writeFD: writeFD, nextSequence: following, recovery: recovery)
    }

    private struct Scan {
        /// End of the last good record.
        var end: Int
        var records: Int
        var holes: [Hole]
        /// Where the segment's numbering starts: its first record's number
        /// when that one is good (the header's is not covered by a CRC).
        var firstSequence: UInt64
        /// Sequence number after the last good record.
        var nextSequence: UInt64
        /// Records lost in holes, after the acknowledged position.
        var lost: Int
        /// The first record boundary at or after the mark.
        var marked: Position?
    }

    /// Walks a segment's records, checking marker, length and CRC, stepping
    /// over corrupt stretches to the next good record. A record whose number
    /// goes backwards is not good (bytes left from an earlier write).
    private static func scanRecords(_ reader: inout ChunkReader, header: SegmentFormat.Header, mark: Int?,
                                    lost: (Range<UInt64>) -> Int) throws -> Scan {
        var scan = Scan(end: headerSize, records: 0, holes: [], firstSequence: header.firstSequence,
                        nextSequence: header.firstSequence, lost: 0)
        var offset = headerSize
        while offset < reader.size {
            if let mark, scan.marked == nil, offset >= mark {
                scan.marked = Position(segment: header.segment, offset: offset, record: scan.records, sequence: scan.nextSequence)
            }
            let frame = try reader.frame(at: offset)
            if case let .record(sequence, _) = frame, offset == headerSize {
                scan.firstSequence = sequence
                scan.nextSequence = sequence
            }
            if case let .record(sequence, size) = frame, sequence >= scan.nextSequence {
                scan.lost += lost(scan.nextSequence..<sequence)
                scan.records += 1
                scan.nextSequence = sequence &+ 1
                offset += size
                scan.end = offset
                continue
            }
            guard let next = try resynchronize(&reader, after: offset, from: scan.nextSequence) else { break }
            scan.holes.append(Hole(start: offset, end: next.offset, nextSequence: next.sequence))
            offset = next.offset
        }
        if mark != nil && scan.marked == nil {
            scan.marked = Position(segment: header.segment, offset: scan.end, record: scan.records, sequence: scan.nextSequence)
        }
        return scan
    }

    /// The first good record after `offset` numbered `sequence` or more,
    /// and no more than the bytes stepped over could have held (so a record
    /// image inside a payload, a crafted filename say, cannot claim a
    /// number far ahead and make every later record look stale).
    private static func resynchronize(_ reader: inout ChunkReader, after offset: Int,
                                      from sequence: UInt64) throws -> (offset: Int, sequence: UInt64)? {
        var from = offset + 1
        while reader.size - from >= frameSize {
            let (candidate, searched) = try reader.withBytes(at: from, atLeast: frameSize) { raw in
                (SegmentFormat.nextMarker(in: raw, from: 0), raw.count)
            }
            guard let candidate else {
                // The marker may straddle the end of what was searched.
                from += max(1, searched - 3)
                continue
            }
            let at = from + candidate
            if case let .record(found, _) = try reader.frame(at: at), found >= sequence,
               found - sequence <= UInt64((at - offset) / (frameSize + 1)) {
                return (at, found)
            }
            from += candidate + 1
        }
        return nil
    }

    /// Reads a file through a buffer of `readChunk` or more bytes.
    private struct ChunkReader {
        let fd: Int32
        let size: Int
        let path: String
        var scratch: [UInt8]
        private var loadedStart = 0
        private var loadedCount = 0

        init(fd: Int32, size: Int, path: String, scratch: [UInt8]) {
            self.fd = fd
            self.size = size
            self.path = path
            self.scratch = scratch
        }

        /// Calls `body` with the file's bytes from `offset` on: at least
        /// `atLeast` of them (fewer only at the end of the file).
        mutating func withBytes<T>(at offset: Int, atLeast: Int, _ body: (UnsafeRawBufferPointer) -> T) throws -> T {
            let wanted = min(atLeast, size - offset)
            if offset < loadedStart || offset + wanted > loadedStart + loadedCount {
                let length = min(max(wanted, readChunk), size - offset)
                if scratch.count < length { scratch = Array(repeating: 0, count: length) }
                try scratch.withUnsafeMutableBytes { try readFully(fd, $0.baseAddress!, length, at: offset, path: path) }
                loadedStart = offset
                loadedCount = length
            }
            let start = offset - loadedStart
            return scratch.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<loadedCount])) }
        }

        /// The frame at `offset`, reading the whole record when it could be one.
        mutating func frame(at offset: Int) throws -> SegmentFormat.Frame {
            let remaining = size - offset
            let first = try withBytes(at: offset, atLeast: frameSize) { SegmentFormat.frame($0, remaining: remaining) }
            guard case .cut(let needed) = first else { return first }
            return try withBytes(at: offset, atLeast: needed) { SegmentFormat.frame($0, remaining: remaining) }
        }
    }

    private static func listSegments(in directory: String) throws -> [UInt64] {
        guard let dir = opendir(directory) else {
            throw DiskBufferError.system(operation: "opendir", path: directory, errno: errno)
        }
        defer { closedir(dir) }
        var ids: [UInt64] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.count == 24, name.hasSuffix(".seg"), let id = UInt64(name.prefix(20)) else { continue }
            ids.append(id)
        }
        return ids.sorted()
    }

    private static func readHeader(_ fd: Int32, size: Int, path: String) throws -> Result<SegmentFormat.Header, SegmentFormat.HeaderProblem> {
        var header = [UInt8](repeating: 0, count: min(size, headerSize))
        try header.withUnsafeMutableBytes { try readFully(fd, $0.baseAddress!, $0.count, at: 0, path: path) }
        return header.withUnsafeBytes { SegmentFormat.parseHeader($0) }
    }

    /// Renames a segment this format cannot read out of the way, to the
    /// first free `*.set-aside[.N]` name: it may hold someone's events, so
    /// it is kept for a person to look at, not deleted.
    private static func setAside(_ path: String, reason: String) throws -> SetAsideSegment {
        var target = path + ".set-aside"
        var attempt = 0
        var status = stat()
        while lstat(target, &status) == 0 {
            attempt += 1
            target = path + ".set-aside.\(attempt)"
        }
        guard rename(path, target) == 0 else { throw DiskBufferError.system(operation: "rename", path: path, errno: errno) }
        return SetAsideSegment(path: target, reason: reason)
    }

    private static func writeHeader(_ fd: Int32, _ header: SegmentFormat.Header, path: String) throws {
        try SegmentFormat.header(header).withUnsafeBytes { try writeFully(fd, $0.baseAddress!, headerSize, at: 0, path: path) }
    }

    private static func createSegment(_ header: SegmentFormat.Header, in directory: String, sync: SyncPolicy) throws -> Int32 {
        let path = segmentPath(header.segment, in: directory)
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DiskBufferError.system(operation: "create", path: path, errno: errno) }
        do {
            try writeHeader(fd, header, path: path)
            if sync == .everyBatch { try syncDirectory(directory) }
        } catch {
            closeFile(fd)
            throw error
        }
        return fd
    }

    // MARK: State file

    private static func readState(in directory: String) -> SegmentFormat.State? {
        let fd = open(directory + "/state", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeFile(fd) }
        var bytes = [UInt8](repeating: 0, count: SegmentFormat.stateSize + 1)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard count >= 0 else { return nil }
        return bytes.withUnsafeBytes { SegmentFormat.parseState(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    private static func writeState(_ position: Position, in directory: String, sync: SyncPolicy) throws {
        let bytes = SegmentFormat.state(SegmentFormat.State(segment: position.segment, offset: position.offset,
                                                            sequence: position.sequence))
        let temporary = directory + "/state.tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DiskBufferError.system(operation: "create", path: temporary, errno: errno) }
        do {
            try bytes.withUnsafeBytes { try writeFully(fd, $0.baseAddress!, $0.count, at: 0, path: temporary) }
            // Without this a crash could leave an empty state after the rename.
            if sync == .everyBatch && fsync(fd) != 0 {
                throw DiskBufferError.system(operation: "fsync", path: temporary, errno: errno)
            }
        } catch {
            closeFile(fd)
            throw error
        }
        closeFile(fd)
        guard rename(temporary, directory + "/state") == 0 else {
            throw DiskBufferError.system(operation: "rename", path: temporary, errno: errno)
        }
    }

    // MARK: System calls

    private static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw DiskBufferError.system(operation: "mkdir", path: prefix, errno: errno)
            }
            prefix += "/"
        }
    }

    private static func lockDirectory(_ directory: String) throws -> Int32 {
        let path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DiskBufferError.system(operation: "open", path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            closeFile(fd)
            if code == EWOULDBLOCK { throw DiskBufferError.inUse(directory: directory) }
            throw DiskBufferError.system(operation: "flock", path: path, errno: code)
        }
        return fd
    }

    private static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DiskBufferError.system(operation: "open", path: directory, errno: errno) }
        defer { closeFile(fd) }
        guard fsync(fd) == 0 else { throw DiskBufferError.system(operation: "fsync", path: directory, errno: errno) }
    }

    private static func dataSync(_ fd: Int32, path: String) throws {
        guard dataSyncFile(fd) == 0 else { throw DiskBufferError.system(operation: "fdatasync", path: path, errno: errno) }
    }

    private static func fileSize(_ fd: Int32, path: String) throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DiskBufferError.system(operation: "fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    private static func truncate(_ fd: Int32, to size: Int, path: String) throws {
        guard ftruncate(fd, off_t(size)) == 0 else {
            throw DiskBufferError.system(operation: "ftruncate", path: path, errno: errno)
        }
    }

    fileprivate static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, at offset: Int, path: String) throws {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                // 0: the file is shorter than its committed size (changed behind our back).
                throw DiskBufferError.system(operation: "read", path: path, errno: n < 0 ? errno : EIO)
            }
            done += n
        }
    }

    fileprivate static func writeFully(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, at offset: Int, path: String) throws {
        var done = 0
        while done < count {
            let n = pwrite(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw DiskBufferError.system(operation: "write", path: path, errno: n < 0 ? errno : EIO) }
            done += n
        }
    }
}

/// Why the disk buffer could not be opened, read or written.
public enum DiskBufferError: Error, Equatable, Sendable, CustomStringConvertible {
    case system(operation: String, path: String, errno: Int32)
    /// Another open `DiskBuffer` holds the directory.
    case inUse(directory: String)
    case closed
    case eventTooLarge(bytes: Int)

    public var description: String {
        switch self {
        case let .system(operation, path, code):
            "disk buffer: \(operation) '\(path.lineSafe)' failed: \(String(cString: strerror(code))) (\(ErrnoName.name(Int64(code))))"
        case let .inUse(directory):
            "disk buffer: '\(directory)' is in use by another disk buffer"
        case .closed:
            "disk buffer: closed"
        case let .eventTooLarge(bytes):
            "disk buffer: an event encodes to \(bytes) bytes, over the 4 GiB record limit"
        }
    }
}

// The class has a `close()`, which would shadow the system call inside it.
private func closeFile(_ fd: Int32) {
    _ = close(fd)
}

private func dataSyncFile(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    fdatasync(fd)
    #else
    fsync(fd)
    #endif
}
