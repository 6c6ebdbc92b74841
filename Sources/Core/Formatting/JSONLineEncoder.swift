/// Encodes a `FileEvent` as one JSON object on one line (JSON Lines).
///
/// Fields, always present and in this order (names as in the original
/// FSProbe, so existing consumers keep working), after `schema_version`
/// (`schemaVersion`, written first in every object, whatever its layout):
///
///     event_type timestamp pid tid uid gid comm flags mode
///     src_inode src_filename src_mount_id
///     target_inode target_filename target_mount_id
///     retval error backend
///     src_path_truncated src_path_from_caller
///     target_path_truncated target_path_from_caller
///     src_path_deleted src_path_detached
///     target_path_deleted target_path_detached
///     src_path_foreign_mount_ns target_path_foreign_mount_ns
///     src_process_path target_process_path
///     (the process and object context, docs/events.md)
///     event_id host
///
/// - `event_id` is the event's identity (`EventID`: its stream, then its
///   place in it, in hexadecimal), `host` the name of the host it was
///   captured on; both `null` for an event no source stamped.
/// - `timestamp` is RFC 3339 UTC with nine fractional digits.
/// - `error` is the errno name (`"ENOENT"`, or `"E<n>"` when unknown) when
///   `retval < 0`, and `null` otherwise: a fixed schema, so columnar sinks
///   and `jq` filters never meet a missing key.
/// - Events without a second path have `target_filename: ""` and
///   `target_inode`/`target_mount_id` 0, as in the original.
/// - `*_path_truncated` is true when the start of the path is missing or
///   its end was cut: the kernel's walk stopped before the root, user space
///   could not resolve the cached directory the walk stopped at, or the
///   caller's string was cut (`.truncated`, `.unresolved`, `.callerTruncated`);
///   `*_path_from_caller` is true when the tail of the path is the string the
///   caller passed (`.callerSuffix`), joined and normalised but not resolved
///   by the kernel, so it may go through symlinks.
/// - `*_path_deleted` is true when the object was no longer linked in its
///   directory (`.deleted`); `*_path_detached` when its mount was lazily
///   unmounted, so the path is relative to that mount (`.detached`).
/// - `*_path_foreign_mount_ns` is true when the path is as seen from the
///   root of another mount namespace than fsprobe's (a container's): it
///   may not exist in fsprobe's (`.foreignMountNamespace`).
/// - `*_process_path` is the path as the acting process sees it, from its
///   own root (chroot, container): the end of `*_filename` from that root
///   on, so its exact bytes are the end of `*_filename_raw`. `null` when
///   the object is outside that root or the path was cut above it; for
///   events without a second path `target_process_path` is `null` too.
///
/// Names are raw bytes. File names and `comm` are escaped so that every line
/// is valid JSON and valid UTF-8 (see `appendJSONEscaped`). Invalid UTF-8
/// bytes become U+FFFD — readable, but lossy — so only when a value is not
/// valid UTF-8 the encoder adds `comm_raw`, `src_filename_raw` or
/// `target_filename_raw`: the exact bytes in standard base64. We chose that
/// over inventing an escape like `\xHH` inside the string, which a real file
/// named `\xff` would make ambiguous, and over always emitting the raw field,
/// which would double the size of every line for the rare hostile name.
/// Consumers that need the exact name use `*_raw` when present, else the
/// string field.
///
/// An event carrying a field layout (`FileEvent.fields`, set by the `fields`
/// transform) is written with that layout's keys: renamed fields under their
/// new key, omitted fields (and their `*_raw` companions) left out, and the
/// layout's constant fields after all the others. Keys and constant values
/// were escaped when the layout was built.
///
/// The encoder allocates nothing per event beyond the growth of the output
/// buffer, which the caller keeps and reuses.
public struct JSONLineEncoder: Sendable {
    /// The `schema_version` every object starts with: the version of this
    /// format (docs/event.schema.json). A change a consumer could trip
    /// over (a key renamed or removed, a type changed) increments it; a
    /// new key does not.
    public static let schemaVersion = 1

    /// The process fields of the last line, for `encodeNext` (see
    /// `ProcessFieldsMemo`).
    private var processFields = ProcessFieldsMemo()

    public init() {}

    /// As `encode(_:into:)`, for a stream of lines: the process fields
    /// (`ppid` to `user_ns`) of a line whose process is the previous line's
    /// are copied from that line instead of formatted again. Those are a
    /// third of a line's cost, and consecutive events mostly come from one
    /// process. A sink keeps one encoder for its stream and calls this.
    public mutating func encodeNext(_ event: FileEvent, into output: inout [UInt8]) {
        processFields.isEnabled = true
        encode(event, into: &output, memo: &processFields)
    }

    /// Appends the event's JSON object and a trailing `"\n"` to `output`.
    /// The caller owns `output` and clears it when it has written it out.
    ///
    /// The line is written through a `LineCursor` into `output`'s spare
    /// capacity (room for an estimate of the line's length), and `output`
    /// grows by what was written. The room is not zeroed first: filling
    /// 2 KiB of zeros a line only for the cursor to overwrite them showed
    /// in profiles. A line longer than the estimate (hostile names escaped
    /// six bytes for one) is written a second time, with the room the first
    /// pass measured.
    public func encode(_ event: FileEvent, into output: inout [UInt8]) {
        var noMemo = ProcessFieldsMemo()
        encode(event, into: &output, memo: &noMemo)
    }

    private func encode(_ event: FileEvent, into output: inout [UInt8], memo: inout ProcessFieldsMemo) {
        var room = Self.estimatedLength(event)
        while true {
            var needed = 0
            output.append(addingCapacity: room) { span in
                span.withUnsafeMutableBufferPointer { spare, initialized in
                    var cursor = LineCursor(base: spare.baseAddress!, capacity: room)
                    if let layout = event.fields {
                        var noMemo = ProcessFieldsMemo()  // the memo holds standard keys only
                        Self.encode(event, keys: LayoutKeys(layout: layout), into: &cursor, memo: &noMemo)
                    } else {
                        Self.encode(event, keys: StandardKeys(), into: &cursor, memo: &memo)
                    }
                    needed = cursor.count
                    // A pass that ran out of room wrote a prefix only: kept out.
                    initialized = needed <= room ? needed : 0
                }
            }
            if needed <= room { return }
            room = needed
        }
    }

    /// Room for most lines in one pass: the keys and numbers of a full line
    /// (about 1,300 bytes), the variable texts twice over (escapes are rare),
    /// and a layout's own keys and constants.
    static func estimatedLength(_ event: FileEvent) -> Int {
        var texts = event.source.bytes.count * 2 + (event.target?.bytes.count ?? 0) * 2
        texts += (event.process.executable?.bytes.count ?? 0) + (event.process.cgroup?.path.count ?? 0)
        let layout = event.fields.map { $0.jsonKeyBytes.count + $0.jsonExtras.count } ?? 0
        return 2048 + 2 * texts + layout
    }

    /// One body for both key writers, specialised for each: with
    /// `StandardKeys` every key is a constant, as if written out by hand.
    @inline(__always)
    private static func encode<Keys: KeyWriter>(_ event: FileEvent, keys object: Keys, into output: inout LineCursor,
                                                memo: inout ProcessFieldsMemo) {
        // The event's optional parts are read through optional chaining
        // (`event.target?.inode`), never bound (`if let target`) nor tested
        // with `!= nil` (on an Equatable type, that compares two copies): a
        // copy retains what the part holds, and perf saw those retains.
        var rawComm = false, rawSource = false, rawTarget = false

        // First, whatever the layout: which version of this format the line is.
        output.appendStatic(#","schema_version":1"#)

        if object.key(.eventType, &output) {
            output.appendStatic(event.type.staticName)
            output.append(UInt8(ascii: "\""))
        }
        if object.key(.timestamp, &output) {
            output.appendRFC3339(event.timestamp)
            output.append(UInt8(ascii: "\""))
        }
        if object.key(.pid, &output) { output.appendDecimal(UInt64(event.pid)) }
        if object.key(.tid, &output) { output.appendDecimal(UInt64(event.tid)) }
        if object.key(.uid, &output) { output.appendDecimal(UInt64(event.uid)) }
        if object.key(.gid, &output) { output.appendDecimal(UInt64(event.gid)) }
        if object.key(.comm, &output) {
            event.comm.withBytes { rawComm = !output.appendJSONEscaped($0.assumingMemoryBound(to: UInt8.self)) }
            output.append(UInt8(ascii: "\""))
        }
        if object.key(.flags, &output) { output.appendDecimal(UInt64(event.flags)) }
        if object.key(.mode, &output) { output.appendDecimal(UInt64(event.mode)) }

        if object.key(.srcInode, &output) { output.appendDecimal(event.source.inode) }
        if object.key(.srcFilename, &output) {
            event.source.bytes.withUnsafeBufferPointer { rawSource = !output.appendJSONEscaped($0) }
            output.append(UInt8(ascii: "\""))
        }
        if object.key(.srcMountID, &output) { output.appendDecimal(UInt64(event.source.mountID)) }

        if object.key(.targetInode, &output) { output.appendDecimal(event.target?.inode ?? 0) }
        if object.key(.targetFilename, &output) {
            event.target?.bytes.withUnsafeBufferPointer { rawTarget = !output.appendJSONEscaped($0) }
            output.append(UInt8(ascii: "\""))
        }
        if object.key(.targetMountID, &output) { output.appendDecimal(UInt64(event.target?.mountID ?? 0)) }

        if object.key(.retval, &output) { output.appendDecimal(event.retval) }
        if object.key(.error, &output) {
            if event.retval < 0 {
                output.append(UInt8(ascii: "\""))
                output.appendErrnoName(0 &- event.retval)
                output.append(UInt8(ascii: "\""))
            } else {
                output.appendStatic("null")
            }
        }
        if object.key(.backend, &output) {
            output.appendStatic(event.backend.staticName)
            output.append(UInt8(ascii: "\""))
        }

        let sourceResolution = event.source.resolution, targetResolution = event.target?.resolution ?? []
        if Keys.isStandard && sourceResolution.isEmpty && targetResolution.isEmpty {
            // The usual line, every one of the ten flags false: one constant.
            output.appendStatic(Self.pathFlagsAllFalse)
        } else {
            if object.key(.srcPathTruncated, &output) { output.appendBool(sourceResolution.isIncomplete) }
            if object.key(.srcPathFromCaller, &output) { output.appendBool(sourceResolution.contains(.callerSuffix)) }
            if object.key(.targetPathTruncated, &output) { output.appendBool(targetResolution.isIncomplete) }
            if object.key(.targetPathFromCaller, &output) { output.appendBool(targetResolution.contains(.callerSuffix)) }
            if object.key(.srcPathDeleted, &output) { output.appendBool(sourceResolution.contains(.deleted)) }
            if object.key(.srcPathDetached, &output) { output.appendBool(sourceResolution.contains(.detached)) }
            if object.key(.targetPathDeleted, &output) { output.appendBool(targetResolution.contains(.deleted)) }
            if object.key(.targetPathDetached, &output) { output.appendBool(targetResolution.contains(.detached)) }
            if object.key(.srcPathForeignMountNs, &output) {
                output.appendBool(sourceResolution.contains(.foreignMountNamespace))
            }
            if object.key(.targetPathForeignMountNs, &output) {
                output.appendBool(targetResolution.contains(.foreignMountNamespace))
            }
        }
        if object.key(.srcProcessPath, &output) { event.source.withProcessPath { output.appendProcessPath($0) } }
        if object.key(.targetProcessPath, &output) {
            if event.target?.withProcessPath({ output.appendProcessPath($0) }) == nil { output.appendStatic("null") }
        }

        let rawExe = memo.append(event.process, to: &output) { appendProcess(event, keys: object, into: &$0) }

        if object.key(.srcDevice, &output) { output.appendDevice(event.source.device) }
        if object.key(.srcFileType, &output) { output.appendFileType(mode: event.source.mode) }
        if object.key(.srcLinkCount, &output) { output.appendDecimal(UInt64(event.source.linkCount)) }
        if object.key(.srcMountPoint, &output) {
            if event.source.mount?.mountPoint.withUnsafeBufferPointer({ output.appendJSONString($0) }) == nil {
                output.appendStatic("null")
            }
        }
        if object.key(.srcFSType, &output) { output.appendOptionalString(event.source.mount?.fsType) }
        if object.key(.targetDevice, &output) { output.appendDevice(event.target?.device) }
        if object.key(.targetFileType, &output) { output.appendFileType(mode: event.target?.mode) }
        if object.key(.targetLinkCount, &output) { output.appendDecimal(UInt64(event.target?.linkCount ?? 0)) }
        if object.key(.targetMountPoint, &output) {
            if event.target?.mount?.mountPoint.withUnsafeBufferPointer({ output.appendJSONString($0) }) == nil {
                output.appendStatic("null")
            }
        }
        if object.key(.targetFSType, &output) { output.appendOptionalString(event.target?.mount?.fsType) }

        if object.key(.flagNames, &output) {
            FlagNames.append(event, into: &output)
            output.append(UInt8(ascii: "\""))
        }
        if object.key(.setattr, &output) { output.appendAttributes(event.attributes) }
        if object.key(.modifyBytes, &output) {
            if let bytes = event.bytesWritten { output.appendDecimal(bytes) } else { output.appendStatic("null") }
        }
        if object.key(.eventID, &output) {
            if let id = event.id {
                output.append(UInt8(ascii: "\""))
                id.appendText(to: &output)
                output.append(UInt8(ascii: "\""))
            } else {
                output.appendStatic("null")
            }
        }
        if object.key(.host, &output) { output.appendOptionalString(event.origin?.host) }

        // A companion is written only when its field was, and lossy.
        if rawComm, object.key(.commRaw, &output) {
            event.comm.withBytes { output.appendBase64($0.assumingMemoryBound(to: UInt8.self)) }
            output.append(UInt8(ascii: "\""))
        }
        if rawSource, object.key(.srcFilenameRaw, &output) {
            event.source.bytes.withUnsafeBufferPointer { output.appendBase64($0) }
            output.append(UInt8(ascii: "\""))
        }
        if rawTarget, object.key(.targetFilenameRaw, &output) {  // rawTarget: there is a target
            event.target?.bytes.withUnsafeBufferPointer { output.appendBase64($0) }
            output.append(UInt8(ascii: "\""))
        }
        if rawExe, object.key(.exeRaw, &output) {  // rawExe: there is an executable
            event.process.executable?.bytes.withUnsafeBufferPointer { output.appendBase64($0) }
            output.append(UInt8(ascii: "\""))
        }
        object.finish(&output)
    }

    /// The ten path flags, `src_path_truncated` to
    /// `target_path_foreign_mount_ns`, with the standard keys, all false
    /// (`standardLayoutWritesTheStandardLine` compares it with the flags
    /// written one by one).
    private static let pathFlagsAllFalse: StaticString = #"""
        ,"src_path_truncated":false,"src_path_from_caller":false,\#
        "target_path_truncated":false,"target_path_from_caller":false,\#
        "src_path_deleted":false,"src_path_detached":false,\#
        "target_path_deleted":false,"target_path_detached":false,\#
        "src_path_foreign_mount_ns":false,"target_path_foreign_mount_ns":false
        """#

    /// Appends the process fields (`ppid` to `user_ns`) and returns whether
    /// the executable's path was not valid UTF-8 (its `exe_raw` is due).
    @inline(__always)
    private static func appendProcess<Keys: KeyWriter>(_ event: FileEvent, keys object: Keys,
                                                       into output: inout LineCursor) -> Bool {
        var rawExe = false
        // `event.process.…`, not a local copy of the process: that retained
        // its executable's bytes and mount and its cgroup for every line.
        if object.key(.ppid, &output) { output.appendDecimal(UInt64(event.process.ppid)) }
        if object.key(.processStartTime, &output) {
            output.appendRFC3339(event.process.startTime)
            output.append(UInt8(ascii: "\""))
        }
        if object.key(.exe, &output) {
            let valid = event.process.executable?.bytes.withUnsafeBufferPointer { bytes in
                output.append(UInt8(ascii: "\""))
                defer { output.append(UInt8(ascii: "\"")) }
                return output.appendJSONEscaped(bytes)
            }
            if let valid { rawExe = !valid } else { output.appendStatic("null") }
        }
        if object.key(.loginUID, &output) { output.appendOptionalDecimal(event.process.loginUID) }
        if object.key(.sessionID, &output) { output.appendOptionalDecimal(event.process.sessionID) }
        if object.key(.euid, &output) { output.appendDecimal(UInt64(event.process.euid)) }
        if object.key(.egid, &output) { output.appendDecimal(UInt64(event.process.egid)) }
        if object.key(.user, &output) { output.appendOptionalString(event.process.userName) }
        if object.key(.group, &output) { output.appendOptionalString(event.process.groupName) }
        if object.key(.effectiveUser, &output) { output.appendOptionalString(event.process.effectiveUserName) }
        if object.key(.effectiveGroup, &output) { output.appendOptionalString(event.process.effectiveGroupName) }
        if object.key(.cgroupID, &output) { output.appendDecimal(event.process.cgroupID) }
        if object.key(.cgroupPath, &output) {
            if event.process.cgroup?.path.withUnsafeBufferPointer({ output.appendJSONString($0) }) == nil {
                output.appendStatic("null")
            }
        }
        if object.key(.containerID, &output) {
            if let containerID = event.process.cgroup?.containerID { output.appendJSONEscapedString(containerID) }
            output.append(UInt8(ascii: "\""))
        }
        if object.key(.containerRuntime, &output) {
            output.appendOptionalString(event.process.cgroup?.runtime?.rawValue)
        }
        if object.key(.mountNamespace, &output) { output.appendDecimal(UInt64(event.process.mountNamespace)) }
        if object.key(.pidNamespace, &output) { output.appendDecimal(UInt64(event.process.pidNamespace)) }
        if object.key(.userNamespace, &output) { output.appendDecimal(UInt64(event.process.userNamespace)) }
        return rawExe
    }

    /// The event's line as a `String` (with its `"\n"`): for tests and tools,
    /// not for the hot path.
    public func line(_ event: FileEvent) -> String {
        var output: [UInt8] = []
        encode(event, into: &output)
        return String(decoding: output, as: UTF8.self)
    }
}

/// Writes the keys of one JSON object, and nothing for omitted fields.
///
/// Every key starts with its separating comma and, for a string value, ends
/// with its opening quote; `finish` turns the first comma into the object's
/// `{`, which spares a "first field?" test per field.
private protocol KeyWriter {
    /// Whether every key is the standard one (`standardJSONKey`), so a run
    /// of fields may be written as one constant.
    static var isStandard: Bool { get }
    /// Appends `field`'s key and returns true, or returns false when the
    /// field is omitted.
    func key(_ field: EventField, _ output: inout LineCursor) -> Bool
    /// Appends the constant fields after the others (each with its comma).
    func extras(_ output: inout LineCursor)
}

extension KeyWriter {
    /// Appends the extras, closes the object and the line.
    @inline(__always)
    func finish(_ output: inout LineCursor) {
        extras(&output)
        if output.count == 0 {
            output.append(UInt8(ascii: "{"))  // every field omitted
        } else {
            output.replaceFirst(with: UInt8(ascii: "{"))  // was the first field's comma
        }
        output.appendStatic("}\n")
    }
}

/// The standard schema: every field, under its constant key.
private struct StandardKeys: KeyWriter {
    static var isStandard: Bool { true }

    @inline(__always)
    func key(_ field: EventField, _ output: inout LineCursor) -> Bool {
        output.appendStatic(field.standardJSONKey)
        return true
    }

    func extras(_ output: inout LineCursor) {}
}

/// A `fields` layout: its keys, escaped when it was built.
private struct LayoutKeys: KeyWriter {
    let layout: EventFieldLayout
    static var isStandard: Bool { false }

    @inline(__always)
    func key(_ field: EventField, _ output: inout LineCursor) -> Bool {
        let from = layout.jsonKeyOffsets[field.rawValue], to = layout.jsonKeyOffsets[field.rawValue + 1]
        guard from < to else { return false }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: layout.jsonKeyBytes[from..<to]))
        return true
    }

    func extras(_ output: inout LineCursor) {
        layout.jsonExtras.withUnsafeBufferPointer { output.append(contentsOf: $0) }
    }
}

extension EventField {
    /// The key as `EventFieldLayout` writes it for the standard schema
    /// (comma, key, and a string value's opening quote), as a constant.
    var standardJSONKey: StaticString {
        switch self {
        case .eventType: #","event_type":""#
        case .timestamp: #","timestamp":""#
        case .pid: #","pid":"#
        case .tid: #","tid":"#
        case .uid: #","uid":"#
        case .gid: #","gid":"#
        case .comm: #","comm":""#
        case .flags: #","flags":"#
        case .mode: #","mode":"#
        case .srcInode: #","src_inode":"#
        case .srcFilename: #","src_filename":""#
        case .srcMountID: #","src_mount_id":"#
        case .targetInode: #","target_inode":"#
        case .targetFilename: #","target_filename":""#
        case .targetMountID: #","target_mount_id":"#
        case .retval: #","retval":"#
        case .error: #","error":"#
        case .backend: #","backend":""#
        case .srcPathTruncated: #","src_path_truncated":"#
        case .srcPathFromCaller: #","src_path_from_caller":"#
        case .targetPathTruncated: #","target_path_truncated":"#
        case .targetPathFromCaller: #","target_path_from_caller":"#
        case .srcPathDeleted: #","src_path_deleted":"#
        case .srcPathDetached: #","src_path_detached":"#
        case .targetPathDeleted: #","target_path_deleted":"#
        case .targetPathDetached: #","target_path_detached":"#
        case .srcPathForeignMountNs: #","src_path_foreign_mount_ns":"#
        case .targetPathForeignMountNs: #","target_path_foreign_mount_ns":"#
        case .srcProcessPath: #","src_process_path":"#
        case .targetProcessPath: #","target_process_path":"#
        case .commRaw: #","comm_raw":""#
        case .srcFilenameRaw: #","src_filename_raw":""#
        case .ppid: #","ppid":"#
        case .processStartTime: #","process_start_time":""#
        case .exe: #","exe":"#
        case .loginUID: #","loginuid":"#
        case .sessionID: #","sessionid":"#
        case .euid: #","euid":"#
        case .egid: #","egid":"#
        case .user: #","user":"#
        case .group: #","group":"#
        case .effectiveUser: #","euser":"#
        case .effectiveGroup: #","egroup":"#
        case .cgroupID: #","cgroup_id":"#
        case .cgroupPath: #","cgroup_path":"#
        case .containerID: #","container_id":""#
        case .containerRuntime: #","container_runtime":"#
        case .mountNamespace: #","mnt_ns":"#
        case .pidNamespace: #","pid_ns":"#
        case .userNamespace: #","user_ns":"#
        case .srcDevice: #","src_device":"#
        case .srcFileType: #","src_file_type":"#
        case .srcLinkCount: #","src_nlink":"#
        case .srcMountPoint: #","src_mount_point":"#
        case .srcFSType: #","src_fstype":"#
        case .targetDevice: #","target_device":"#
        case .targetFileType: #","target_file_type":"#
        case .targetLinkCount: #","target_nlink":"#
        case .targetMountPoint: #","target_mount_point":"#
        case .targetFSType: #","target_fstype":"#
        case .flagNames: #","flag_names":""#
        case .setattr: #","setattr":"#
        case .modifyBytes: #","modify_bytes":"#
        case .eventID: #","event_id":"#
        case .host: #","host":"#
        case .targetFilenameRaw: #","target_filename_raw":""#
        case .exeRaw: #","exe_raw":""#
        }
    }
}

extension PathResolution {
    /// What `*_path_truncated` reports (see `PathResolution.incomplete`).
    var isIncomplete: Bool { !isDisjoint(with: Self.incomplete) }
}

extension ByteOutput {
    mutating func appendBool(_ value: Bool) {
        if value { appendStatic("true") } else { appendStatic("false") }
    }

    mutating func appendOptionalDecimal(_ value: UInt32?) {
        if let value { appendDecimal(UInt64(value)) } else { appendStatic("null") }
    }

    /// A JSON string, or `null`. Names from account databases and mount
    /// tables are escaped like file names (they are just as hostile).
    mutating func appendOptionalString(_ value: String?) {
        guard let value else { return appendStatic("null") }
        append(UInt8(ascii: "\""))
        appendJSONEscapedString(value)
        append(UInt8(ascii: "\""))
    }

    /// A setattr's values as an object with every member (null: left as
    /// it was), or `null` for other events.
    mutating func appendAttributes(_ change: AttributeChange?) {
        guard let change else { return appendStatic("null") }
        appendStatic(#"{"mode":"#)
        appendOptionalDecimal(change.mode)
        appendStatic(#","uid":"#)
        appendOptionalDecimal(change.uid)
        appendStatic(#","gid":"#)
        appendOptionalDecimal(change.gid)
        appendStatic(#","size":"#)
        if let size = change.size { appendDecimal(size) } else { appendStatic("null") }
        appendStatic(#","atime":"#)
        appendTimeChange(change.accessTime)
        appendStatic(#","mtime":"#)
        appendTimeChange(change.modificationTime)
        appendStatic(#","xattr":"#)
        appendExtendedAttribute(change.extendedAttribute)
        append(UInt8(ascii: "}"))
    }

    /// `{"op":"set"|"remove","name":"…"}`, with `name_raw` (base64 of the
    /// exact bytes) when the name is not valid UTF-8, or `null`.
    mutating func appendExtendedAttribute(_ change: ExtendedAttributeChange?) {
        guard let change else { return appendStatic("null") }
        appendStatic(change.operation == .set ? #"{"op":"set","name":""# : #"{"op":"remove","name":""#)
        let valid = change.name.withUnsafeBufferPointer { appendJSONEscaped($0) }
        append(UInt8(ascii: "\""))
        if !valid {
            appendStatic(#","name_raw":""#)
            change.name.withUnsafeBufferPointer { appendBase64($0) }
            append(UInt8(ascii: "\""))
        }
        append(UInt8(ascii: "}"))
    }

    /// RFC 3339 for an explicit time, `"now"` for the current time, or `null`.
    mutating func appendTimeChange(_ time: AttributeChange.Time?) {
        switch time {
        case nil: appendStatic("null")
        case .now?: appendStatic(#""now""#)
        case .at(let timestamp)?:
            append(UInt8(ascii: "\""))
            appendRFC3339(timestamp)
            append(UInt8(ascii: "\""))
        }
    }

    /// `"major:minor"` of the path's device, or `null` when unknown.
    // These two take the path's fields, not the path: an `EventPath?`
    // argument made of `event.source` was a copy of the path, retaining its
    // bytes and mount, for every line.
    mutating func appendDevice(_ device: UInt32?) {
        guard let device, device != 0 else { return appendStatic("null") }
        append(UInt8(ascii: "\""))
        DeviceNumber.appendText(device, into: &self)
        append(UInt8(ascii: "\""))
    }

    mutating func appendFileType(mode: UInt32?) {
        guard let type = mode.flatMap({ FileType(mode: $0) }) else { return appendStatic("null") }
        append(UInt8(ascii: "\""))
        appendStatic(type.staticName)
        append(UInt8(ascii: "\""))
    }

    /// `bytes` escaped as a JSON string, quotes included (a mount point).
    mutating func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>) {
        append(UInt8(ascii: "\""))
        _ = appendJSONEscaped(bytes)
        append(UInt8(ascii: "\""))
    }

    /// A path as its process sees it (`EventPath.withProcessPath`), as a
    /// JSON string, or `null`. Lossy like the file names; their `*_raw`
    /// holds the exact bytes.
    mutating func appendProcessPath(_ bytes: UnsafeBufferPointer<UInt8>?) {
        guard let bytes else { return appendStatic("null") }
        appendJSONString(bytes)
    }
}

extension BackendKind {
    /// `rawValue` as a constant, so formatters copy it without touching `String`.
    var staticName: StaticString {
        switch self {
        case .fentry: "fentry"
        case .kprobe: "kprobe"
        case .tracepoint: "tracepoint"
        }
    }
}
