/// A compact binary encoding of `FileEvent`, for the disk buffer.
///
/// Every stored property is kept, exactly: decoding what was encoded gives
/// an event `==` to the original (raw path and `comm` bytes, not strings).
/// Integers are little-endian, whatever the machine, so a buffer directory
/// stays readable after a move. The payload (version 2):
///
///     u8  format version (2; 1 is still read, see below)
///     u8  event type (`EventType` raw value)
///     u8  backend (0 fentry, 1 kprobe, 2 tracepoint)
///     u8  presence bits: 1 target, 2 field layout (others must be 0)
///     i64 timestamp (ns since the epoch)
///     u32 pid, tid, uid, gid, flags, mode
///     i64 retval
///     u8  comm length (0...16, no NUL), comm bytes
///     path: u32 length, bytes, u64 inode, u32 mount id, u32 device, u32 mode, u16 resolution,
///           i32 process root offset (-1: unknown)
///     path (target, when present)
///     layout (when present, always last):
///         u64 omitted-field bits, u64 renamed-field bits (bit `layoutBit(field)` per field)
///         per renamed field, in field order: string
///         u32 extra count, per extra: string name, string value
///     (string: u32 length, UTF-8 bytes)
///
/// A layout is written as its difference from the standard schema, so a
/// typical one costs a few bytes, not every field name.
///
/// Version 1, written by earlier fsprobes, had no process root offset and
/// u32 layout words; a disk buffer left by one is still delivered.
///
/// Decoding checks every length against the bytes present, every enum
/// value, the UTF-8 of names, and that nothing is left over; garbage gives a
/// `FileEventCodecError`, never a trap.
///
/// Not thread-safe: each thread keeps its own codec. The codec remembers
/// the last layout it encoded or decoded, so a stream of events sharing one
/// layout encodes it by copying bytes and decodes it into one shared
/// instance, allocating nothing for it per event.
public struct FileEventCodec: Sendable {
    public static let formatVersion: UInt8 = 2
    /// The first format: no process root offset, 32-bit layout words.
    static let firstVersion: UInt8 = 1

    private static let hasTarget: UInt8 = 1
    private static let hasLayout: UInt8 = 2

    // Encoder cache: the last layout and its encoding.
    private var encodedLayout: EventFieldLayout?
    private var encodedLayoutBytes: [UInt8] = []
    // Decoder cache: the last decoded layout and the bytes it came from.
    private var decodedLayout: EventFieldLayout?
    private var decodedLayoutBytes: [UInt8] = []

    public init() {}

    /// Appends the encoding of `event` to `buffer` (keep one buffer and
    /// `removeAll(keepingCapacity: true)` between events to allocate nothing).
    public mutating func encode(_ event: FileEvent, into buffer: inout [UInt8]) {
        buffer.append(Self.formatVersion)
        buffer.append(UInt8(truncatingIfNeeded: event.type.rawValue))
        buffer.append(Self.code(of: event.backend))
        buffer.append((event.target != nil ? Self.hasTarget : 0) | (event.fields != nil ? Self.hasLayout : 0))
        buffer.appendLittleEndian(event.timestamp.nanosecondsSinceEpoch)
        buffer.appendLittleEndian(event.pid)
        buffer.appendLittleEndian(event.tid)
        buffer.appendLittleEndian(event.uid)
        buffer.appendLittleEndian(event.gid)
        buffer.appendLittleEndian(event.flags)
        buffer.appendLittleEndian(event.mode)
        buffer.appendLittleEndian(event.retval)
        event.comm.withBytes { bytes in
            buffer.append(UInt8(bytes.count))
            buffer.append(contentsOf: bytes)
        }
        Self.encode(event.source, into: &buffer)
        if let target = event.target { Self.encode(target, into: &buffer) }
        if let layout = event.fields {
            if encodedLayout !== layout {
                encodedLayoutBytes.removeAll(keepingCapacity: true)
                Self.encode(layout, into: &encodedLayoutBytes)
                encodedLayout = layout
            }
            buffer.append(contentsOf: encodedLayoutBytes)
        }
    }

    /// Decodes one event from exactly `bytes` (one whole payload).
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(FileEventCodecError) -> FileEvent {
        var reader = ByteReader(bytes: bytes)
        let version = try reader.read(UInt8.self, "version")
        guard version == Self.formatVersion || version == Self.firstVersion else {
            throw FileEventCodecError(reason: "unsupported format version \(version)", offset: 0)
        }
        let typeCode = try reader.read(UInt8.self, "event type")
        guard let type = EventType(rawValue: UInt32(typeCode)) else {
            throw FileEventCodecError(reason: "unknown event type \(typeCode)", offset: 1)
        }
        let backendCode = try reader.read(UInt8.self, "backend")
        guard let backend = Self.backend(code: backendCode) else {
            throw FileEventCodecError(reason: "unknown backend \(backendCode)", offset: 2)
        }
        let presence = try reader.read(UInt8.self, "presence bits")
        guard presence & ~(Self.hasTarget | Self.hasLayout) == 0 else {
            throw FileEventCodecError(reason: "unknown presence bits \(presence)", offset: 3)
        }
        let timestamp = try reader.read(Int64.self, "timestamp")
        let pid = try reader.read(UInt32.self, "pid")
        let tid = try reader.read(UInt32.self, "tid")
        let uid = try reader.read(UInt32.self, "uid")
        let gid = try reader.read(UInt32.self, "gid")
        let flags = try reader.read(UInt32.self, "flags")
        let mode = try reader.read(UInt32.self, "mode")
        let retval = try reader.read(Int64.self, "retval")
        let commLength = Int(try reader.read(UInt8.self, "comm length"))
        guard commLength <= ProcessName.capacity else {
            throw FileEventCodecError(reason: "comm length \(commLength) over \(ProcessName.capacity)", offset: reader.offset - 1)
        }
        let commBytes = try reader.bytes(commLength, "comm")
        // ProcessName stops at a NUL, so one inside would not round-trip.
        guard !commBytes.contains(0) else {
            throw FileEventCodecError(reason: "NUL inside comm", offset: reader.offset - commLength)
        }
        let current = version == Self.formatVersion
        let source = try Self.decodePath(&reader, withRoot: current)
        let target = presence & Self.hasTarget != 0 ? try Self.decodePath(&reader, withRoot: current) : nil
        var fields: EventFieldLayout?
        if presence & Self.hasLayout != 0 {
            fields = try decodeLayout(&reader, wideWords: current)
        }
        guard reader.offset == bytes.count else {
            throw FileEventCodecError(reason: "\(bytes.count - reader.offset) bytes left over", offset: reader.offset)
        }
        return FileEvent(type: type, timestamp: EventTimestamp(nanosecondsSinceEpoch: timestamp),
                         pid: pid, tid: tid, uid: uid, gid: gid, comm: ProcessName(bytes: commBytes),
                         flags: flags, mode: mode, retval: retval, source: source, target: target,
                         backend: backend, fields: fields)
    }

    /// Decodes one event from exactly `bytes`.
    public mutating func decode(_ bytes: [UInt8]) throws(FileEventCodecError) -> FileEvent {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(FileEventCodecError) in try decode(raw) } }
        return try result.get()
    }

    // MARK: Parts

    /// Stable codes, independent of `BackendKind`'s declaration order.
    private static func code(of backend: BackendKind) -> UInt8 {
        switch backend {
        case .fentry: 0
        case .kprobe: 1
        case .tracepoint: 2
        }
    }

    private static func backend(code: UInt8) -> BackendKind? {
        switch code {
        case 0: .fentry
        case 1: .kprobe
        case 2: .tracepoint
        default: nil
        }
    }

    private static func encode(_ path: EventPath, into buffer: inout [UInt8]) {
        buffer.appendLittleEndian(UInt32(truncatingIfNeeded: path.bytes.count))
        buffer.append(contentsOf: path.bytes)
        buffer.appendLittleEndian(path.inode)
        buffer.appendLittleEndian(path.mountID)
        buffer.appendLittleEndian(path.device)
        buffer.appendLittleEndian(path.mode)
        buffer.appendLittleEndian(path.resolution.rawValue)
        buffer.appendLittleEndian(Int32(truncatingIfNeeded: path.processRootOffset ?? -1))
    }

    private static func decodePath(_ reader: inout ByteReader, withRoot: Bool) throws(FileEventCodecError) -> EventPath {
        let length = Int(try reader.read(UInt32.self, "path length"))
        let bytes = Array(try reader.bytes(length, "path"))
        var path = EventPath(bytes: bytes,
                             inode: try reader.read(UInt64.self, "inode"),
                             mountID: try reader.read(UInt32.self, "mount id"),
                             device: try reader.read(UInt32.self, "device"),
                             mode: try reader.read(UInt32.self, "path mode"),
                             resolution: PathResolution(rawValue: try reader.read(UInt16.self, "resolution")))
        if withRoot {
            let offset = Int(try reader.read(Int32.self, "process root offset"))
            guard offset >= -1, offset <= length else {
                throw FileEventCodecError(reason: "process root offset \(offset) outside the path", offset: reader.offset - 4)
            }
            path.processRootOffset = offset < 0 ? nil : offset
        }
        return path
    }

    private static func encode(_ layout: EventFieldLayout, into buffer: inout [UInt8]) {
        var omitted: UInt64 = 0
        var renamed: UInt64 = 0
        for field in EventField.allCases {
            switch layout.names[field.rawValue] {
            case nil: omitted |= layoutBit(field)
            case field.name: break
            default: renamed |= layoutBit(field)
            }
        }
        buffer.appendLittleEndian(omitted)
        buffer.appendLittleEndian(renamed)
        for field in EventField.allCases where renamed & layoutBit(field) != 0 {
            buffer.appendString(layout.names[field.rawValue]!)
        }
        buffer.appendLittleEndian(UInt32(truncatingIfNeeded: layout.extras.count))
        for extra in layout.extras {
            buffer.appendString(extra.name)
            buffer.appendString(extra.value)
        }
    }

    /// A field's bit in the layout words. Fields keep the bit they were
    /// given when they were added, whatever their place in `EventField`, so
    /// a buffer written by an earlier fsprobe decodes the same: the first 22
    /// fields and the three companions came first, the path flags after.
    private static func layoutBit(_ field: EventField) -> UInt64 {
        let bit = switch field {
        case .commRaw: 22
        case .srcFilenameRaw: 23
        case .targetFilenameRaw: 24
        case .srcPathDeleted: 25
        case .srcPathDetached: 26
        case .targetPathDeleted: 27
        case .targetPathDetached: 28
        case .srcPathForeignMountNs: 29
        case .targetPathForeignMountNs: 30
        case .srcProcessPath: 31
        case .targetProcessPath: 32
        default: field.rawValue
        }
        return 1 << UInt64(bit)
    }

    /// The layout is the rest of the payload: when its bytes are those of
    /// the previous event's, the previous instance is shared.
    private mutating func decodeLayout(_ reader: inout ByteReader, wideWords: Bool) throws(FileEventCodecError) -> EventFieldLayout {
        let start = reader.offset
        let rest = UnsafeRawBufferPointer(rebasing: reader.bytes[start...])
        if let decodedLayout, rest.elementsEqual(decodedLayoutBytes) {
            reader.offset = reader.bytes.count
            return decodedLayout
        }
        let fieldCount = EventField.allCases.count
        let known: UInt64 = fieldCount >= 64 ? ~0 : (1 << UInt64(fieldCount)) - 1
        let omitted = wideWords ? try reader.read(UInt64.self, "omitted fields")
            : UInt64(try reader.read(UInt32.self, "omitted fields"))
        let renamed = wideWords ? try reader.read(UInt64.self, "renamed fields")
            : UInt64(try reader.read(UInt32.self, "renamed fields"))
        guard (omitted | renamed) & ~known == 0, omitted & renamed == 0 else {
            throw FileEventCodecError(reason: "invalid field bits", offset: start)
        }
        var names = EventFieldLayout.standard.names
        for field in EventField.allCases {
            let bit = Self.layoutBit(field)
            if omitted & bit != 0 { names[field.rawValue] = nil }
            if renamed & bit != 0 { names[field.rawValue] = try reader.string("field name") }
        }
        let extraCount = Int(try reader.read(UInt32.self, "extra count"))
        // Each extra takes at least two length words: a huge count is garbage.
        guard extraCount <= reader.remaining / 8 else {
            throw FileEventCodecError(reason: "extra count \(extraCount) exceeds the payload", offset: reader.offset - 4)
        }
        var extras: [(name: String, value: String)] = []
        extras.reserveCapacity(extraCount)
        for _ in 0..<extraCount {
            let name = try reader.string("extra name")
            extras.append((name, try reader.string("extra value")))
        }
        let layout = EventFieldLayout(names: names, extras: extras)
        decodedLayout = layout
        decodedLayoutBytes.removeAll(keepingCapacity: true)
        decodedLayoutBytes.append(contentsOf: rest)
        return layout
    }
}

/// Why bytes are not an encoded event.
public struct FileEventCodecError: Error, Hashable, CustomStringConvertible {
    public var reason: String
    /// Where in the payload the problem was found.
    public var offset: Int

    public var description: String { "invalid encoded event at byte \(offset): \(reason)" }
}

/// Bounds-checked little-endian reads from a payload.
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    var remaining: Int { bytes.count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: StaticString) throws(FileEventCodecError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw FileEventCodecError(reason: "truncated \(what)", offset: offset)
        }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    mutating func bytes(_ count: Int, _ what: StaticString) throws(FileEventCodecError) -> UnsafeRawBufferPointer {
        guard count <= remaining else {
            throw FileEventCodecError(reason: "\(what) length \(count) exceeds the \(remaining) bytes left", offset: offset)
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    mutating func string(_ what: StaticString) throws(FileEventCodecError) -> String {
        let length = Int(try read(UInt32.self, what))
        let start = offset
        guard let text = String(validating: try bytes(length, what), as: UTF8.self) else {
            throw FileEventCodecError(reason: "\(what) is not valid UTF-8", offset: start)
        }
        return text
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendString(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            appendLittleEndian(UInt32(truncatingIfNeeded: utf8.count))
            append(contentsOf: utf8)
        }
    }
}
