/// The bytes of a disk buffer's files (integers little-endian). Files on
/// disk are untrusted after a crash or a bad disk: every parse here checks
/// bounds before reading and never traps on any input.
///
/// Segment file (version 2):
///
///     header  "FSPQ"  u32 version  u64 segment number  u64 first sequence
///     record  "FSPR"  u32 CRC32C   u32 length  u64 sequence  payload
///     record  ...
///
/// Every record carries a marker and a sequence number, one more than the
/// record before it (across segments: a segment's header gives the first).
/// After a corrupt stretch, a reader finds the next good record by its
/// marker and CRC, and the jump in sequence numbers says exactly how many
/// records were lost. The CRC covers length, sequence and payload.
///
/// Version 1 (no marker, no sequence) is not read: such a segment is set
/// aside, not replayed.
import FSProbeCore
enum SegmentFormat {
    static let version: UInt32 = 2
    static let headerSize = 24
    static let frameSize = 20
    static let segmentMagic: UInt32 = 0x5150_5346  // "FSPQ"
    static let recordMarker: UInt32 = 0x5250_5346  // "FSPR"

    struct Header: Equatable {
        var segment: UInt64
        var firstSequence: UInt64
    }

    static func header(_ header: Header) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerSize)
        bytes.appendLittleEndian(segmentMagic)
        bytes.appendLittleEndian(version)
        bytes.appendLittleEndian(header.segment)
        bytes.appendLittleEndian(header.firstSequence)
        return bytes
    }

    /// The header at the start of `raw`, or why it is not one this format reads.
    static func parseHeader(_ raw: UnsafeRawBufferPointer) -> Result<Header, HeaderProblem> {
        guard raw.count >= headerSize else { return .failure(.short(raw.count)) }
        guard raw.littleEndian(UInt32.self, at: 0) == segmentMagic else { return .failure(.notASegment) }
        let found = raw.littleEndian(UInt32.self, at: 4)
        guard found == version else { return .failure(.version(found)) }
        return .success(Header(segment: raw.littleEndian(UInt64.self, at: 8), firstSequence: raw.littleEndian(UInt64.self, at: 16)))
    }

    enum HeaderProblem: Error, Equatable, CustomStringConvertible {
        case short(Int)
        case notASegment
        case version(UInt32)

        var description: String {
            switch self {
            case .short(let size): "header cut short (\(size) of \(SegmentFormat.headerSize) bytes)"
            case .notASegment: "not a disk buffer segment"
            case .version(let found): "segment format version \(found), this fsprobe reads version \(SegmentFormat.version)"
            }
        }
    }

    // MARK: Records

    /// Appends an empty frame to `buffer`, for `sealFrame` to fill once the
    /// payload follows it; returns where it starts.
    static func openFrame(in buffer: inout [UInt8]) -> Int {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: frameSize))
        return start
    }

    /// Fills the frame at `start` for the payload that follows it to the end
    /// of `buffer`. The payload must be shorter than 4 GiB.
    static func sealFrame(at start: Int, sequence: UInt64, in buffer: inout [UInt8]) {
        let length = UInt32(buffer.count - start - frameSize)
        buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: recordMarker.littleEndian, toByteOffset: start, as: UInt32.self)
            raw.storeBytes(of: length.littleEndian, toByteOffset: start + 8, as: UInt32.self)
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: start + 12, as: UInt64.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 8)...]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// What lies at the start of `raw`, `remaining` bytes before the end of
    /// the valid data (`raw` may hold fewer: a chunk of the file).
    enum Frame: Equatable {
        /// A whole record that passes its CRC: `size` bytes, frame included.
        case record(sequence: UInt64, size: Int)
        /// Possibly a record, but `raw` ends before its `size` bytes do.
        case cut(size: Int)
        /// Not a record: a wrong marker, a length past the end, a failed CRC.
        case bad
    }

    static func frame(_ raw: UnsafeRawBufferPointer, remaining: Int) -> Frame {
        guard remaining >= frameSize else { return .bad }
        guard raw.count >= frameSize else { return .cut(size: frameSize) }
        guard raw.littleEndian(UInt32.self, at: 0) == recordMarker else { return .bad }
        let length = Int(raw.littleEndian(UInt32.self, at: 8))
        let size = frameSize + length
        guard length > 0, size <= remaining else { return .bad }
        guard raw.count >= size else { return .cut(size: size) }
        let stored = raw.littleEndian(UInt32.self, at: 4)
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[8..<size])) == stored else { return .bad }
        return .record(sequence: raw.littleEndian(UInt64.self, at: 12), size: size)
    }

    /// The payload of a record `frame` accepted.
    static func payload(_ raw: UnsafeRawBufferPointer, size: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: raw[frameSize..<size])
    }

    /// Where each record of a segment's bytes starts, up to the first
    /// one that is not good (tests and tools that alter segments use it).
    static func recordOffsets(_ segment: UnsafeRawBufferPointer) -> [Int] {
        var offsets: [Int] = []
        var offset = headerSize
        while offset < segment.count,
              case .record(_, let size) = frame(UnsafeRawBufferPointer(rebasing: segment[offset...]), remaining: segment.count - offset) {
            offsets.append(offset)
            offset += size
        }
        return offsets
    }

    /// The offset of the first record marker in `raw` at or after `from`.
    /// (A payload may hold the marker's bytes, a filename for instance; the
    /// CRC of what follows tells a real record from those.)
    static func nextMarker(in raw: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from >= 0, raw.count >= 4 else { return nil }
        var offset = from
        while offset <= raw.count - 4 {
            if raw[offset] == 0x46, raw.littleEndian(UInt32.self, at: offset) == recordMarker { return offset }
            offset += 1
        }
        return nil
    }

    // MARK: State file

    /// The acknowledged position: "FSPS", u32 version, u64 segment, u64
    /// offset, u64 next sequence, u32 CRC32C of the bytes before.
    struct State: Equatable {
        var segment: UInt64
        var offset: Int
        /// Sequence number of the first record not acknowledged.
        var sequence: UInt64
    }

    static let stateMagic: UInt32 = 0x5350_5346  // "FSPS"
    static let stateSize = 36

    static func state(_ state: State) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(stateSize)
        bytes.appendLittleEndian(stateMagic)
        bytes.appendLittleEndian(version)
        bytes.appendLittleEndian(state.segment)
        bytes.appendLittleEndian(UInt64(state.offset))
        bytes.appendLittleEndian(state.sequence)
        bytes.appendLittleEndian(bytes.withUnsafeBytes { CRC32C.checksum($0) })
        return bytes
    }

    /// The state in `raw`, or nil when it is not a valid one (whatever its
    /// version): then every record on disk is replayed.
    static func parseState(_ raw: UnsafeRawBufferPointer) -> State? {
        guard raw.count == stateSize,
              raw.littleEndian(UInt32.self, at: 0) == stateMagic,
              raw.littleEndian(UInt32.self, at: 4) == version,
              raw.littleEndian(UInt32.self, at: 32) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<32]))
        else { return nil }
        let offset = raw.littleEndian(UInt64.self, at: 16)
        guard offset >= UInt64(headerSize), offset <= UInt64(Int.max) else { return nil }
        return State(segment: raw.littleEndian(UInt64.self, at: 8), offset: Int(offset),
                     sequence: raw.littleEndian(UInt64.self, at: 24))
    }
}

extension UnsafeRawBufferPointer {
    /// The integer at `offset`; the caller has checked the bounds.
    fileprivate func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension [UInt8] {
    fileprivate mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
