/// A compact binary encoding of `FileEvent`, for the disk buffer.
///
/// Every stored property is kept, exactly: decoding what was encoded gives
/// an event `==` to the original (raw path and `comm` bytes, not strings).
/// Integers are little-endian, whatever the machine, so a buffer directory
/// stays readable after a move. The payload (version 5):
///
///     u8  format version (5; 1 to 4 are still read, see below)
///     u8  event type (`EventType` raw value)
///     u8  backend (0 fentry, 1 kprobe, 2 tracepoint)
///     u8  presence bits: 1 target, 2 field layout (others must be 0)
///     i64 timestamp (ns since the epoch)
///     u32 pid, tid, uid, gid, flags, mode
///     i64 retval
///     u8  comm length (0...16, no NUL), comm bytes
///     path: u32 length, bytes, u64 inode, u32 mount id, u32 device, u32 mode, u16 resolution,
///           i32 process root offset (-1: unknown), u32 link count,
///           u8 mount present, [u32 mount id, u32 device, bytes mount point, string fstype]
///     path (target, when present)
///     process: u32 ppid, i64 start time, u32 loginuid, u32 sessionid (0xffffffff: none),
///              u32 euid, egid, u64 cgroup id, u32 mnt ns, pid ns, user ns,
///              u8 executable present, [path],
///              u8 cgroup present, [u64 id, bytes path, string container id, u8 runtime (0 none)],
///              4 × (u8 present, [string]): user, group, effective user, effective group names
///     attributes: u8 present, [u8 member bits (1 mode, 2 uid, 4 gid, 8 size, 16 atime, 32 atime
///                 now, 64 mtime, 128 mtime now), then the present ones: u32 mode, u32 uid,
///                 u32 gid, i64 size, i64 atime, i64 mtime (ns since the epoch),
///                 u8 extended attribute (0 none, 1 set, 2 removed), [bytes name]]
///     u8 bytes written present, [i64 bytes written]
///     u8 origin present, [u64 stream, u64 sequence, string host]
///     layout (when present, always last):
///         u8 word count (2), that many u64 omitted-field words, as many renamed-field
///         words (bit `layoutBit(field)` per field, bit 0 the lowest of the first word)
///         per renamed field, in field order: string
///         u32 extra count, per extra: string name, string value
///     (string: u32 length, UTF-8 bytes; bytes: u32 length, raw bytes)
///
/// A layout is written as its difference from the standard schema, so a
/// typical one costs a few bytes, not every field name.
///
/// Version 1, written by earlier fsprobes, had no process root offset and
/// u32 layout words; version 2 had no link count, mount or process context;
/// version 3 no extended attribute; version 4 no origin (its events have
/// no id). A disk buffer left by any of them is still delivered.
///
/// Decoding checks every length against the bytes present, every enum
/// value, the UTF-8 of names, and that nothing is left over; garbage gives a
/// `FileEventCodecError`, never a trap.
///
/// Not thread-safe: each thread keeps its own codec. The codec remembers
/// the last layout it encoded or decoded, so a stream of events sharing one
/// layout encodes it by copying bytes and decodes it into one shared
/// instance, allocating nothing for it per event.
import FSProbeCore
public struct FileEventCodec: Sendable {
    public static let formatVersion: UInt8 = 5
    /// The first format: no process root offset, 32-bit layout words.
    static let firstVersion: UInt8 = 1
    /// The second: no link count, mount or process context.
    static let secondVersion: UInt8 = 2
    /// The third: no extended attribute.
    static let thirdVersion: UInt8 = 3
    /// The fourth: no origin.
    static let fourthVersion: UInt8 = 4

    private static let hasTarget: UInt8 = 1
    private static let hasLayout: UInt8 = 2

    // Encoder cache: the last layout and its encoding.
    private var encodedLayout: EventFieldLayout?
    private var encodedLayoutBytes: [UInt8] = []
    // Decoder cache: the last decoded layout and the bytes it came from.
    private var decodedLayout: EventFieldLayout?
    private var decodedLayoutBytes: [UInt8] = []
    // Decoder cache: the last decoded origin, shared by the events of its stream.
    private var decodedOrigin: EventOrigin?

    public init() {}

    /// Appends the encoding of `event` to `buffer` (keep one buffer and
    /// `removeAll(keepingCapacity: true)` between events to allocate nothing).
    public mutating func encode(_ event: FileEvent, into buffer: inout [UInt8]) {
        buffer.append(Self.formatVersion)
        buffer.append(UInt8(truncatingIfNeeded: event.type.rawValue))
        buffer.append(Self.code(of: event.backend))
        buffer.append((event.target.isPresent ? Self.hasTarget : 0) | (event.fields.isPresent ? Self.hasLayout : 0))
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
        Self.encode(event.process, into: &buffer)
        Self.encode(event.attributes, into: &buffer)
        buffer.append(event.bytesWritten != nil ? 1 : 0)
        if let bytes = event.bytesWritten { buffer.appendLittleEndian(bytes) }
        buffer.append(event.origin.isPresent ? 1 : 0)
        if let origin = event.origin {
            buffer.appendLittleEndian(origin.stream)
            buffer.appendLittleEndian(event.sequence)
            buffer.appendString(origin.host)
        }
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
        guard (Self.firstVersion...Self.formatVersion).contains(version) else {
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
        let parts = PathParts(withRoot: version >= Self.secondVersion, withMount: version >= Self.thirdVersion)
        let source = try Self.decodePath(&reader, parts)
        let target = presence & Self.hasTarget != 0 ? try Self.decodePath(&reader, parts) : nil
        let process = version >= Self.thirdVersion ? try Self.decodeProcess(&reader) : ProcessContext()
        var attributes: AttributeChange?, bytesWritten: Int64?
        if version >= Self.thirdVersion {
            attributes = try Self.decodeAttributes(&reader, withExtended: version >= Self.fourthVersion)
            bytesWritten = try reader.flag("bytes written presence") ? try reader.read(Int64.self, "bytes written") : nil
        }
        var origin: EventOrigin?, sequence: UInt64 = 0
        if version >= Self.formatVersion, try reader.flag("origin presence") {
            (origin, sequence) = try decodeOrigin(&reader)
        }
        var fields: EventFieldLayout?
        if presence & Self.hasLayout != 0 {
            fields = try decodeLayout(&reader, version: version)
        }
        guard reader.offset == bytes.count else {
            throw FileEventCodecError(reason: "\(bytes.count - reader.offset) bytes left over", offset: reader.offset)
        }
        return FileEvent(type: type, timestamp: EventTimestamp(nanosecondsSinceEpoch: timestamp),
                         pid: pid, tid: tid, uid: uid, gid: gid, comm: ProcessName(bytes: commBytes),
                         flags: flags, mode: mode, retval: retval, source: source, target: target,
                         backend: backend, fields: fields, process: process, attributes: attributes,
                         bytesWritten: bytesWritten, origin: origin, sequence: sequence)
    }

    /// The origin, shared with the previous event's when it is the same stream.
    private mutating func decodeOrigin(_ reader: inout ByteReader) throws(FileEventCodecError) -> (EventOrigin, UInt64) {
        let stream = try reader.read(UInt64.self, "stream")
        let sequence = try reader.read(UInt64.self, "sequence")
        let hostLength = Int(try reader.read(UInt32.self, "host"))
        let start = reader.offset
        let host = try reader.bytes(hostLength, "host")
        if let decodedOrigin, decodedOrigin.stream == stream, decodedOrigin.host.utf8.elementsEqual(host) {
            return (decodedOrigin, sequence)
        }
        guard let name = String(validating: host, as: UTF8.self) else {
            throw FileEventCodecError(reason: "host is not valid UTF-8", offset: start)
        }
        let origin = EventOrigin(host: name, stream: stream)
        decodedOrigin = origin
        return (origin, sequence)
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
        buffer.appendLittleEndian(path.linkCount)
        buffer.append(path.mount.isPresent ? 1 : 0)
        if let mount = path.mount {
            buffer.appendLittleEndian(mount.mountID)
            buffer.appendLittleEndian(mount.device)
            buffer.appendBytes(mount.mountPoint)
            buffer.appendString(mount.fsType)
        }
    }

    private static func encode(_ process: ProcessContext, into buffer: inout [UInt8]) {
        buffer.appendLittleEndian(process.ppid)
        buffer.appendLittleEndian(process.startTime.nanosecondsSinceEpoch)
        buffer.appendLittleEndian(process.loginUID ?? Self.noID)
        buffer.appendLittleEndian(process.sessionID ?? Self.noID)
        buffer.appendLittleEndian(process.euid)
        buffer.appendLittleEndian(process.egid)
        buffer.appendLittleEndian(process.cgroupID)
        buffer.appendLittleEndian(process.mountNamespace)
        buffer.appendLittleEndian(process.pidNamespace)
        buffer.appendLittleEndian(process.userNamespace)
        buffer.append(process.executable.isPresent ? 1 : 0)
        if let executable = process.executable { encode(executable, into: &buffer) }
        buffer.append(process.cgroup.isPresent ? 1 : 0)
        if let cgroup = process.cgroup {
            buffer.appendLittleEndian(cgroup.id)
            buffer.appendBytes(cgroup.path)
            buffer.appendString(cgroup.containerID)
            buffer.append(code(of: cgroup.runtime))
        }
        buffer.appendFlaggedString(process.userName)
        buffer.appendFlaggedString(process.groupName)
        buffer.appendFlaggedString(process.effectiveUserName)
        buffer.appendFlaggedString(process.effectiveGroupName)
    }

    /// What the kernel never reports as a login uid or session id: "none".
    private static let noID = UInt32.max

    private static func decodeProcess(_ reader: inout ByteReader) throws(FileEventCodecError) -> ProcessContext {
        var process = ProcessContext()
        process.ppid = try reader.read(UInt32.self, "ppid")
        process.startTime = EventTimestamp(nanosecondsSinceEpoch: try reader.read(Int64.self, "start time"))
        let loginUID = try reader.read(UInt32.self, "loginuid")
        process.loginUID = loginUID == noID ? nil : loginUID
        let sessionID = try reader.read(UInt32.self, "sessionid")
        process.sessionID = sessionID == noID ? nil : sessionID
        process.euid = try reader.read(UInt32.self, "euid")
        process.egid = try reader.read(UInt32.self, "egid")
        process.cgroupID = try reader.read(UInt64.self, "cgroup id")
        process.mountNamespace = try reader.read(UInt32.self, "mount namespace")
        process.pidNamespace = try reader.read(UInt32.self, "pid namespace")
        process.userNamespace = try reader.read(UInt32.self, "user namespace")
        if try reader.flag("executable presence") {
            process.executable = try decodePath(&reader, PathParts(withRoot: true, withMount: true))
        }
        if try reader.flag("cgroup presence") {
            let id = try reader.read(UInt64.self, "cgroup id")
            let path = Array(try reader.counted("cgroup path"))
            let containerID = try reader.string("container id")
            let runtimeCode = try reader.read(UInt8.self, "container runtime")
            guard let runtime = runtime(code: runtimeCode) else {
                throw FileEventCodecError(reason: "unknown container runtime \(runtimeCode)", offset: reader.offset - 1)
            }
            process.cgroup = CgroupInfo(id: id, path: path, containerID: containerID, runtime: runtime)
        }
        process.userName = try reader.flag("user name presence") ? try reader.string("user name") : nil
        process.groupName = try reader.flag("group name presence") ? try reader.string("group name") : nil
        process.effectiveUserName = try reader.flag("effective user presence") ? try reader.string("effective user") : nil
        process.effectiveGroupName = try reader.flag("effective group presence") ? try reader.string("effective group") : nil
        return process
    }

    private static func encode(_ change: AttributeChange?, into buffer: inout [UInt8]) {
        buffer.append(change != nil ? 1 : 0)
        guard let change else { return }
        var members: UInt8 = 0
        if change.mode != nil { members |= AttributeBits.mode }
        if change.uid != nil { members |= AttributeBits.uid }
        if change.gid != nil { members |= AttributeBits.gid }
        if change.size != nil { members |= AttributeBits.size }
        members |= AttributeBits.of(change.accessTime, set: AttributeBits.accessTime, now: AttributeBits.accessNow)
        members |= AttributeBits.of(change.modificationTime, set: AttributeBits.modificationTime,
                                    now: AttributeBits.modificationNow)
        buffer.append(members)
        if let mode = change.mode { buffer.appendLittleEndian(mode) }
        if let uid = change.uid { buffer.appendLittleEndian(uid) }
        if let gid = change.gid { buffer.appendLittleEndian(gid) }
        if let size = change.size { buffer.appendLittleEndian(size) }
        if case .at(let time)? = change.accessTime { buffer.appendLittleEndian(time.nanosecondsSinceEpoch) }
        if case .at(let time)? = change.modificationTime { buffer.appendLittleEndian(time.nanosecondsSinceEpoch) }
        buffer.append(change.extendedAttribute?.operation.rawValue ?? 0)
        if let extended = change.extendedAttribute { buffer.appendBytes(extended.name) }
    }

    private static func decodeAttributes(_ reader: inout ByteReader, withExtended: Bool) throws(FileEventCodecError) -> AttributeChange? {
        guard try reader.flag("attributes presence") else { return nil }
        let members = try reader.read(UInt8.self, "attribute members")
        guard members & AttributeBits.accessTime & (members >> 1) == 0,
              members & AttributeBits.modificationTime & (members >> 1) == 0 else {
            throw FileEventCodecError(reason: "a time both set and now", offset: reader.offset - 1)
        }
        func time(_ set: UInt8, _ now: UInt8, _ reader: inout ByteReader) throws(FileEventCodecError) -> AttributeChange.Time? {
            if members & set != 0 { return .at(EventTimestamp(nanosecondsSinceEpoch: try reader.read(Int64.self, "time"))) }
            return members & now != 0 ? .now : nil
        }
        var change = AttributeChange()
        if members & AttributeBits.mode != 0 { change.mode = try reader.read(UInt32.self, "attribute mode") }
        if members & AttributeBits.uid != 0 { change.uid = try reader.read(UInt32.self, "attribute uid") }
        if members & AttributeBits.gid != 0 { change.gid = try reader.read(UInt32.self, "attribute gid") }
        if members & AttributeBits.size != 0 { change.size = try reader.read(Int64.self, "attribute size") }
        change.accessTime = try time(AttributeBits.accessTime, AttributeBits.accessNow, &reader)
        change.modificationTime = try time(AttributeBits.modificationTime, AttributeBits.modificationNow, &reader)
        guard withExtended else { return change }
        let operationCode = try reader.read(UInt8.self, "extended attribute")
        if operationCode != 0 {
            guard let operation = ExtendedAttributeChange.Operation(rawValue: operationCode) else {
                throw FileEventCodecError(reason: "extended attribute operation \(operationCode)", offset: reader.offset - 1)
            }
            let name = try reader.counted("extended attribute name")
            guard !name.contains(0) else {
                throw FileEventCodecError(reason: "NUL inside an extended attribute name", offset: reader.offset - name.count)
            }
            change.extendedAttribute = ExtendedAttributeChange(operation, name: Array(name))
        }
        return change
    }

    /// The member bits of an encoded `AttributeChange`.
    private enum AttributeBits {
        static let mode: UInt8 = 1, uid: UInt8 = 2, gid: UInt8 = 4, size: UInt8 = 8
        static let accessTime: UInt8 = 16, accessNow: UInt8 = 32
        static let modificationTime: UInt8 = 64, modificationNow: UInt8 = 128

        static func of(_ time: AttributeChange.Time?, set: UInt8, now: UInt8) -> UInt8 {
            switch time {
            case nil: 0
            case .now?: now
            case .at?: set
            }
        }
    }

    /// Stable codes, independent of `ContainerRuntime`'s declaration order.
    private static func code(of runtime: ContainerRuntime?) -> UInt8 {
        switch runtime {
        case nil: 0
        case .docker?: 1
        case .containerd?: 2
        case .crio?: 3
        case .podman?: 4
        case .nspawn?: 5
        }
    }

    /// The runtime of a code: `.some(nil)` for "none", nil for an unknown code.
    private static func runtime(code: UInt8) -> ContainerRuntime?? {
        switch code {
        case 0: .some(nil)
        case 1: .docker
        case 2: .containerd
        case 3: .crio
        case 4: .podman
        case 5: .nspawn
        default: nil
        }
    }

    /// What a path's encoding holds, by format version.
    private struct PathParts {
        var withRoot: Bool
        var withMount: Bool
    }

    private static func decodePath(_ reader: inout ByteReader, _ parts: PathParts) throws(FileEventCodecError) -> EventPath {
        let length = Int(try reader.read(UInt32.self, "path length"))
        let bytes = Array(try reader.bytes(length, "path"))
        var path = EventPath(bytes: bytes,
                             inode: try reader.read(UInt64.self, "inode"),
                             mountID: try reader.read(UInt32.self, "mount id"),
                             device: try reader.read(UInt32.self, "device"),
                             mode: try reader.read(UInt32.self, "path mode"),
                             resolution: PathResolution(rawValue: try reader.read(UInt16.self, "resolution")))
        if parts.withRoot {
            let offset = Int(try reader.read(Int32.self, "process root offset"))
            guard offset >= -1, offset <= length else {
                throw FileEventCodecError(reason: "process root offset \(offset) outside the path", offset: reader.offset - 4)
            }
            path.processRootOffset = offset < 0 ? nil : offset
        }
        if parts.withMount {
            path.linkCount = try reader.read(UInt32.self, "link count")
            if try reader.flag("mount presence") {
                path.mount = MountInfo(mountID: try reader.read(UInt32.self, "mount id"),
                                       device: try reader.read(UInt32.self, "mount device"),
                                       mountPoint: Array(try reader.counted("mount point")),
                                       fsType: try reader.string("file system type"))
            }
        }
        return path
    }

    private static func encode(_ layout: EventFieldLayout, into buffer: inout [UInt8]) {
        var omitted = FieldBits(), renamed = FieldBits()
        for field in EventField.allCases {
            switch layout.names[field.rawValue] {
            case nil: omitted.insert(layoutBit(field))
            case field.name: break
            default: renamed.insert(layoutBit(field))
            }
        }
        buffer.append(UInt8(FieldBits.wordCount))
        for word in omitted.words { buffer.appendLittleEndian(word) }
        for word in renamed.words { buffer.appendLittleEndian(word) }
        for field in EventField.allCases where renamed.contains(layoutBit(field)) {
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
    /// fields and the three companions came first, then the path flags, the
    /// context fields, and `exe_raw`.
    private static func layoutBit(_ field: EventField) -> Int {
        switch field {
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
        case .exeRaw: 64
        case .eventID: 65
        case .host: 66
        // The context fields (ppid … modify_bytes), in order from bit 33.
        case let context where context.rawValue >= EventField.ppid.rawValue:
            context.rawValue - EventField.ppid.rawValue + 33
        default: field.rawValue
        }
    }

    /// Every field's bit: what a layout may name.
    private static let knownBits: FieldBits = {
        var bits = FieldBits()
        for field in EventField.allCases { bits.insert(layoutBit(field)) }
        return bits
    }()

    /// The layout is the rest of the payload: when its bytes are those of
    /// the previous event's, the previous instance is shared.
    private mutating func decodeLayout(_ reader: inout ByteReader, version: UInt8) throws(FileEventCodecError) -> EventFieldLayout {
        let start = reader.offset
        let rest = UnsafeRawBufferPointer(rebasing: reader.bytes[start...])
        if let decodedLayout, rest.elementsEqual(decodedLayoutBytes) {
            reader.offset = reader.bytes.count
            return decodedLayout
        }
        var omitted = FieldBits(), renamed = FieldBits()
        switch version {
        case Self.firstVersion:
            omitted.words[0] = UInt64(try reader.read(UInt32.self, "omitted fields"))
            renamed.words[0] = UInt64(try reader.read(UInt32.self, "renamed fields"))
        case Self.secondVersion:
            omitted.words[0] = try reader.read(UInt64.self, "omitted fields")
            renamed.words[0] = try reader.read(UInt64.self, "renamed fields")
        default:
            let count = Int(try reader.read(UInt8.self, "layout word count"))
            guard count == FieldBits.wordCount else {
                throw FileEventCodecError(reason: "layout of \(count) words, not \(FieldBits.wordCount)", offset: start)
            }
            for index in 0..<count { omitted.words[index] = try reader.read(UInt64.self, "omitted fields") }
            for index in 0..<count { renamed.words[index] = try reader.read(UInt64.self, "renamed fields") }
        }
        guard omitted.isSubset(of: Self.knownBits), renamed.isSubset(of: Self.knownBits),
              omitted.isDisjoint(with: renamed) else {
            throw FileEventCodecError(reason: "invalid field bits", offset: start)
        }
        var names = EventFieldLayout.standard.names
        for field in EventField.allCases {
            let bit = Self.layoutBit(field)
            if omitted.contains(bit) { names[field.rawValue] = nil }
            if renamed.contains(bit) { names[field.rawValue] = try reader.string("field name") }
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

/// A set of layout bits, in as many 64-bit words as the fields need.
private struct FieldBits {
    static let wordCount = 2
    var words = [UInt64](repeating: 0, count: wordCount)

    mutating func insert(_ bit: Int) { words[bit / 64] |= 1 << UInt64(bit % 64) }
    func contains(_ bit: Int) -> Bool { words[bit / 64] & (1 << UInt64(bit % 64)) != 0 }
    func isSubset(of other: FieldBits) -> Bool { zip(words, other.words).allSatisfy { $0 & ~$1 == 0 } }
    func isDisjoint(with other: FieldBits) -> Bool { zip(words, other.words).allSatisfy { $0 & $1 == 0 } }
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

    /// A presence byte: 0 or 1.
    mutating func flag(_ what: StaticString) throws(FileEventCodecError) -> Bool {
        let value = try read(UInt8.self, what)
        guard value <= 1 else {
            throw FileEventCodecError(reason: "\(what) byte is \(value), not 0 or 1", offset: offset - 1)
        }
        return value == 1
    }

    /// Raw bytes after their u32 length.
    mutating func counted(_ what: StaticString) throws(FileEventCodecError) -> UnsafeRawBufferPointer {
        try bytes(Int(try read(UInt32.self, what)), what)
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

    /// A presence byte, then the string when present.
    fileprivate mutating func appendFlaggedString(_ text: String?) {
        append(text != nil ? 1 : 0)
        if let text { appendString(text) }
    }

    fileprivate mutating func appendBytes(_ bytes: [UInt8]) {
        appendLittleEndian(UInt32(truncatingIfNeeded: bytes.count))
        append(contentsOf: bytes)
    }

    fileprivate mutating func appendString(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            appendLittleEndian(UInt32(truncatingIfNeeded: utf8.count))
            append(contentsOf: utf8)
        }
    }
}
