#if canImport(Glibc)
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
///     00000000000000000001.seg   segments, oldest first, each a 16-byte header
///     00000000000000000002.seg   ("FSPQ", u32 version 1, u64 segment number)
///     ...                        then records: u32 CRC32C, u32 length, payload
///     state                      the acknowledged position (read position)
///     lock                       flock(2)ed while open: one user at a time
///
/// A record's CRC covers its length word and its payload (a
/// `FileEventCodec` encoding); integers are little-endian. The state file is
/// "FSPS", u32 version 1, u64 segment, u64 offset, u32 CRC32C of the 24
/// bytes before; it is replaced atomically (written to `state.tmp`, renamed).
///
/// Reading: `readBatch` returns events from the oldest unacknowledged one;
/// `acknowledge()` marks what the last `readBatch` returned as done,
/// persists the position and deletes segments that hold nothing newer. A
/// batch read but not acknowledged is returned again by the next
/// `readBatch`, and after a restart: delivery is at-least-once.
///
/// Recovery (on open): every record after the acknowledged position is
/// checked; the first torn or corrupt one (a crash in the middle of a
/// write) and whatever follows it in that segment are truncated away and
/// counted (`recovery`); the rest is replayed. With no (valid) state file,
/// everything still on disk is replayed.
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
        /// Torn or corrupt tails truncated away (each may hold one or more records).
        public var discardedRecords = 0
        public var discardedBytes = 0
        /// Segments existed but the state file was missing or invalid, so
        /// every event on disk is replayed.
        public var stateMissing = false
    }

    public let directory: String
    public let options: Options
    public let recovery: Recovery

    static let headerSize = 16
    static let frameSize = 8
    private static let segmentMagic: UInt32 = 0x5150_5346  // "FSPQ" little-endian
    private static let stateMagic: UInt32 = 0x5350_5346  // "FSPS" little-endian
    private static let formatVersion: UInt32 = 1
    private static let stateSize = 28
    private static let readChunk = 256 << 10

    private struct Segment {
        let id: UInt64
        /// End of the last complete record (the file's valid size).
        var end: Int
        var records: Int
    }

    /// A record boundary: `record` records of `segment` lie before `offset`.
    private struct Position {
        var segment: UInt64
        var offset: Int
        var record: Int
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
    private var encodeBuffer: [UInt8] = []
    private var encoder = FileEventCodec()
    /// Size of the record the last `append` could not fit.
    private var neededRoom = 0

    /// Opens (creating it and its parents if needed) the buffer in
    /// `directory` and recovers what a previous run left there.
    /// - Throws: `DiskBufferError`: the directory is in use by another
    ///   `DiskBuffer` (in this or another process), holds a `.seg` file that is
    ///   not a segment of this format, or a system call failed.
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
            try appendRecord(event)
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

    /// Frame (CRC, length) + payload at the end of `encodeBuffer`.
    private func appendRecord(_ event: FileEvent) throws {
        let start = encodeBuffer.count
        encodeBuffer.append(contentsOf: repeatElement(0, count: Self.frameSize))
        encoder.encode(event, into: &encodeBuffer)
        let length = encodeBuffer.count - start - Self.frameSize
        guard length <= Int(UInt32.max) else {
            encodeBuffer.removeSubrange(start...)
            throw DiskBufferError.eventTooLarge(bytes: length)
        }
        encodeBuffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(length).littleEndian, toByteOffset: start + 4, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 4)...]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: start, as: UInt32.self)
        }
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
        let fd = try Self.createSegment(next.id, in: directory, sync: options.sync)
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
    /// A record that fails its CRC or cannot be decoded is skipped and
    /// counted in `discardedRecords` (with a CRC failure, the rest of its
    /// segment, whose framing can no longer be trusted).
    public func readBatch(into batch: inout [FileEvent], max maxCount: Int, wait: Bool = true) throws -> Bool {
        precondition(maxCount > 0, "readBatch needs a positive maximum")
        enum Problem { case rest, record(size: Int) }
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
                    let start = index == 0 ? acked : Position(segment: segment.id, offset: Self.headerSize, record: 0)
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
            let available = segment.end - start.offset
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

            var position = 0, taken = 0, neededBuffer = 0
            var problem: Problem?
            readBuffer.withUnsafeBytes { raw in
                while taken < maxCount && position < count {
                    guard available - position >= Self.frameSize else {
                        problem = .rest
                        break
                    }
                    if count - position < Self.frameSize { break }  // cut by the chunk
                    let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt32.self))
                    let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self)))
                    let size = Self.frameSize + length
                    guard length > 0, size <= available - position else {
                        problem = .rest
                        break
                    }
                    guard size <= count - position else {
                        if taken == 0 { neededBuffer = size }
                        break
                    }
                    guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(position + 4)..<(position + size)])) == stored else {
                        problem = .rest
                        break
                    }
                    do {
                        batch.append(try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[(position + Self.frameSize)..<(position + size)])))
                    } catch {
                        problem = .record(size: size)
                        break
                    }
                    taken += 1
                    position += size
                }
            }
            if taken > 0 {
                lock.lock()
                pendingRead = Position(segment: segment.id, offset: start.offset + position, record: start.record + taken)
                lock.unlock()
                return true
            }
            if neededBuffer > 0 {
                readBuffer = Array(repeating: 0, count: neededBuffer)
                continue
            }
            // The first unread record is bad: skip it (or the rest of its
            // segment), persistently, and read on.
            let skipTo: Position
            let skipped: Int
            switch problem {
            case .record(let size):
                skipTo = Position(segment: segment.id, offset: start.offset + size, record: start.record + 1)
                skipped = 1
            case .rest, nil:
                skipTo = Position(segment: segment.id, offset: segment.end, record: segment.records)
                skipped = segment.records - start.record
            }
            lock.lock()
            guard !closed else {
                lock.unlock()
                return false
            }
            runtimeDiscardedRecords += skipped
            runtimeDiscardedBytes += skipTo.offset - start.offset
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
            acked = Position(segment: segments[0].id, offset: Self.headerSize, record: 0)
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

        var segments: [Segment] = []
        var acked: Position?
        var writeFD: Int32 = -1
        var scratch: [UInt8] = []
        for (index, id) in ids.enumerated() {
            let isLast = index == ids.count - 1
            let path = segmentPath(id, in: directory)
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw DiskBufferError.system(operation: "open", path: path, errno: errno) }
            var keep = false
            defer { if !keep { closeFile(fd) } }
            let size = try fileSize(fd, path: path)
            if size < headerSize {
                // Created, but the header never reached the disk: it holds nothing.
                recovery.discardedBytes += size
                guard isLast else {
                    _ = unlink(path)
                    continue
                }
                try truncate(fd, to: 0, path: path)
                try writeHeader(fd, id: id, path: path)
                segments.append(Segment(id: id, end: headerSize, records: 0))
            } else {
                try checkHeader(fd, id: id, path: path)
                let mark = state?.segment == id ? state?.offset : nil
                let scan = try scanRecords(fd, size: size, path: path, mark: mark, scratch: &scratch)
                if scan.end < size {
                    try truncate(fd, to: scan.end, path: path)
                    recovery.discardedRecords += 1
                    recovery.discardedBytes += size - scan.end
                }
                segments.append(Segment(id: id, end: scan.end, records: scan.records))
                if let marked = scan.marked { acked = Position(segment: id, offset: marked.offset, record: marked.record) }
            }
            if isLast {
                keep = true
                writeFD = fd
            }
        }
        if segments.isEmpty {
            let id = max(state?.segment ?? 1, 1)
            writeFD = try createSegment(id, in: directory, sync: options.sync)
            segments.append(Segment(id: id, end: headerSize, records: 0))
        }
        let start = acked ?? Position(segment: segments[0].id, offset: headerSize, record: 0)
        return Recovered(segments: segments, acked: start, writeFD: writeFD, recovery: recovery)
    }

    /// Walks the records of a segment, checking lengths and CRCs. Returns
    /// the end of the last valid one, how many there are, and the first
    /// record boundary at or after `mark` (the acknowledged offset).
    private static func scanRecords(_ fd: Int32, size: Int, path: String, mark: Int?,
                                    scratch: inout [UInt8]) throws -> (end: Int, records: Int, marked: (offset: Int, record: Int)?) {
        var offset = headerSize, records = 0
        var marked: (offset: Int, record: Int)?
        var loadedStart = 0, loadedCount = 0
        // Makes file bytes [start, start + count) available in `scratch`.
        func load(_ start: Int, _ count: Int) throws -> Int {
            if start >= loadedStart && start + count <= loadedStart + loadedCount { return start - loadedStart }
            let length = min(max(count, readChunk), size - start)
            if scratch.count < length { scratch = Array(repeating: 0, count: length) }
            try scratch.withUnsafeMutableBytes { try readFully(fd, $0.baseAddress!, length, at: start, path: path) }
            loadedStart = start
            loadedCount = length
            return 0
        }
        while offset < size {
            if let mark, marked == nil, offset >= mark { marked = (offset, records) }
            guard size - offset >= frameSize else { break }
            var at = try load(offset, frameSize)
            let (stored, length) = scratch.withUnsafeBytes { raw in
                (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)),
                 Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self))))
            }
            let recordSize = frameSize + length
            guard length > 0, recordSize <= size - offset else { break }
            at = try load(offset, recordSize)
            let crc = scratch.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(at + 4)..<(at + recordSize)])) }
            guard crc == stored else { break }
            offset += recordSize
            records += 1
        }
        if mark != nil && marked == nil { marked = (offset, records) }
        return (offset, records, marked)
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

    private static func checkHeader(_ fd: Int32, id: UInt64, path: String) throws {
        var header = [UInt8](repeating: 0, count: headerSize)
        try header.withUnsafeMutableBytes { try readFully(fd, $0.baseAddress!, headerSize, at: 0, path: path) }
        let (magic, version, stored) = header.withUnsafeBytes { raw in
            (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
             UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
             UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        // Refused rather than repaired: it may be someone else's data.
        guard magic == segmentMagic else { throw DiskBufferError.foreignFile(path: path, reason: "not a disk buffer segment") }
        guard version == formatVersion else {
            throw DiskBufferError.foreignFile(path: path, reason: "segment format version \(version), expected \(formatVersion)")
        }
        guard stored == id else { throw DiskBufferError.foreignFile(path: path, reason: "header says segment \(stored)") }
    }

    private static func writeHeader(_ fd: Int32, id: UInt64, path: String) throws {
        var header: [UInt8] = []
        header.reserveCapacity(headerSize)
        withUnsafeBytes(of: segmentMagic.littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: formatVersion.littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: id.littleEndian) { header.append(contentsOf: $0) }
        try header.withUnsafeBytes { try writeFully(fd, $0.baseAddress!, headerSize, at: 0, path: path) }
    }

    private static func createSegment(_ id: UInt64, in directory: String, sync: SyncPolicy) throws -> Int32 {
        let path = segmentPath(id, in: directory)
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DiskBufferError.system(operation: "create", path: path, errno: errno) }
        do {
            try writeHeader(fd, id: id, path: path)
            if sync == .everyBatch { try syncDirectory(directory) }
        } catch {
            closeFile(fd)
            throw error
        }
        return fd
    }

    // MARK: State file

    private static func readState(in directory: String) -> (segment: UInt64, offset: Int)? {
        let fd = open(directory + "/state", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeFile(fd) }
        var bytes = [UInt8](repeating: 0, count: stateSize + 1)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard count == stateSize else { return nil }
        return bytes.withUnsafeBytes { raw -> (UInt64, Int)? in
            let magic = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let version = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let segment = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            let offset = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
            guard magic == stateMagic, version == formatVersion,
                  stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<24])),
                  offset >= UInt64(headerSize), offset <= UInt64(Int.max) else { return nil }
            return (segment, Int(offset))
        }
    }

    private static func writeState(_ state: Position, in directory: String, sync: SyncPolicy) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(stateSize)
        withUnsafeBytes(of: stateMagic.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: formatVersion.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: state.segment.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(state.offset).littleEndian) { bytes.append(contentsOf: $0) }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }

        let temporary = directory + "/state.tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DiskBufferError.system(operation: "create", path: temporary, errno: errno) }
        do {
            try bytes.withUnsafeBytes { try writeFully(fd, $0.baseAddress!, stateSize, at: 0, path: temporary) }
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
    /// A `.seg` file that this format cannot read (left alone).
    case foreignFile(path: String, reason: String)
    case closed
    case eventTooLarge(bytes: Int)

    public var description: String {
        switch self {
        case let .system(operation, path, code):
            "disk buffer: \(operation) '\(path.lineSafe)' failed: \(String(cString: strerror(code))) (\(ErrnoName.name(Int64(code))))"
        case let .inUse(directory):
            "disk buffer: '\(directory)' is in use by another disk buffer"
        case let .foreignFile(path, reason):
            "disk buffer: '\(path.lineSafe)': \(reason)"
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
