#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore
import GRDB
import GRDBSQLite

/// The one INSERT the sink runs per event: prepared once when the database
/// opens, then re-bound and stepped for every event.
///
/// Values go straight to SQLite's C binding functions rather than through
/// GRDB's `StatementArguments`, which would build an array of values (and a
/// `String` per name) for every event. Names are bound in place, without
/// copying (SQLITE_STATIC): the statement is stepped while the event's
/// buffers are borrowed, and its bindings cleared before they are given
/// back. So an event with valid UTF-8 names costs no allocation on the Swift
/// side; SQLite's own record building still uses its allocator.
final class EventInsert {
    /// Kept so GRDB finalizes it; released before the connection closes.
    private let statement: Statement
    private let handle: SQLiteStatement
    private let connection: SQLiteConnection
    /// Where devices, flag names and setattr objects are written, reused for every event.
    private var scratch: [UInt8] = []

    init(_ db: Database) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE) }
        statement = try db.makeStatement(sql: SQLiteSchema.insertSQL)
        handle = statement.sqliteStatement
        self.connection = connection
    }

    /// Inserts `event` (into the transaction the caller opened).
    func run(_ event: FileEvent) throws {
        try event.comm.withBytes { comm in
            try event.source.bytes.withUnsafeBufferPointer { source in
                if let target = event.target {
                    try target.bytes.withUnsafeBufferPointer { target in
                        try insert(event, comm: comm.assumingMemoryBound(to: UInt8.self), source: source, target: target)
                    }
                } else {
                    try insert(event, comm: comm.assumingMemoryBound(to: UInt8.self), source: source, target: nil)
                }
            }
        }
    }

    /// Binds every parameter, steps, and clears the bindings, all while the
    /// name buffers are valid.
    private func insert(_ event: FileEvent, comm: UnsafeBufferPointer<UInt8>, source: UnsafeBufferPointer<UInt8>,
                        target: UnsafeBufferPointer<UInt8>?) throws {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)  // SQLite must keep no pointer into the event
        }
        try check(sqlite3_bind_text(handle, EventColumn.event_type.rawValue, Self.typeNames[Int(event.type.rawValue)], -1, nil))
        try bind(event.timestamp.nanosecondsSinceEpoch, .timestamp)
        try bind(Int64(event.pid), .pid)
        try bind(Int64(event.tid), .tid)
        try bind(Int64(event.uid), .uid)
        try bind(Int64(event.gid), .gid)
        try bindName(comm, .comm, .comm_raw)
        try bind(Int64(event.flags), .flags)
        try bind(Int64(event.mode), .mode)

        // Integers are signed 64-bit in SQLite; an inode above 2^63-1 keeps its bit pattern.
        try bind(Int64(bitPattern: event.source.inode), .src_inode)
        try bindName(source, .src_filename, .src_filename_raw)
        try bind(Int64(event.source.mountID), .src_mount_id)
        try bindFlags(event.source.resolution, .src_path_truncated, .src_path_from_caller)
        try bindPlace(event.source, source, .src_path_deleted, .src_path_detached, .src_path_foreign_mount_ns,
                      .src_process_path)

        // Left NULL (cleared) when the event has no second path.
        if let path = event.target, let target {
            try bind(Int64(bitPattern: path.inode), .target_inode)
            try bindName(target, .target_filename, .target_filename_raw)
            try bind(Int64(path.mountID), .target_mount_id)
            try bindFlags(path.resolution, .target_path_truncated, .target_path_from_caller)
            try bindPlace(path, target, .target_path_deleted, .target_path_detached, .target_path_foreign_mount_ns,
                          .target_process_path)
        }

        try bind(event.retval, .retval)
        if event.retval < 0 {
            let code = 0 &- event.retval
            if let name = ErrnoName.staticName(code) {
                try check(sqlite3_bind_text(handle, EventColumn.error.rawValue,
                                            UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self),
                                            Int32(name.utf8CodeUnitCount), nil))
            } else {
                var name = ErrnoName.name(code)  // an unnamed errno: rare, copied
                try check(name.withUTF8 { bindText($0, .error, copy: true) })
            }
        }
        try check(sqlite3_bind_text(handle, EventColumn.backend.rawValue, Self.backendNames[event.backend]!, -1, nil))
        try bindContext(event)

        // A field a `fields` transform removed (to keep it out of the output,
        // e.g. for privacy) is stored as NULL: nothing removed upstream lands
        // here. Renames and added constant fields do not apply to a fixed
        // table. The timestamp stays: retention and time queries need it.
        if let layout = event.fields {
            for (field, column) in Self.removableColumns where layout.name(of: field) == nil {
                try check(sqlite3_bind_null(handle, column.rawValue))
            }
        }

        let stepped = sqlite3_step(handle)
        guard stepped == SQLITE_DONE else { throw failure(stepped) }
    }

    /// Who acted and where the objects are (see `ProcessContext`). These
    /// values live in shared strings and arrays, not in buffers borrowed
    /// for the step, so SQLite copies them (its allocator, not Swift's).
    private func bindContext(_ event: FileEvent) throws {
        let process = event.process
        try bind(Int64(process.ppid), .ppid)
        try bind(process.startTime.nanosecondsSinceEpoch, .process_start_time)
        if let exe = process.executable {
            try exe.bytes.withUnsafeBufferPointer { try bindCopiedName($0, .exe, .exe_raw) }
        }
        if let loginUID = process.loginUID { try bind(Int64(loginUID), .loginuid) }
        if let sessionID = process.sessionID { try bind(Int64(sessionID), .sessionid) }
        try bind(Int64(process.euid), .euid)
        try bind(Int64(process.egid), .egid)
        try bindString(process.userName, .user_name)
        try bindString(process.groupName, .group_name)
        try bindString(process.effectiveUserName, .euser_name)
        try bindString(process.effectiveGroupName, .egroup_name)
        try bind(Int64(bitPattern: process.cgroupID), .cgroup_id)
        if let cgroup = process.cgroup {
            try cgroup.path.withUnsafeBufferPointer { try bindCopiedText($0, .cgroup_path) }
        }
        try bindString(process.containerID, .container_id)
        try bindString(process.cgroup?.runtime?.rawValue, .container_runtime)
        try bind(Int64(process.mountNamespace), .mnt_ns)
        try bind(Int64(process.pidNamespace), .pid_ns)
        try bind(Int64(process.userNamespace), .user_ns)
        try bindObject(event.source, .src_device, .src_file_type, .src_nlink, .src_mount_point, .src_fstype)
        if let target = event.target {
            try bindObject(target, .target_device, .target_file_type, .target_nlink, .target_mount_point, .target_fstype)
        }
        // The operation's details: as the JSON fields (`setattr` is that
        // JSON object: json_extract(setattr, '$.mode') reads it).
        scratch.removeAll(keepingCapacity: true)
        event.appendFlagNames(to: &scratch)
        try scratch.withUnsafeBufferPointer { try check(bindText($0, .flag_names, copy: true)) }
        if let change = event.attributes {
            scratch.removeAll(keepingCapacity: true)
            change.appendJSON(to: &scratch)
            try scratch.withUnsafeBufferPointer { try check(bindText($0, .setattr, copy: true)) }
        }
        if let bytes = event.bytesWritten { try bind(bytes, .modify_bytes) }
    }

    /// A path's object: its device as "major:minor", file type, link count and mount.
    private func bindObject(_ path: EventPath, _ device: EventColumn, _ fileType: EventColumn, _ linkCount: EventColumn,
                            _ mountPoint: EventColumn, _ fsType: EventColumn) throws {
        if path.device != 0 {
            scratch.removeAll(keepingCapacity: true)
            DeviceNumber.appendText(path.device, to: &scratch)
            try scratch.withUnsafeBufferPointer { try check(bindText($0, device, copy: true)) }
        }
        if let type = FileType(mode: path.mode) {
            try check(sqlite3_bind_text(handle, fileType.rawValue, Self.fileTypeNames[type]!, -1, nil))
        }
        try bind(Int64(path.linkCount), linkCount)
        if let mount = path.mount {
            try mount.mountPoint.withUnsafeBufferPointer { try bindCopiedText($0, mountPoint) }
            try bindString(mount.fsType, fsType)
        }
    }

    /// A name not borrowed for the step: text (repaired when not UTF-8), and
    /// its exact bytes in `raw` when it is not UTF-8.
    private func bindCopiedName(_ bytes: UnsafeBufferPointer<UInt8>, _ text: EventColumn, _ raw: EventColumn) throws {
        try bindCopiedText(bytes, text)
        if !NameText.isValidUTF8(bytes) {
            try check(sqlite3_bind_blob(handle, raw.rawValue, bytes.baseAddress, Int32(bytes.count), sqliteTransient))
        }
    }

    /// Bytes as text, copied; invalid UTF-8 repaired, as the JSON output shows it.
    private func bindCopiedText(_ bytes: UnsafeBufferPointer<UInt8>, _ column: EventColumn) throws {
        if NameText.isValidUTF8(bytes) {
            try check(bindText(bytes, column, copy: true))
        } else {
            try check(NameText.repaired(bytes).withUnsafeBufferPointer { bindText($0, column, copy: true) })
        }
    }

    /// A string, copied; nothing (NULL) for nil.
    private func bindString(_ text: String?, _ column: EventColumn) throws {
        guard var text else { return }
        try check(text.withUTF8 { bindText($0, column, copy: true) })
    }

    private func bind(_ value: Int64, _ column: EventColumn) throws {
        try check(sqlite3_bind_int64(handle, column.rawValue, value))
    }

    /// The two JSON booleans of a path, as 0/1.
    private func bindFlags(_ resolution: PathResolution, _ truncated: EventColumn, _ fromCaller: EventColumn) throws {
        try bind(resolution.isDisjoint(with: .incomplete) ? 0 : 1, truncated)
        try bind(resolution.contains(.callerSuffix) ? 1 : 0, fromCaller)
    }

    /// Where the path is: its flags as 0/1, and the process's own path
    /// (NULL when unknown; lossy like the JSON field, whose exact bytes
    /// are the end of the `*_raw` name). `bytes` is the path's, borrowed
    /// for the step: the process path is bound in place, as its end.
    private func bindPlace(_ path: EventPath, _ bytes: UnsafeBufferPointer<UInt8>, _ deleted: EventColumn,
                           _ detached: EventColumn, _ foreign: EventColumn, _ processPath: EventColumn) throws {
        try bind(path.resolution.contains(.deleted) ? 1 : 0, deleted)
        try bind(path.resolution.contains(.detached) ? 1 : 0, detached)
        try bind(path.resolution.contains(.foreignMountNamespace) ? 1 : 0, foreign)
        guard let offset = path.processRootOffset, offset <= bytes.count else { return }
        guard offset < bytes.count else {  // the object is the process root itself
            return try check(sqlite3_bind_text(handle, processPath.rawValue, Self.slash, 1, nil))
        }
        let suffix = UnsafeBufferPointer(rebasing: bytes[offset...])
        if NameText.isValidUTF8(suffix) {
            try check(bindText(suffix, processPath, copy: false))
        } else {
            try check(NameText.repaired(suffix).withUnsafeBufferPointer { bindText($0, processPath, copy: true) })
        }
    }

    /// Valid UTF-8: the text as it is, `*_raw` left NULL. Otherwise the
    /// repaired text (see `NameText`; a rare copy) and the exact bytes.
    private func bindName(_ bytes: UnsafeBufferPointer<UInt8>, _ text: EventColumn, _ raw: EventColumn) throws {
        if NameText.isValidUTF8(bytes) {
            try check(bindText(bytes, text, copy: false))
        } else {
            try check(NameText.repaired(bytes).withUnsafeBufferPointer { bindText($0, text, copy: true) })
            try check(sqlite3_bind_blob(handle, raw.rawValue, bytes.baseAddress, Int32(bytes.count), nil))
        }
    }

    /// `copy: false` only for memory that stays valid until the step. An
    /// empty buffer may have no address, which SQLite would bind as NULL:
    /// an empty name is bound as an empty string instead.
    private func bindText(_ bytes: UnsafeBufferPointer<UInt8>, _ column: EventColumn, copy: Bool) -> Int32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return sqlite3_bind_text(handle, column.rawValue, Self.empty, 0, nil)
        }
        return sqlite3_bind_text(handle, column.rawValue, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
                                 Int32(bytes.count), copy ? sqliteTransient : nil)
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw failure(code) }
    }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
    }

    // Constants made once, so nothing per event builds them. The names are
    // C strings that live as long as the process, which lets SQLite bind
    // them without copying; never written after initialization, hence
    // `nonisolated(unsafe)` for the pointers.
    nonisolated(unsafe) private static let typeNames: [UnsafePointer<CChar>] = {
        var names = [UnsafePointer<CChar>](repeating: cString(""), count: Int(EventType.allCases.map(\.rawValue).max()!) + 1)
        for type in EventType.allCases { names[Int(type.rawValue)] = cString(type.name) }
        return names
    }()
    nonisolated(unsafe) private static let backendNames = Dictionary(uniqueKeysWithValues: BackendKind.allCases.map { ($0, cString($0.rawValue)) })
    nonisolated(unsafe) private static let empty = cString("")
    nonisolated(unsafe) private static let slash = cString("/")
    nonisolated(unsafe) private static let fileTypeNames = Dictionary(uniqueKeysWithValues: FileType.allCases.map { ($0, cString($0.rawValue)) })
    /// The column of every field but `timestamp`.
    private static let removableColumns: [(EventField, EventColumn)] = [
        (.eventType, .event_type), (.pid, .pid), (.tid, .tid), (.uid, .uid), (.gid, .gid),
        (.comm, .comm), (.commRaw, .comm_raw), (.flags, .flags), (.mode, .mode),
        (.srcInode, .src_inode), (.srcFilename, .src_filename), (.srcFilenameRaw, .src_filename_raw),
        (.srcMountID, .src_mount_id), (.targetInode, .target_inode), (.targetFilename, .target_filename),
        (.targetFilenameRaw, .target_filename_raw), (.targetMountID, .target_mount_id),
        (.retval, .retval), (.error, .error), (.backend, .backend),
        (.srcPathTruncated, .src_path_truncated), (.srcPathFromCaller, .src_path_from_caller),
        (.targetPathTruncated, .target_path_truncated), (.targetPathFromCaller, .target_path_from_caller),
        (.srcPathDeleted, .src_path_deleted), (.srcPathDetached, .src_path_detached),
        (.srcPathForeignMountNs, .src_path_foreign_mount_ns), (.srcProcessPath, .src_process_path),
        (.targetPathDeleted, .target_path_deleted), (.targetPathDetached, .target_path_detached),
        (.targetPathForeignMountNs, .target_path_foreign_mount_ns), (.targetProcessPath, .target_process_path),
        (.ppid, .ppid), (.processStartTime, .process_start_time), (.exe, .exe), (.exeRaw, .exe_raw),
        (.loginUID, .loginuid), (.sessionID, .sessionid), (.euid, .euid), (.egid, .egid),
        (.user, .user_name), (.group, .group_name), (.effectiveUser, .euser_name), (.effectiveGroup, .egroup_name),
        (.cgroupID, .cgroup_id), (.cgroupPath, .cgroup_path), (.containerID, .container_id),
        (.containerRuntime, .container_runtime), (.mountNamespace, .mnt_ns), (.pidNamespace, .pid_ns),
        (.userNamespace, .user_ns),
        (.srcDevice, .src_device), (.srcFileType, .src_file_type), (.srcLinkCount, .src_nlink),
        (.srcMountPoint, .src_mount_point), (.srcFSType, .src_fstype),
        (.targetDevice, .target_device), (.targetFileType, .target_file_type), (.targetLinkCount, .target_nlink),
        (.targetMountPoint, .target_mount_point), (.targetFSType, .target_fstype),
        (.flagNames, .flag_names), (.setattr, .setattr), (.modifyBytes, .modify_bytes),
    ]

    private static func cString(_ text: String) -> UnsafePointer<CChar> {
        UnsafePointer(strdup(text)!)
    }
}

/// SQLite copies the value: the C macro SQLITE_TRANSIENT, which Swift cannot import.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
