/// Reads one JSON object that `JSONLineEncoder` wrote back into the
/// `FileEvent` it came from: for a source that consumes fsprobe's own
/// output (a Kafka topic another fsprobe produces into) and passes it on.
///
/// For every event written with the standard layout,
/// `encode(decode(encode(e)))` is `encode(e)`, byte for byte. What the
/// event holds after decoding is what the line says: names from their
/// `*_raw` companion when present (their exact bytes), else from the
/// string; the process path as an offset into the path it is a suffix
/// of; derived values (`error`, `flag_names`) ignored. A few values the
/// encoder writes lossily and without a companion come back as written:
/// a mount point or cgroup path that is not UTF-8 holds U+FFFD where its
/// invalid bytes were (writing it again gives the same line), and what the
/// line does not carry (permission bits of a path's mode, the flavours of
/// an incomplete path) is not invented.
///
/// Unknown keys are skipped (a newer fsprobe may add some; at most
/// `UnknownKeys.maxPerObject` per object), missing ones take the defaults
/// of `FileEvent.init`, except `event_type`, `timestamp` and `src_filename`,
/// which are required. Duplicate keys, a newer `schema_version` and
/// anything that is not strict JSON are errors. Any input gives an event or
/// an error: the scanner never reads outside the input, and nesting is
/// read without recursion.
///
/// Fast because it does little: one pass over the bytes, keys found in one
/// probe, strings copied once into their final home, and the objects that
/// repeat from event to event (origin, mounts, cgroup, executable) reused
/// from the previous events when their JSON text is the same, so a typical
/// event allocates only its path.
public struct EventJSONDecoder: Sendable {
    private var scratch: [UInt8] = []
    private var unknownKeys = UnknownKeys()
    private var cacheKey: [UInt8] = []
    private var origins = RecentCache<EventOrigin>(capacity: 2)
    private var mounts = RecentCache<MountInfo>(capacity: 4)
    private var cgroups = RecentCache<CgroupInfo>(capacity: 2)
    private var executables = RecentCache<[UInt8]>(capacity: 2)

    public init() {}

    /// Decodes one JSON object (exactly these bytes; surrounding whitespace
    /// and one trailing "\n" allowed).
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(EventJSONDecodeError) -> FileEvent {
        var scanner = JSONScanner(bytes.assumingMemoryBound(to: UInt8.self))
        var values = DecodedValues()
        unknownKeys.reset()
        try readEvent(&scanner, into: &values)
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.failure("nothing after the object") }
        return try assemble(values, scanner)
    }

    // MARK: the event's object

    private mutating func readEvent(_ s: inout JSONScanner, into v: inout DecodedValues) throws(EventJSONDecodeError) {
        s.skipWhitespace()
        try s.expect(UInt8(ascii: "{"), "'{' opening an event")
        s.skipWhitespace()
        if s.current == UInt8(ascii: "}") {
            v.objectEnd = s.position
            s.position += 1
            return
        }
        let keys = EventJSONKeys.standard
        while true {
            s.skipWhitespace()
            let keyOffset = s.position
            let key = try s.scanString()
            let id = withDecoded(key, s) { keys.id(of: $0) }
            s.skipWhitespace()
            try s.expect(UInt8(ascii: ":"), "':' after a key")
            s.skipWhitespace()
            do throws(EventJSONDecodeError) {
                if let id {
                    guard v.seen.insert(id) else { throw EventJSONDecodeError(reason: "duplicate key", offset: keyOffset) }
                    try readValue(id, &s, &v)
                } else {
                    try insertUnknown(key, s, scope: 0, offset: keyOffset)
                    try s.skipValue()
                }
            } catch {
                throw error.inside(key: id.map(keys.name(of:)) ?? decodedString(key, s))
            }
            s.skipWhitespace()
            if s.current == UInt8(ascii: ",") {
                s.position += 1
                continue
            }
            guard s.current == UInt8(ascii: "}") else { throw s.failure("',' or '}' after a value") }
            v.objectEnd = s.position
            s.position += 1
            return
        }
    }

    private mutating func readValue(_ id: Int, _ s: inout JSONScanner, _ v: inout DecodedValues) throws(EventJSONDecodeError) {
        if id == EventJSONKeys.schemaVersion { return try readSchemaVersion(&s) }
        guard let field = EventField(rawValue: id) else { return try s.skipValue() }
        switch field {
        case .eventType:
            let string = try s.scanString()
            guard let type = withDecoded(string, s, { bytes in EventType.allCases.first { bytes.equals($0.staticName) } }) else {
                throw s.failure("an event type (" + EventType.allCases.map(\.name).joined(separator: ", ") + ")", at: string.start - 1)
            }
            v.event.type = type
        case .timestamp: v.event.timestamp = try readTime(&s)
        case .pid: v.event.pid = try s.scanUInt32()
        case .tid: v.event.tid = try s.scanUInt32()
        case .uid: v.event.uid = try s.scanUInt32()
        case .gid: v.event.gid = try s.scanUInt32()
        case .comm: v.comm = try s.scanStringSlot()
        case .flags: v.event.flags = try s.scanUInt32()
        case .mode: v.event.mode = try s.scanUInt32()
        case .srcInode: v.event.source.inode = try s.scanUInt64()
        case .srcFilename: v.source = try s.scanStringSlot()
        case .srcMountID: v.event.source.mountID = try s.scanUInt32()
        case .targetInode: v.target.inode = try s.scanUInt64()
        case .targetFilename: v.target.name = try s.scanStringSlot()
        case .targetMountID: v.target.path.mountID = try s.scanUInt32()
        case .retval: v.event.retval = try s.scanSigned("an integer from \(Int64.min) to \(Int64.max)")
        case .error, .flagNames: try s.skipValue()  // derived from retval and flags
        case .backend:
            let string = try s.scanString()
            guard let backend = withDecoded(string, s, { bytes in BackendKind.allCases.first { bytes.equals($0.staticName) } }) else {
                throw s.failure("a backend (fentry, kprobe, tracepoint)", at: string.start - 1)
            }
            v.event.backend = backend
        case .srcPathTruncated: v.event.source.resolution.insert(.truncated, if: try s.scanBool())
        case .srcPathFromCaller: v.event.source.resolution.insert(.callerSuffix, if: try s.scanBool())
        case .srcPathDeleted: v.event.source.resolution.insert(.deleted, if: try s.scanBool())
        case .srcPathDetached: v.event.source.resolution.insert(.detached, if: try s.scanBool())
        case .srcPathForeignMountNs: v.event.source.resolution.insert(.foreignMountNamespace, if: try s.scanBool())
        case .targetPathTruncated: v.target.path.resolution.insert(.truncated, if: try s.scanBool())
        case .targetPathFromCaller: v.target.path.resolution.insert(.callerSuffix, if: try s.scanBool())
        case .targetPathDeleted: v.target.path.resolution.insert(.deleted, if: try s.scanBool())
        case .targetPathDetached: v.target.path.resolution.insert(.detached, if: try s.scanBool())
        case .targetPathForeignMountNs: v.target.path.resolution.insert(.foreignMountNamespace, if: try s.scanBool())
        case .srcProcessPath: v.sourceProcessPath = try s.scanOptionalStringSlot()
        case .targetProcessPath: v.target.processPath = try s.scanOptionalStringSlot()
        case .commRaw: v.commRaw = try s.scanStringSlot()
        case .srcFilenameRaw: v.sourceRaw = try s.scanStringSlot()
        case .targetFilenameRaw: v.target.raw = try s.scanStringSlot()
        case .exeRaw: v.exeRaw = try s.scanStringSlot()
        case .ppid: v.event.process.ppid = try s.scanUInt32()
        case .processStartTime: v.event.process.startTime = try readTime(&s)
        case .exe: v.exe = try s.scanOptionalStringSlot()
        case .loginUID: v.event.process.loginUID = try s.scanOptionalUInt32()
        case .sessionID: v.event.process.sessionID = try s.scanOptionalUInt32()
        case .euid: v.event.process.euid = try s.scanUInt32()
        case .egid: v.event.process.egid = try s.scanUInt32()
        case .user: v.event.process.userName = try readOptionalString(&s)
        case .group: v.event.process.groupName = try readOptionalString(&s)
        case .effectiveUser: v.event.process.effectiveUserName = try readOptionalString(&s)
        case .effectiveGroup: v.event.process.effectiveGroupName = try readOptionalString(&s)
        case .cgroupID: v.event.process.cgroupID = try s.scanUInt64()
        case .cgroupPath: v.cgroupPath = try s.scanOptionalStringSlot()
        case .containerID: v.containerID = try s.scanStringSlot()
        case .containerRuntime:
            guard !s.scanNull() else { break }
            let string = try s.scanString()
            // A runtime a newer fsprobe recognises is still a container: its
            // id is kept, its runtime unknown here.
            v.runtime = withDecoded(string, s) { bytes in ContainerRuntime.allCases.first { bytes.elementsEqual($0.rawValue.utf8) } }
        case .mountNamespace: v.event.process.mountNamespace = try s.scanUInt32()
        case .pidNamespace: v.event.process.pidNamespace = try s.scanUInt32()
        case .userNamespace: v.event.process.userNamespace = try s.scanUInt32()
        case .srcDevice: v.event.source.device = try readDevice(&s)
        case .srcFileType: v.event.source.mode = try readFileType(&s)
        case .srcLinkCount: v.event.source.linkCount = try s.scanUInt32()
        case .srcMountPoint: v.sourceMountPoint = try s.scanOptionalStringSlot()
        case .srcFSType: v.sourceFSType = try s.scanOptionalStringSlot()
        case .targetDevice: v.target.path.device = try readDevice(&s)
        case .targetFileType: v.target.path.mode = try readFileType(&s)
        case .targetLinkCount: v.target.path.linkCount = try s.scanUInt32()
        case .targetMountPoint: v.target.mountPoint = try s.scanOptionalStringSlot()
        case .targetFSType: v.target.fsType = try s.scanOptionalStringSlot()
        case .setattr: v.event.attributes = try readAttributes(&s)
        case .modifyBytes: v.event.bytesWritten = try s.scanOptionalInt64()
        case .eventID:
            guard !s.scanNull() else { break }
            let expected = "null or an event id (16 lowercase hexadecimal digits, '-', 16 more)"
            guard s.current == UInt8(ascii: "\"") else { throw s.failure(expected) }
            let string = try s.scanString()
            guard let id = withDecoded(string, s, { EventID(text: $0) }) else {
                throw s.failure(expected, at: string.start - 1)
            }
            v.eventID = id
            v.eventIDOffset = string.start - 1
        case .host: v.host = try s.scanOptionalStringSlot()
        }
    }

    private func readSchemaVersion(_ s: inout JSONScanner) throws(EventJSONDecodeError) {
        let offset = s.position
        let version = try s.scanUnsigned(max: .max, "\(JSONLineEncoder.schemaVersion)")
        guard version <= JSONLineEncoder.schemaVersion else {
            throw EventJSONDecodeError(reason: "\(version) is a newer format than this fsprobe reads (\(JSONLineEncoder.schemaVersion))",
                                       offset: offset)
        }
        guard version == JSONLineEncoder.schemaVersion else { throw s.failure("\(JSONLineEncoder.schemaVersion)", at: offset) }
    }

    // MARK: values

    private mutating func readTime(_ s: inout JSONScanner) throws(EventJSONDecodeError) -> EventTimestamp {
        let string = try s.scanString()
        switch withDecoded(string, s, RFC3339Parsing.parse) {
        case .time(let time): return time
        case .malformed: throw s.failure("an RFC 3339 time (2026-11-26T06:45:44.123456789Z)", at: string.start - 1)
        case .outOfRange:
            throw EventJSONDecodeError(reason: "expected a time from 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z",
                                       offset: string.start - 1)
        }
    }

    private mutating func readOptionalString(_ s: inout JSONScanner) throws(EventJSONDecodeError) -> String? {
        if s.scanNull() { return nil }
        return decodedString(try s.scanString(), s)
    }

    /// `"major:minor"` in the kernel's encoding, or null (0: unknown).
    private mutating func readDevice(_ s: inout JSONScanner) throws(EventJSONDecodeError) -> UInt32 {
        if s.scanNull() { return 0 }
        let string = try s.scanString()
        let device = withDecoded(string, s) { bytes -> UInt32? in
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
                  let major = UInt32(decimal: UnsafeBufferPointer(rebasing: bytes[..<colon])),
                  let minor = UInt32(decimal: UnsafeBufferPointer(rebasing: bytes[(colon + 1)...])) else { return nil }
            return DeviceNumber.make(major: major, minor: minor)
        }
        guard let device else { throw s.failure("null or a device \"major:minor\" (major < 4096, minor < 1048576)", at: string.start - 1) }
        return device
    }

    /// A file type as the type bits of a mode, or null (0: unknown).
    private mutating func readFileType(_ s: inout JSONScanner) throws(EventJSONDecodeError) -> UInt32 {
        if s.scanNull() { return 0 }
        let string = try s.scanString()
        guard let type = withDecoded(string, s, { bytes in FileType.allCases.first { bytes.equals($0.staticName) } }) else {
            throw s.failure("null or a file type (" + FileType.allCases.map(\.rawValue).joined(separator: ", ") + ")", at: string.start - 1)
        }
        return type.modeBits
    }

    // MARK: setattr

    /// The `setattr` object (`appendAttributes`), or null. Its members
    /// nest one object, `xattr`; nothing deeper is read but skipped.
    private mutating func readAttributes(_ s: inout JSONScanner) throws(EventJSONDecodeError) -> AttributeChange? {
        if s.scanNull() { return nil }
        var change = AttributeChange()
        try readMembers(&s, "null or an object") { (decoder: inout EventJSONDecoder, name: StaticString, s: inout JSONScanner) throws(EventJSONDecodeError) in
            switch name.description {
            case "mode": change.mode = try s.scanOptionalUInt32()
            case "uid": change.uid = try s.scanOptionalUInt32()
            case "gid": change.gid = try s.scanOptionalUInt32()
            case "size": change.size = try s.scanOptionalInt64()
            case "atime": change.accessTime = try decoder.readTimeChange(&s)
            case "mtime": change.modificationTime = try decoder.readTimeChange(&s)
            case "xattr": change.extendedAttribute = try decoder.readExtendedAttribute(&s)
            default: try s.skipValue()
            }
        }
        return change
    }

    private mutating func readTimeChange(_ s: inout JSONScanner) throws(EventJSONDecodeError) -> AttributeChange.Time? {
        if s.scanNull() { return nil }
        let start = s.position
        let string = try s.scanString()
        if s.decodedEquals(string, "now") { return .now }
        s.position = start
        return .at(try readTime(&s))
    }

    private mutating func readExtendedAttribute(_ s: inout JSONScanner) throws(EventJSONDecodeError) -> ExtendedAttributeChange? {
        if s.scanNull() { return nil }
        let objectStart = s.position
        var operation: ExtendedAttributeChange.Operation?
        var name = StringSlot(), nameRaw = StringSlot()
        try readMembers(&s, "null or an object") { (_: inout EventJSONDecoder, key: StaticString, s: inout JSONScanner) throws(EventJSONDecodeError) in
            switch key.description {
            case "op":
                let string = try s.scanString()
                if s.decodedEquals(string, "set") {
                    operation = .set
                } else if s.decodedEquals(string, "remove") {
                    operation = .remove
                } else {
                    throw s.failure("\"set\" or \"remove\"", at: string.start - 1)
                }
            case "name": name = try s.scanStringSlot()
            case "name_raw": nameRaw = try s.scanStringSlot()
            default: try s.skipValue()
            }
        }
        guard let operation else { throw EventJSONDecodeError(reason: "missing", offset: objectStart).inside(key: "op") }
        return ExtendedAttributeChange(operation, name: try nameBytes(name, raw: nameRaw, rawKey: "name_raw", s))
    }

    /// The members of a nested object: each known key (`memberKeys`) to
    /// `body` once, unknown ones skipped; `body` gets "" for those.
    private mutating func readMembers(
        _ s: inout JSONScanner, _ expected: String,
        _ body: (inout EventJSONDecoder, StaticString, inout JSONScanner) throws(EventJSONDecodeError) -> Void
    ) throws(EventJSONDecodeError) {
        guard s.current == UInt8(ascii: "{") else { throw s.failure(expected) }
        s.position += 1
        let scope = unknownKeys.scope
        defer { unknownKeys.close(scope) }
        var seen = SeenKeys()
        s.skipWhitespace()
        if s.current == UInt8(ascii: "}") {
            s.position += 1
            return
        }
        while true {
            s.skipWhitespace()
            let keyOffset = s.position
            let key = try s.scanString()
            let index = withDecoded(key, s) { bytes in Self.memberKeys.firstIndex { bytes.equals($0) } }
            s.skipWhitespace()
            try s.expect(UInt8(ascii: ":"), "':' after a key")
            s.skipWhitespace()
            do throws(EventJSONDecodeError) {
                if let index {
                    guard seen.insert(index) else { throw EventJSONDecodeError(reason: "duplicate key", offset: keyOffset) }
                    try body(&self, Self.memberKeys[index], &s)
                } else {
                    try insertUnknown(key, s, scope: scope, offset: keyOffset)
                    try s.skipValue()
                }
            } catch {
                throw error.inside(key: index.map { Self.memberKeys[$0].description } ?? decodedString(key, s))
            }
            s.skipWhitespace()
            if s.current == UInt8(ascii: ",") {
                s.position += 1
                continue
            }
            guard s.current == UInt8(ascii: "}") else { throw s.failure("',' or '}' after a value") }
            s.position += 1
            return
        }
    }

    /// The keys of the `setattr` object and of its `xattr` member.
    private static let memberKeys: [StaticString] = ["mode", "uid", "gid", "size", "atime", "mtime", "xattr", "op", "name", "name_raw"]

    // MARK: strings

    /// Calls `body` with the bytes `string` stands for: in place when it
    /// has no escapes, else decoded into the scratch buffer.
    @inline(__always)
    mutating func withDecoded<R>(_ string: JSONString, _ s: JSONScanner, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if !string.hasEscapes { return body(s.contents(string)) }
        scratch.removeAll(keepingCapacity: true)
        s.appendDecoded(string, to: &scratch)
        return scratch.withUnsafeBufferPointer(body)
    }

    mutating func decodedString(_ string: JSONString, _ s: JSONScanner) -> String {
        withDecoded(string, s) { String(decoding: $0, as: UTF8.self) }
    }

    private mutating func insertUnknown(_ key: JSONString, _ s: JSONScanner, scope: Int, offset: Int) throws(EventJSONDecodeError) {
        let result = withDecoded(key, s) { [unknownKeys] bytes in unknownKeys.find(bytes, scope: scope) }
        switch result {
        case .duplicate: throw EventJSONDecodeError(reason: "duplicate key", offset: offset)
        case .tooMany: throw EventJSONDecodeError(reason: "more than \(UnknownKeys.maxPerObject) unknown keys in one object", offset: offset)
        case .new:
            if !key.hasEscapes {
                unknownKeys.append(s.contents(key))
            } else {
                scratch.withUnsafeBufferPointer { unknownKeys.append($0) }
            }
        }
    }

    // MARK: assembling the event

    private mutating func assemble(_ v: DecodedValues, _ s: JSONScanner) throws(EventJSONDecodeError) -> FileEvent {
        for field in Self.requiredFields where !v.seen.contains(field.rawValue) {
            throw EventJSONDecodeError(reason: "\(field.name): missing (a required key)", offset: v.objectEnd)
        }
        var event = v.event

        event.comm = try processName(v, s)
        event.source.bytes = try nameBytes(v.source, raw: v.sourceRaw, rawKey: EventField.srcFilenameRaw.name, s)
        event.source.processRootOffset = try processRootOffset(v.sourceProcessPath, in: event.source.bytes,
                                                               key: .srcProcessPath, of: .srcFilename, s)
        event.source.mount = mount(of: event.source, v.sourceMountPoint, v.sourceFSType, s)

        // A second path is written for every event, as "" and zeros when
        // there is none: only rename and link always have one, other
        // events one when the line gives it any value.
        let t = v.target
        if event.type.hasTarget || t.name.length(in: s) > 0 || t.raw.isPresent || t.inode != 0 || t.path.mountID != 0
            || t.path.device != 0 || t.path.mode != 0 || t.path.linkCount != 0 || !t.path.resolution.isEmpty
            || t.processPath.isPresent || t.mountPoint.isPresent || t.fsType.isPresent {
            var target = t.path
            target.inode = t.inode
            target.bytes = try nameBytes(t.name, raw: t.raw, rawKey: EventField.targetFilenameRaw.name, s)
            target.processRootOffset = try processRootOffset(t.processPath, in: target.bytes, key: .targetProcessPath,
                                                             of: .targetFilename, s)
            target.mount = mount(of: target, t.mountPoint, t.fsType, s)
            event.target = target
        }

        if v.exe.isPresent {
            event.process.executable = EventPath(bytes: try executable(v, s))
        }
        if v.cgroupPath.isPresent {
            event.process.cgroup = cgroup(id: event.process.cgroupID, v, s)
        }

        switch (v.eventID, v.host.isPresent) {
        case (nil, false): break
        case (let id?, true):
            event.origin = origin(stream: id.stream, v.host, s)
            event.sequence = id.sequence
        case (_?, false):
            throw EventJSONDecodeError(reason: "host: missing or null, but event_id has a value", offset: v.eventIDOffset)
        case (nil, true):
            throw EventJSONDecodeError(reason: "event_id: missing or null, but host has a value", offset: v.host.string.start - 1)
        }
        return event
    }

    private static let requiredFields: [EventField] = [.eventType, .timestamp, .srcFilename]

    /// A name's exact bytes: its `*_raw` companion when present, else its string.
    private mutating func nameBytes(_ name: StringSlot, raw: StringSlot, rawKey: String, _ s: JSONScanner) throws(EventJSONDecodeError) -> [UInt8] {
        if raw.isPresent {
            guard let bytes = withDecoded(raw.string, s, Base64Decoding.decode) else {
                throw EventJSONDecodeError(reason: "\(rawKey): expected standard base64", offset: raw.string.start - 1)
            }
            return bytes
        }
        guard name.isPresent else { return [] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.string.end - name.string.start)
        s.appendDecoded(name.string, to: &bytes)
        return bytes
    }

    private mutating func processName(_ v: DecodedValues, _ s: JSONScanner) throws(EventJSONDecodeError) -> ProcessName {
        let offset: Int
        let name: ProcessName?
        if v.commRaw.isPresent {
            offset = v.commRaw.string.start - 1
            name = withDecoded(v.commRaw.string, s, Base64Decoding.decode).flatMap { $0.withUnsafeBufferPointer(ProcessName.init(exactly:)) }
        } else if v.comm.isPresent {
            offset = v.comm.string.start - 1
            name = withDecoded(v.comm.string, s, ProcessName.init(exactly:))
        } else {
            return ProcessName()
        }
        guard let name else {
            throw EventJSONDecodeError(reason: "\(v.commRaw.isPresent ? "comm_raw" : "comm"): expected at most 16 bytes, none of them NUL",
                                       offset: offset)
        }
        return name
    }

    /// Where the process path (`processPath`) starts in `path`.
    private mutating func processRootOffset(_ processPath: StringSlot, in path: [UInt8], key: EventField, of pathKey: EventField,
                                            _ s: JSONScanner) throws(EventJSONDecodeError) -> Int? {
        guard processPath.isPresent else { return nil }
        let offset = withDecoded(processPath.string, s) { suffix in
            path.withUnsafeBufferPointer { ProcessPathMatching.offset(of: suffix, in: $0) }
        }
        guard let offset else {
            throw EventJSONDecodeError(reason: "\(key.name): expected an end of \(pathKey.name) (or \"/\")", offset: processPath.string.start - 1)
        }
        return offset
    }

    private mutating func executable(_ v: DecodedValues, _ s: JSONScanner) throws(EventJSONDecodeError) -> [UInt8] {
        cacheKey.removeAll(keepingCapacity: true)
        cacheKey.appendKey(v.exe, s)
        cacheKey.appendKey(v.exeRaw, s)
        if let bytes = executables.value(for: cacheKey) { return bytes }
        let bytes = try nameBytes(v.exe, raw: v.exeRaw, rawKey: EventField.exeRaw.name, s)
        executables.insert(bytes, for: cacheKey)
        return bytes
    }

    private mutating func mount(of path: EventPath, _ mountPoint: StringSlot, _ fsType: StringSlot, _ s: JSONScanner) -> MountInfo? {
        guard mountPoint.isPresent || fsType.isPresent else { return nil }
        cacheKey.removeAll(keepingCapacity: true)
        cacheKey.appendKey(UInt64(path.mountID) << 32 | UInt64(path.device))
        cacheKey.appendKey(mountPoint, s)
        cacheKey.appendKey(fsType, s)
        if let mount = mounts.value(for: cacheKey) { return mount }
        var point: [UInt8] = []
        if mountPoint.isPresent { s.appendDecoded(mountPoint.string, to: &point) }
        let mount = MountInfo(mountID: path.mountID, device: path.device, mountPoint: point,
                              fsType: fsType.isPresent ? decodedString(fsType.string, s) : "")
        mounts.insert(mount, for: cacheKey)
        return mount
    }

    private mutating func cgroup(id: UInt64, _ v: DecodedValues, _ s: JSONScanner) -> CgroupInfo {
        cacheKey.removeAll(keepingCapacity: true)
        cacheKey.appendKey(id)
        cacheKey.appendKey(v.cgroupPath, s)
        cacheKey.appendKey(v.containerID, s)
        cacheKey.appendKey(UInt64(v.runtime.flatMap { ContainerRuntime.allCases.firstIndex(of: $0).map { $0 + 1 } } ?? 0))
        if let cgroup = cgroups.value(for: cacheKey) { return cgroup }
        var path: [UInt8] = []
        s.appendDecoded(v.cgroupPath.string, to: &path)
        let cgroup = CgroupInfo(id: id, path: path, containerID: v.containerID.isPresent ? decodedString(v.containerID.string, s) : "",
                                runtime: v.runtime)
        cgroups.insert(cgroup, for: cacheKey)
        return cgroup
    }

    private mutating func origin(stream: UInt64, _ host: StringSlot, _ s: JSONScanner) -> EventOrigin {
        cacheKey.removeAll(keepingCapacity: true)
        cacheKey.appendKey(stream)
        cacheKey.appendKey(host, s)
        if let origin = origins.value(for: cacheKey) { return origin }
        let origin = EventOrigin(host: decodedString(host.string, s), stream: stream)
        origins.insert(origin, for: cacheKey)
        return origin
    }
}

/// What the object said, gathered while reading it; the values that
/// depend on others (names and their companions, process paths, mounts,
/// origin) are kept as strings in the input until it has been read whole.
struct DecodedValues {
    var seen = SeenKeys()
    var objectEnd = 0
    var event = FileEvent(type: .open, timestamp: EventTimestamp(nanosecondsSinceEpoch: 0), pid: 0, tid: 0, uid: 0, gid: 0,
                          comm: ProcessName(), source: EventPath())
    var comm = StringSlot(), commRaw = StringSlot()
    var source = StringSlot(), sourceRaw = StringSlot(), sourceProcessPath = StringSlot()
    var sourceMountPoint = StringSlot(), sourceFSType = StringSlot()
    var target = TargetValues()
    var exe = StringSlot(), exeRaw = StringSlot()
    var cgroupPath = StringSlot(), containerID = StringSlot()
    var runtime: ContainerRuntime?
    var eventID: EventID?
    var eventIDOffset = 0
    var host = StringSlot()

    struct TargetValues {
        var path = EventPath()
        var inode: UInt64 = 0
        var name = StringSlot(), raw = StringSlot(), processPath = StringSlot()
        var mountPoint = StringSlot(), fsType = StringSlot()
    }
}

/// A string value in the input, if the key had one (absent or null: not present).
struct StringSlot {
    var string = JSONString.empty
    var isPresent = false

    func length(in scanner: JSONScanner) -> Int { isPresent ? string.end - string.start : 0 }
}

extension JSONScanner {
    @inline(__always) mutating func scanUInt32() throws(EventJSONDecodeError) -> UInt32 {
        UInt32(truncatingIfNeeded: try scanUnsigned(max: UInt64(UInt32.max), "an integer from 0 to \(UInt32.max)"))
    }

    @inline(__always) mutating func scanUInt64() throws(EventJSONDecodeError) -> UInt64 {
        try scanUnsigned(max: .max, "an integer from 0 to \(UInt64.max)")
    }

    @inline(__always) mutating func scanOptionalUInt32() throws(EventJSONDecodeError) -> UInt32? {
        if scanNull() { return nil }
        return UInt32(truncatingIfNeeded: try scanUnsigned(max: UInt64(UInt32.max), "null or an integer from 0 to \(UInt32.max)"))
    }

    @inline(__always) mutating func scanOptionalInt64() throws(EventJSONDecodeError) -> Int64? {
        if scanNull() { return nil }
        return try scanSigned("null or an integer from \(Int64.min) to \(Int64.max)")
    }

    @inline(__always) mutating func scanStringSlot() throws(EventJSONDecodeError) -> StringSlot {
        StringSlot(string: try scanString(), isPresent: true)
    }

    @inline(__always) mutating func scanOptionalStringSlot() throws(EventJSONDecodeError) -> StringSlot {
        if scanNull() { return StringSlot() }
        guard current == UInt8(ascii: "\"") else { throw failure("null or a string") }
        return StringSlot(string: try scanString(), isPresent: true)
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    @inline(__always) func equals(_ text: StaticString) -> Bool {
        count == text.utf8CodeUnitCount && (count == 0 || FSProbeCore.equalBytes(baseAddress!, text.utf8Start, count))
    }
}

extension UInt32 {
    /// Plain decimal digits (no sign, no leading zero), nil on overflow.
    init?(decimal bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty, bytes.count == 1 || bytes[0] != UInt8(ascii: "0"), bytes.count <= 10 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + UInt64(digit)
        }
        guard value <= UInt64(UInt32.max) else { return nil }
        self.init(value)
    }
}

extension ProcessName {
    /// The name of exactly these bytes; nil when they do not fit (more than
    /// 16, or a NUL, which would end the name early).
    init?(exactly bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= Self.capacity, !bytes.contains(0) else { return nil }
        self.init(bytes: UnsafeRawBufferPointer(bytes))
    }
}

extension PathResolution {
    @inline(__always) mutating func insert(_ member: PathResolution, if condition: Bool) {
        if condition { insert(member) }
    }
}
