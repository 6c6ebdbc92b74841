/// The fields of an event, in JSON output order: the one schema every
/// output is derived from.
///
/// `schema` gives each field its JSON key, what kind of value it holds and,
/// from that, its SQLite column and type. The JSON encoder's key table, the
/// SQLite sink's columns and INSERT, the `fields` transform's accepted
/// names, the disk buffer codec's field list and the check of
/// docs/events.md all read it, so a field is added here (and where its
/// value comes from), not in each output.
///
/// The last four are the companions: present only when their value is not
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
    case eventID, host
    case commRaw, srcFilenameRaw, targetFilenameRaw, exeRaw

    /// What a field holds, which decides how each output writes it.
    public enum Kind: Sendable, Hashable {
        /// Always a string.
        case text
        /// A string, or null when not known or not applicable.
        case optionalText
        case number
        /// A number, or null when not known or not applicable.
        case optionalNumber
        /// A JSON boolean; 0 or 1 in SQLite.
        case flag
        /// An instant: RFC 3339 text in JSON, nanoseconds since the epoch in SQLite.
        case time
        /// A JSON object, or null; its JSON text in SQLite.
        case optionalObject
        /// A name's exact bytes, present only when they are not UTF-8:
        /// base64 text in JSON, a BLOB in SQLite.
        case rawBytes

        /// The type docs/events.md gives it.
        public var documentedType: String {
            switch self {
            case .text, .time, .rawBytes: "string"
            case .optionalText: "string or null"
            case .number: "number"
            case .optionalNumber: "number or null"
            case .flag: "bool"
            case .optionalObject: "object or null"
            }
        }

        /// The type of its SQLite column.
        public var sqliteType: String {
            switch self {
            case .text, .optionalText, .optionalObject: "TEXT"
            case .number, .optionalNumber, .flag, .time: "INTEGER"
            case .rawBytes: "BLOB"
            }
        }
    }

    /// One row of the schema.
    public struct Schema: Sendable, Hashable {
        /// The key in the standard JSON schema.
        public let name: String
        public let kind: Kind
        /// The SQLite column: `name`, unless that is an SQL keyword or
        /// would break a naming rule.
        public let column: String

        init(_ name: String, _ kind: Kind, column: String? = nil) {
            self.name = name
            self.kind = kind
            self.column = column ?? name
        }
    }

    /// The schema row of this field.
    public var schema: Schema { Self.schemas[rawValue] }

    /// The key in the standard schema.
    public var name: String { schema.name }

    public init?(name: String) {
        guard let index = Self.schemas.firstIndex(where: { $0.name == name }) else { return nil }
        self.init(rawValue: index)
    }

    /// The table itself, in case order.
    private static let schemas: [Schema] = allCases.map { field in
        switch field {
        case .eventType: Schema("event_type", .text)
        case .timestamp: Schema("timestamp", .time)
        case .pid: Schema("pid", .number)
        case .tid: Schema("tid", .number)
        case .uid: Schema("uid", .number)
        case .gid: Schema("gid", .number)
        case .comm: Schema("comm", .text)
        case .flags: Schema("flags", .number)
        case .mode: Schema("mode", .number)
        case .srcInode: Schema("src_inode", .number)
        case .srcFilename: Schema("src_filename", .text)
        case .srcMountID: Schema("src_mount_id", .number)
        case .targetInode: Schema("target_inode", .number)
        case .targetFilename: Schema("target_filename", .text)
        case .targetMountID: Schema("target_mount_id", .number)
        case .retval: Schema("retval", .number)
        case .error: Schema("error", .optionalText)
        case .backend: Schema("backend", .text)
        case .srcPathTruncated: Schema("src_path_truncated", .flag)
        case .srcPathFromCaller: Schema("src_path_from_caller", .flag)
        case .targetPathTruncated: Schema("target_path_truncated", .flag)
        case .targetPathFromCaller: Schema("target_path_from_caller", .flag)
        case .srcPathDeleted: Schema("src_path_deleted", .flag)
        case .srcPathDetached: Schema("src_path_detached", .flag)
        case .targetPathDeleted: Schema("target_path_deleted", .flag)
        case .targetPathDetached: Schema("target_path_detached", .flag)
        case .srcPathForeignMountNs: Schema("src_path_foreign_mount_ns", .flag)
        case .targetPathForeignMountNs: Schema("target_path_foreign_mount_ns", .flag)
        case .srcProcessPath: Schema("src_process_path", .optionalText)
        case .targetProcessPath: Schema("target_process_path", .optionalText)
        case .ppid: Schema("ppid", .number)
        case .processStartTime: Schema("process_start_time", .time)
        case .exe: Schema("exe", .optionalText)
        case .loginUID: Schema("loginuid", .optionalNumber)
        case .sessionID: Schema("sessionid", .optionalNumber)
        case .euid: Schema("euid", .number)
        case .egid: Schema("egid", .number)
        // GROUP is an SQL keyword; one naming rule for the four names.
        case .user: Schema("user", .optionalText, column: "user_name")
        case .group: Schema("group", .optionalText, column: "group_name")
        case .effectiveUser: Schema("euser", .optionalText, column: "euser_name")
        case .effectiveGroup: Schema("egroup", .optionalText, column: "egroup_name")
        case .cgroupID: Schema("cgroup_id", .number)
        case .cgroupPath: Schema("cgroup_path", .optionalText)
        case .containerID: Schema("container_id", .text)
        case .containerRuntime: Schema("container_runtime", .optionalText)
        case .mountNamespace: Schema("mnt_ns", .number)
        case .pidNamespace: Schema("pid_ns", .number)
        case .userNamespace: Schema("user_ns", .number)
        case .srcDevice: Schema("src_device", .optionalText)
        case .srcFileType: Schema("src_file_type", .optionalText)
        case .srcLinkCount: Schema("src_nlink", .number)
        case .srcMountPoint: Schema("src_mount_point", .optionalText)
        case .srcFSType: Schema("src_fstype", .optionalText)
        case .targetDevice: Schema("target_device", .optionalText)
        case .targetFileType: Schema("target_file_type", .optionalText)
        case .targetLinkCount: Schema("target_nlink", .number)
        case .targetMountPoint: Schema("target_mount_point", .optionalText)
        case .targetFSType: Schema("target_fstype", .optionalText)
        case .flagNames: Schema("flag_names", .text)
        case .setattr: Schema("setattr", .optionalObject)
        case .modifyBytes: Schema("modify_bytes", .optionalNumber)
        case .eventID: Schema("event_id", .optionalText)
        case .host: Schema("host", .optionalText)
        case .commRaw: Schema("comm_raw", .rawBytes)
        case .srcFilenameRaw: Schema("src_filename_raw", .rawBytes)
        case .targetFilenameRaw: Schema("target_filename_raw", .rawBytes)
        case .exeRaw: Schema("exe_raw", .rawBytes)
        }
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

    /// Whether the value is always a JSON string, so its key is written
    /// with the value's opening quote (`error` may be null).
    var opensString: Bool {
        switch schema.kind {
        case .text, .time, .rawBytes: true
        default: false
        }
    }
}
