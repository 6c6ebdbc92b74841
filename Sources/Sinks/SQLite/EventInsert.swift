#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore
import GRDBSQLite

/// The INSERT the sink runs: one statement of `rows` rows, prepared once
/// when the database opens; each event is bound into the next free row,
/// and the statement is stepped when every row is bound, or by `finish`
/// before a commit (rows left unbound are skipped: their timestamp is NULL).
///
/// One step per `rows` events rather than per event because each execution
/// of a statement costs the same whatever it inserts: opening and closing
/// a cursor on the table and each index, and allocating, then freeing at
/// the reset, the buffers the records are built in (about ten mallocs).
///
/// Values go straight to SQLite's C binding functions, never through an
/// array of values, and nothing is copied by SQLite (SQLITE_STATIC): every
/// value that is not a constant is copied into `arena`, which lives until
/// the step. So an event costs no allocation on the Swift side, and none in
/// SQLite for its values.
final class EventInsert {
    private let handle: OpaquePointer
    private let connection: WriteConnection
    /// Events one statement inserts.
    let rows: Int
    /// Rows bound since the last step.
    private var filled = 0
    /// Where devices, flag names and setattr objects are written, reused for every event.
    private var scratch: [UInt8] = []
    /// The bound rows' values, until the step.
    private var arena = BindingArena(capacity: 16_384)
    private static let columns = EventField.allCases.count

    init(_ connection: WriteConnection, rows: Int = 32) throws(SQLiteFailure) {
        // Within the build's limit on parameters (32766 since SQLite 3.32, 999 before).
        let limit = Int(sqlite3_limit(connection.handle, SQLITE_LIMIT_VARIABLE_NUMBER, -1))
        self.rows = max(1, min(rows, limit / Self.columns))
        handle = try connection.prepare(SQLiteSchema.insertSQL(rows: self.rows))
        self.connection = connection
    }

    deinit {
        // Before the connection closes: an unfinalized statement keeps it open.
        sqlite3_finalize(handle)
    }

    /// Binds `event` into the next row, stepping the statement (into the
    /// transaction the caller opened) once every row is bound. Returns how
    /// many events that step found already stored (a retry, a replay),
    /// which it left as they were; 0 when it did not step. On a failure the
    /// rows bound so far are discarded: the caller rolls back.
    func add(_ event: FileEvent) throws(SQLiteFailure) -> UInt64 {
        do {
            try bindRow(event)
        } catch {
            discard()
            throw (error as? SQLiteFailure) ?? SQLiteFailure(code: SQLITE_ERROR, message: "\(error)")
        }
        filled += 1
        return filled == rows ? try step() : 0
    }

    /// Steps the rows bound so far, if any; before a commit. Returns how
    /// many of them were already stored.
    func finish() throws(SQLiteFailure) -> UInt64 {
        filled > 0 ? try step() : 0
    }

    /// Forgets the rows bound since the last step (the batch is rolled back).
    func discard() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)  // every row unbound: NULL timestamps, skipped
        arena.reset()
        filled = 0
    }

    private func step() throws(SQLiteFailure) -> UInt64 {
        let before = sqlite3_total_changes64(connection.handle)
        let stepped = sqlite3_step(handle)
        let bound = UInt64(filled)
        defer { discard() }  // SQLite must keep no pointer into the arena
        guard stepped == SQLITE_DONE else { throw failure(stepped) }
        return bound &- UInt64(sqlite3_total_changes64(connection.handle) - before)
    }

    /// Binds every parameter of the next row.
    private func bindRow(_ event: FileEvent) throws {
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

    /// Binds the row's parameters; names are copied (the event's buffers
    /// are only borrowed for this call).
    private func insert(_ event: FileEvent, comm: UnsafeBufferPointer<UInt8>, source: UnsafeBufferPointer<UInt8>,
                        target: UnsafeBufferPointer<UInt8>?) throws {
        try check(sqlite3_bind_text(handle, slot(EventField.eventType), Self.typeNames[Int(event.type.rawValue)], -1, nil))
        try bind(event.timestamp.nanosecondsSinceEpoch, .timestamp)
        try bind(Int64(event.pid), .pid)
        try bind(Int64(event.tid), .tid)
        try bind(Int64(event.uid), .uid)
        try bind(Int64(event.gid), .gid)
        try bindName(comm, .comm, .commRaw)
        try bind(Int64(event.flags), .flags)
        try bind(Int64(event.mode), .mode)

        // Integers are signed 64-bit in SQLite; an inode above 2^63-1 keeps its bit pattern.
        try bind(Int64(bitPattern: event.source.inode), .srcInode)
        try bindName(source, .srcFilename, .srcFilenameRaw)
        try bind(Int64(event.source.mountID), .srcMountID)
        try bindFlags(event.source.resolution, .srcPathTruncated, .srcPathFromCaller)
        try bindPlace(event.source, source, .srcPathDeleted, .srcPathDetached, .srcPathForeignMountNs,
                      .srcProcessPath)

        // Left NULL (cleared) when the event has no second path.
        if let path = event.target, let target {
            try bind(Int64(bitPattern: path.inode), .targetInode)
            try bindName(target, .targetFilename, .targetFilenameRaw)
            try bind(Int64(path.mountID), .targetMountID)
            try bindFlags(path.resolution, .targetPathTruncated, .targetPathFromCaller)
            try bindPlace(path, target, .targetPathDeleted, .targetPathDetached, .targetPathForeignMountNs,
                          .targetProcessPath)
        }

        try bind(event.retval, .retval)
        if event.retval < 0 {
            let code = 0 &- event.retval
            if let name = ErrnoName.staticName(code) {
                try check(sqlite3_bind_text(handle, slot(EventField.error),
                                            UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self),
                                            Int32(name.utf8CodeUnitCount), nil))
            } else {
                var name = ErrnoName.name(code)  // an unnamed errno: rare, copied
                try check(name.withUTF8 { bindText($0, .error) })
            }
        }
        try check(sqlite3_bind_text(handle, slot(EventField.backend), Self.backendNames[event.backend]!, -1, nil))
        try bindContext(event)

        // A field a `fields` transform removed (to keep it out of the output,
        // e.g. for privacy) is stored as NULL: nothing removed upstream lands
        // here. Renames and added constant fields do not apply to a fixed
        // table. The timestamp stays: retention and time queries need it.
        if let layout = event.fields {
            for field in Self.removableFields where layout.name(of: field) == nil {
                try check(sqlite3_bind_null(handle, slot(field)))
            }
        }

    }

    /// Who acted and where the objects are (see `ProcessContext`). These
    /// values live in shared strings and arrays, not in buffers borrowed
    /// for the step, so they are copied into the arena.
    private func bindContext(_ event: FileEvent) throws {
        let process = event.process
        try bind(Int64(process.ppid), .ppid)
        try bind(process.startTime.nanosecondsSinceEpoch, .processStartTime)
        if let exe = process.executable {
            try exe.bytes.withUnsafeBufferPointer { try bindCopiedName($0, .exe, .exeRaw) }
        }
        if let loginUID = process.loginUID { try bind(Int64(loginUID), .loginUID) }
        if let sessionID = process.sessionID { try bind(Int64(sessionID), .sessionID) }
        try bind(Int64(process.euid), .euid)
        try bind(Int64(process.egid), .egid)
        try bindString(process.userName, .user)
        try bindString(process.groupName, .group)
        try bindString(process.effectiveUserName, .effectiveUser)
        try bindString(process.effectiveGroupName, .effectiveGroup)
        try bind(Int64(bitPattern: process.cgroupID), .cgroupID)
        if let cgroup = process.cgroup {
            try cgroup.path.withUnsafeBufferPointer { try bindCopiedText($0, .cgroupPath) }
        }
        try bindString(process.containerID, .containerID)
        try bindString(process.cgroup?.runtime?.rawValue, .containerRuntime)
        try bind(Int64(process.mountNamespace), .mountNamespace)
        try bind(Int64(process.pidNamespace), .pidNamespace)
        try bind(Int64(process.userNamespace), .userNamespace)
        try bindObject(event.source, .srcDevice, .srcFileType, .srcLinkCount, .srcMountPoint, .srcFSType)
        if let target = event.target {
            try bindObject(target, .targetDevice, .targetFileType, .targetLinkCount, .targetMountPoint, .targetFSType)
        }
        // The operation's details: as the JSON fields (`setattr` is that
        // JSON object: json_extract(setattr, '$.mode') reads it).
        scratch.removeAll(keepingCapacity: true)
        event.appendFlagNames(to: &scratch)
        try scratch.withUnsafeBufferPointer { try check(bindText($0, .flagNames)) }
        if let change = event.attributes {
            scratch.removeAll(keepingCapacity: true)
            change.appendJSON(to: &scratch)
            try scratch.withUnsafeBufferPointer { try check(bindText($0, .setattr)) }
        }
        if let bytes = event.bytesWritten { try bind(bytes, .modifyBytes) }
        if let id = event.id {
            scratch.removeAll(keepingCapacity: true)
            id.append(to: &scratch)
            try scratch.withUnsafeBufferPointer { try check(bindText($0, .eventID)) }
        }
        try bindString(event.origin?.host, .host)
    }

    /// A path's object: its device as "major:minor", file type, link count and mount.
    private func bindObject(_ path: EventPath, _ device: EventField, _ fileType: EventField, _ linkCount: EventField,
                            _ mountPoint: EventField, _ fsType: EventField) throws {
        if path.device != 0 {
            scratch.removeAll(keepingCapacity: true)
            DeviceNumber.appendText(path.device, to: &scratch)
            try scratch.withUnsafeBufferPointer { try check(bindText($0, device)) }
        }
        if let type = FileType(mode: path.mode) {
            try check(sqlite3_bind_text(handle, slot(fileType), Self.fileTypeNames[type]!, -1, nil))
        }
        try bind(Int64(path.linkCount), linkCount)
        if let mount = path.mount {
            try mount.mountPoint.withUnsafeBufferPointer { try bindCopiedText($0, mountPoint) }
            try bindString(mount.fsType, fsType)
        }
    }

    /// A name not borrowed for the step: text (repaired when not UTF-8), and
    /// its exact bytes in `raw` when it is not UTF-8.
    private func bindCopiedName(_ bytes: UnsafeBufferPointer<UInt8>, _ text: EventField, _ raw: EventField) throws {
        try bindCopiedText(bytes, text)
        if !NameText.isValidUTF8(bytes) {
            try check(bindCopiedBlob(bytes, raw))
        }
    }

    /// Bytes as text, copied; invalid UTF-8 repaired, as the JSON output shows it.
    private func bindCopiedText(_ bytes: UnsafeBufferPointer<UInt8>, _ column: EventField) throws {
        if NameText.isValidUTF8(bytes) {
            try check(bindText(bytes, column))
        } else {
            try check(NameText.repaired(bytes).withUnsafeBufferPointer { bindText($0, column) })
        }
    }

    /// A string, copied; nothing (NULL) for nil.
    private func bindString(_ text: String?, _ column: EventField) throws {
        guard var text else { return }
        try check(text.withUTF8 { bindText($0, column) })
    }

    private func bind(_ value: Int64, _ column: EventField) throws {
        try check(sqlite3_bind_int64(handle, slot(column), value))
    }

    /// The two JSON booleans of a path, as 0/1.
    private func bindFlags(_ resolution: PathResolution, _ truncated: EventField, _ fromCaller: EventField) throws {
        try bind(resolution.isDisjoint(with: .incomplete) ? 0 : 1, truncated)
        try bind(resolution.contains(.callerSuffix) ? 1 : 0, fromCaller)
    }

    /// Where the path is: its flags as 0/1, and the process's own path
    /// (NULL when unknown; lossy like the JSON field, whose exact bytes
    /// are the end of the `*_raw` name). `bytes` is the path's, borrowed
    /// for the step: the process path is bound in place, as its end.
    private func bindPlace(_ path: EventPath, _ bytes: UnsafeBufferPointer<UInt8>, _ deleted: EventField,
                           _ detached: EventField, _ foreign: EventField, _ processPath: EventField) throws {
        try bind(path.resolution.contains(.deleted) ? 1 : 0, deleted)
        try bind(path.resolution.contains(.detached) ? 1 : 0, detached)
        try bind(path.resolution.contains(.foreignMountNamespace) ? 1 : 0, foreign)
        guard let offset = path.processRootOffset, offset <= bytes.count else { return }
        guard offset < bytes.count else {  // the object is the process root itself
            return try check(sqlite3_bind_text(handle, slot(processPath), Self.slash, 1, nil))
        }
        let suffix = UnsafeBufferPointer(rebasing: bytes[offset...])
        if NameText.isValidUTF8(suffix) {
            try check(bindText(suffix, processPath))
        } else {
            try check(NameText.repaired(suffix).withUnsafeBufferPointer { bindText($0, processPath) })
        }
    }

    /// Valid UTF-8: the text as it is, `*_raw` left NULL. Otherwise the
    /// repaired text (see `NameText`; a rare copy) and the exact bytes.
    private func bindName(_ bytes: UnsafeBufferPointer<UInt8>, _ text: EventField, _ raw: EventField) throws {
        if NameText.isValidUTF8(bytes) {
            try check(bindText(bytes, text))
        } else {
            try check(NameText.repaired(bytes).withUnsafeBufferPointer { bindText($0, text) })
            try check(bindCopiedBlob(bytes, raw))
        }
    }

    /// Bytes as text, copied into the arena (or, when they do not fit
    /// there, by SQLite). An empty buffer may have no address, which SQLite
    /// would bind as NULL: an empty name is bound as an empty string.
    private func bindText(_ bytes: UnsafeBufferPointer<UInt8>, _ column: EventField) -> Int32 {
        guard bytes.count > 0 else {
            return sqlite3_bind_text(handle, slot(column), Self.empty, 0, nil)
        }
        guard let stored = arena.store(UnsafeRawBufferPointer(bytes)) else {
            return sqlite3_bind_text(handle, slot(column), UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self),
                                     Int32(bytes.count), sqliteTransient)
        }
        return sqlite3_bind_text(handle, slot(column), stored.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
    }

    /// The parameter of `field` in the row being bound.
    @inline(__always) private func slot(_ field: EventField) -> Int32 {
        Int32(filled &* Self.columns &+ field.rawValue &+ 1)
    }

    /// Exact bytes as a BLOB, copied into the arena (or by SQLite).
    private func bindCopiedBlob(_ bytes: UnsafeBufferPointer<UInt8>, _ column: EventField) -> Int32 {
        if let stored = arena.store(UnsafeRawBufferPointer(bytes)) {
            return sqlite3_bind_blob(handle, slot(column), stored, Int32(bytes.count), nil)
        }
        return sqlite3_bind_blob(handle, slot(column), bytes.baseAddress, Int32(bytes.count), sqliteTransient)
    }

    private func check(_ code: Int32) throws(SQLiteFailure) {
        guard code == SQLITE_OK else { throw failure(code) }
    }

    private func failure(_ code: Int32) -> SQLiteFailure {
        connection.failure(code)
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
    /// Every field but `timestamp`.
    private static let removableFields = EventField.allCases.filter { $0 != .timestamp }

    private static func cString(_ text: String) -> UnsafePointer<CChar> {
        UnsafePointer(strdup(text)!)
    }
}

/// SQLite copies the value: the C macro SQLITE_TRANSIENT, which Swift cannot import.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
