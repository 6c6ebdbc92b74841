/// The fields of the JSON output, in output order (see `JSONLineEncoder`).
///
/// The last three are the companions: present only when their value is not
/// valid UTF-8, they follow their field (`companion`) when it is removed or
/// renamed, so redacting a name never leaves its exact bytes behind.
public enum EventField: Int, CaseIterable, Sendable, Hashable {
    case eventType, timestamp, pid, tid, uid, gid, comm, flags, mode
    case srcInode, srcFilename, srcMountID
    case targetInode, targetFilename, targetMountID
    case retval, error, backend
    case srcPathTruncated, srcPathFromCaller, targetPathTruncated, targetPathFromCaller
    case srcPathDeleted, srcPathDetached, targetPathDeleted, targetPathDetached
    case srcPathForeignMountNs, targetPathForeignMountNs, srcProcessPath, targetProcessPath
    case ppid, processStartTime, exe, loginUID, sessionID, euid, egid
    case user, group, effectiveUser, effectiveGroup
    case cgroupID, cgroupPath, containerID, containerRuntime, mountNamespace, pidNamespace, userNamespace
    case srcDevice, srcFileType, srcLinkCount, srcMountPoint, srcFSType
    case targetDevice, targetFileType, targetLinkCount, targetMountPoint, targetFSType
    case flagNames, setattr, modifyBytes
    case commRaw, srcFilenameRaw, targetFilenameRaw, exeRaw

    /// The key in the standard schema.
    public var name: String {
        switch self {
        case .eventType: "event_type"
        case .timestamp: "timestamp"
        case .pid: "pid"
        case .tid: "tid"
        case .uid: "uid"
        case .gid: "gid"
        case .comm: "comm"
        case .flags: "flags"
        case .mode: "mode"
        case .srcInode: "src_inode"
        case .srcFilename: "src_filename"
        case .srcMountID: "src_mount_id"
        case .targetInode: "target_inode"
        case .targetFilename: "target_filename"
        case .targetMountID: "target_mount_id"
        case .retval: "retval"
        case .error: "error"
        case .backend: "backend"
        case .srcPathTruncated: "src_path_truncated"
        case .srcPathFromCaller: "src_path_from_caller"
        case .targetPathTruncated: "target_path_truncated"
        case .targetPathFromCaller: "target_path_from_caller"
        case .srcPathDeleted: "src_path_deleted"
        case .srcPathDetached: "src_path_detached"
        case .targetPathDeleted: "target_path_deleted"
        case .targetPathDetached: "target_path_detached"
        case .srcPathForeignMountNs: "src_path_foreign_mount_ns"
        case .targetPathForeignMountNs: "target_path_foreign_mount_ns"
        case .srcProcessPath: "src_process_path"
        case .targetProcessPath: "target_process_path"
        case .ppid: "ppid"
        case .processStartTime: "process_start_time"
        case .exe: "exe"
        case .loginUID: "loginuid"
        case .sessionID: "sessionid"
        case .euid: "euid"
        case .egid: "egid"
        case .user: "user"
        case .group: "group"
        case .effectiveUser: "euser"
        case .effectiveGroup: "egroup"
        case .cgroupID: "cgroup_id"
        case .cgroupPath: "cgroup_path"
        case .containerID: "container_id"
        case .containerRuntime: "container_runtime"
        case .mountNamespace: "mnt_ns"
        case .pidNamespace: "pid_ns"
        case .userNamespace: "user_ns"
        case .srcDevice: "src_device"
        case .srcFileType: "src_file_type"
        case .srcLinkCount: "src_nlink"
        case .srcMountPoint: "src_mount_point"
        case .srcFSType: "src_fstype"
        case .targetDevice: "target_device"
        case .targetFileType: "target_file_type"
        case .targetLinkCount: "target_nlink"
        case .targetMountPoint: "target_mount_point"
        case .targetFSType: "target_fstype"
        case .flagNames: "flag_names"
        case .setattr: "setattr"
        case .modifyBytes: "modify_bytes"
        case .commRaw: "comm_raw"
        case .srcFilenameRaw: "src_filename_raw"
        case .targetFilenameRaw: "target_filename_raw"
        case .exeRaw: "exe_raw"
        }
    }

    public init?(name: String) {
        guard let match = EventField.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// The `*_raw` field holding this field's exact bytes, if it has one.
    public var companion: EventField? {
        switch self {
        case .comm: .commRaw
        case .srcFilename: .srcFilenameRaw
        case .targetFilename: .targetFilenameRaw
        case .exe: .exeRaw
        default: nil
        }
    }

    /// Whether the value is always a JSON string (`error` may be null).
    var opensString: Bool {
        switch self {
        case .eventType, .timestamp, .comm, .srcFilename, .targetFilename, .backend,
             .processStartTime, .containerID, .flagNames,
             .commRaw, .srcFilenameRaw, .targetFilenameRaw, .exeRaw: true
        default: false
        }
    }

    /// The field whose exact bytes this `*_raw` field holds, if it is one.
    public var companionOf: EventField? {
        switch self {
        case .commRaw: .comm
        case .srcFilenameRaw: .srcFilename
        case .targetFilenameRaw: .targetFilename
        case .exeRaw: .exe
        default: nil
        }
    }
}

/// How an event's JSON object differs from the standard schema: fields
/// renamed or omitted, and constant fields added at the end.
///
/// Events point to a shared, immutable layout (`FileEvent.fields`, nil for
/// the standard schema), so a transform that changes the fields costs a
/// pointer copy per event. The JSON keys and added values are escaped once,
/// here, so the encoder only copies bytes.
///
/// Keys are unique: whoever builds a layout (the `fields` transform) checks
/// that before.
public final class EventFieldLayout: @unchecked Sendable, Hashable, CustomStringConvertible {
    /// The layout of the standard schema (what nil stands for).
    public static let standard = EventFieldLayout(names: EventField.allCases.map(\.name), extras: [])

    /// The key of each field, indexed by `EventField.rawValue`; nil when omitted.
    public let names: [String?]
    /// Constant string fields written after the others, in order.
    public let extras: [(name: String, value: String)]

    /// `,"key":` of every field, JSON-escaped, back to back, with the
    /// opening `"` of the value for string fields (`opensString`) so the
    /// encoder appends both at once; field i's is
    /// `jsonKeyOffsets[i]..<jsonKeyOffsets[i + 1]`, empty when omitted.
    /// Raw memory written once here and freed with the layout (hence
    /// `@unchecked Sendable`: it is never written after `init`), so the
    /// encoder reads a key with no reference counting per field.
    let jsonKeyBytes: UnsafeMutableBufferPointer<UInt8>
    let jsonKeyOffsets: UnsafeMutableBufferPointer<Int>
    /// `,"key":"value"` for every extra, JSON-escaped, one after the other.
    let jsonExtras: [UInt8]

    init(names: [String?], extras: [(name: String, value: String)]) {
        precondition(names.count == EventField.allCases.count)
        self.names = names
        self.extras = extras
        var keys: [UInt8] = []
        var offsets = [0]
        for (field, name) in zip(EventField.allCases, names) {
            if let name {
                keys.appendStatic(",\"")
                keys.appendJSONEscapedString(name)
                keys.appendStatic("\":")
                if field.opensString { keys.append(UInt8(ascii: "\"")) }
            }
            offsets.append(keys.count)
        }
        jsonKeyBytes = .allocate(capacity: keys.count)
        _ = jsonKeyBytes.initialize(from: keys)
        jsonKeyOffsets = .allocate(capacity: offsets.count)
        _ = jsonKeyOffsets.initialize(from: offsets)
        var json: [UInt8] = []
        for extra in extras {
            json.appendStatic(",\"")
            json.appendJSONEscapedString(extra.name)
            json.appendStatic("\":\"")
            json.appendJSONEscapedString(extra.value)
            json.append(UInt8(ascii: "\""))
        }
        jsonExtras = json
    }

    deinit {
        jsonKeyBytes.deallocate()
        jsonKeyOffsets.deallocate()
    }

    /// The key of `field` in this layout, nil when omitted.
    public func name(of field: EventField) -> String? { names[field.rawValue] }

    /// Whether this layout writes exactly the standard schema.
    public var isStandard: Bool { extras.isEmpty && names == EventFieldLayout.standard.names }

    /// Every key this layout may write (omitted fields left out).
    public var keys: [String] { names.compactMap { $0 } + extras.map(\.name) }

    public static func == (lhs: EventFieldLayout, rhs: EventFieldLayout) -> Bool {
        lhs === rhs || (lhs.names == rhs.names && lhs.extras.elementsEqual(rhs.extras, by: { $0 == $1 }))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(names)
        for extra in extras {
            hasher.combine(extra.name)
            hasher.combine(extra.value)
        }
    }

    public var description: String {
        let changed = EventField.allCases.compactMap { field -> String? in
            switch names[field.rawValue] {
            case nil: "-\(field.name)"
            case field.name: nil
            case let name?: "\(field.name)=\(name)"
            }
        }
        return (changed + extras.map { "+\($0.name)" }).joined(separator: " ")
    }
}

extension Array where Element == UInt8 {
    /// Appends a string's UTF-8 as JSON string contents (always valid UTF-8,
    /// so no `*_raw` companion is needed).
    mutating func appendJSONEscapedString(_ text: String) {
        var text = text  // withUTF8 reads a native string in place, allocating nothing
        text.withUTF8 { _ = appendJSONEscaped($0) }
    }
}
