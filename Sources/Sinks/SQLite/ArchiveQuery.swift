import Foundation
import FSProbeCore
import GRDB

/// A question asked of the sqlite sink's database (`fsprobe query`): which
/// events, in id order, match a time window, a path or glob, event types, a
/// process name, a host, and come after a cursor.
///
/// The SQL is built here, in one place, so that the command runs and the
/// tests explain exactly the same statement. It is written for the indexes
/// the schema creates (`SQLiteSchema`), so every filtered query is an index
/// search, never a scan of the table:
/// - `--path`: `src_filename = ? OR target_filename = ?`, which SQLite runs
///   as a MULTI-INDEX OR over `events_by_src_time` and the partial
///   `events_by_target_time` (the equality implies `IS NOT NULL`), with the
///   time window as a range on each index's second column.
/// - `--glob` with a literal prefix (`/etc/*`): the same two indexes, each
///   searched on the prefix's range (SQLite's LIKE/GLOB optimisation, which
///   needs the pattern as a literal, not a parameter).
/// - a time window otherwise: `events_by_time`, named (INDEXED BY) because
///   the planner, without statistics, would rather walk the table in id
///   order than sort the rows the index finds.
/// - nothing else: the rowid range after the cursor.
/// The id condition is written `+id` whenever an index does the selecting,
/// which keeps the planner from trading that index for the rowid range.
package struct ArchiveQuery: Sendable, Equatable {
    /// How `path` matches `src_filename` or `target_filename`.
    package enum PathMatch: Sendable, Equatable {
        /// Equal to this path.
        case exact(String)
        /// Matching this SQLite GLOB pattern (`*`, `?`, `[...]`; case-sensitive).
        case glob(String)
    }

    /// Events at or after this time (nanoseconds since the epoch).
    package var since: Int64?
    /// Events before this time (exclusive, so consecutive windows do not overlap).
    package var until: Int64?
    package var path: PathMatch?
    /// Empty: every type.
    package var types: [EventType] = []
    /// Exactly this process name (`comm`).
    package var comm: String?
    /// Events of this host (`host`, an archive of a fleet's events).
    package var host: String?
    /// Only rows whose id is greater (the resume cursor; 0: from the start).
    package var after: Int64 = 0
    package var limit: Int?

    package init(since: Int64? = nil, until: Int64? = nil, path: PathMatch? = nil, types: [EventType] = [],
                 comm: String? = nil, host: String? = nil, after: Int64 = 0, limit: Int? = nil) {
        self.since = since
        self.until = until
        self.path = path
        self.types = types
        self.comm = comm
        self.host = host
        self.after = after
        self.limit = limit
    }

    /// The statement and its arguments.
    package var statement: (sql: String, arguments: StatementArguments) {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        var timeConditions: [String] = []
        if let since {
            timeConditions.append("timestamp >= ?")
            arguments.append(since)
        }
        if let until {
            timeConditions.append("timestamp < ?")
            arguments.append(until)
        }
        conditions += timeConditions

        var pathIndexed = false
        switch path {
        case .exact(let path)?:
            conditions.append("(src_filename = ? OR target_filename = ?)")
            arguments += [path, path]
            pathIndexed = true
        case .glob(let pattern)?:
            let literal = Self.quoted(pattern)
            conditions.append("(src_filename GLOB \(literal) OR target_filename GLOB \(literal))")
            pathIndexed = Self.hasLiteralPrefix(pattern)
        case nil:
            break
        }
        if !types.isEmpty {
            var seen = Set<EventType>()
            let names = types.filter { seen.insert($0).inserted }.map(\.name)
            conditions.append("event_type IN (" + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")")
            arguments += names.map { $0 as (any DatabaseValueConvertible)? }
        }
        if let comm {
            conditions.append("comm = ?")
            arguments.append(comm)
        }
        if let host {
            conditions.append("host = ?")
            arguments.append(host)
        }
        let timeIndexed = !pathIndexed && !timeConditions.isEmpty
        let indexed = pathIndexed || timeIndexed
        conditions.insert(indexed ? "+id > ?" : "id > ?", at: 0)
        arguments.insert(after, at: 0)

        var sql = "SELECT * FROM \(SQLiteSchema.table)"
        if timeIndexed { sql += " INDEXED BY events_by_time" }
        sql += " WHERE " + conditions.joined(separator: " AND ") + " ORDER BY id"
        if let limit {
            sql += " LIMIT ?"
            arguments.append(limit)
        }
        return (sql, StatementArguments(arguments))
    }

    /// Calls `body` with each matching row's id and event, in id order.
    package func run(_ db: Database, _ body: (Int64, FileEvent) throws -> Void) throws {
        let (sql, arguments) = statement
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            try body((row["id"] as Int64?) ?? 0, Self.event(from: row))
        }
    }

    /// A GLOB pattern can use an index on its literal prefix: the pattern
    /// must not start with a wildcard.
    static func hasLiteralPrefix(_ pattern: String) -> Bool {
        guard let first = pattern.first else { return false }
        return !"*?[".contains(first)
    }

    /// `text` as an SQL string literal.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    // MARK: Opening

    /// Why a database cannot be queried.
    package struct OpenError: Error, CustomStringConvertible {
        package let description: String
    }

    /// Opens `path` read-only, as a reader beside a running sink (WAL):
    /// it never writes, never migrates, and sees the last commit. Refuses
    /// a file that is not an fsprobe database.
    package static func open(_ path: String) throws -> DatabaseQueue {
        func refuse(_ reason: String) -> OpenError {
            OpenError(description: "cannot query \(path.lineSafe): \(reason) (expected a database written by fsprobe's sqlite sink)")
        }
        var status = stat()
        guard stat(path, &status) == 0 else { throw refuse(String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw refuse("not a regular file") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "fsprobe query"
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            let hasTable = try queue.read { try $0.tableExists(SQLiteSchema.table) }
            guard hasTable else { throw refuse("it has no events table") }
        } catch let error as OpenError {
            throw error
        } catch let error as DatabaseError {
            throw refuse(error.message ?? "\(error.resultCode)")
        }
        return queue
    }

    // MARK: Times

    /// A time on the command line: a duration ago (`90s`, `30m`, `1h`,
    /// `7d`, `2w`) or an RFC 3339 time (`2026-12-06T08:00:00Z`,
    /// `2026-12-06T09:00:00.5+01:00`), in nanoseconds since the epoch;
    /// nil if it is neither.
    package static func instant(_ text: String, now: Int64) -> Int64? {
        if let duration = duration(text) { return now - duration }
        return rfc3339(text)
    }

    /// What `instant` accepts, for error messages.
    package static let acceptedInstants =
        "a duration ago (90s, 30m, 1h, 7d, 2w) or an RFC 3339 time (2026-12-06T08:00:00Z)"

    /// `90s`, `30m`, `1h`, `7d`, `2w` in nanoseconds.
    static func duration(_ text: String) -> Int64? {
        DurationText.nanoseconds(text, units: "smhdw", minimum: 0)
    }

    /// RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`), also as the
    /// JSON output writes it, in nanoseconds since the epoch.
    package static func rfc3339(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + digits] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += digits
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2) else { return nil }
        guard (1...12).contains(month), (1...daysIn(month, of: year)).contains(day), hour < 24, minute < 60,
              second < 61 else { return nil }
        var nanoseconds = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                if digits < 9 { nanoseconds = nanoseconds * 10 + Int(bytes[index] - 0x30) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { nanoseconds *= 10 }
        }
        var offset = 0
        if expect("Zz") {
            offset = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Int64(seconds) * 1_000_000_000 + Int64(nanoseconds)
    }

    private static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
    private static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    // MARK: Rows to events

    /// The event a row holds, as the sink received it, so far as the
    /// formatters can tell: names from their exact bytes (`*_raw` when
    /// present), flags, context and setattr values from their columns.
    /// What a row cannot say comes back as the formatters show it anyway
    /// (a path's file type without its permission bits, a truncated path
    /// whose start was missing, unless its tail came from the caller, then
    /// its end). A NULL (a field a `fields` transform removed) becomes the
    /// field's zero.
    package static func event(from row: Row) -> FileEvent {
        let type = (row["event_type"] as String?).flatMap(EventType.init(name:)) ?? .open
        let commBytes = name(row, "comm")
        var event = FileEvent(
            type: type,
            timestamp: EventTimestamp(nanosecondsSinceEpoch: int(row, "timestamp") ?? 0),
            pid: uint32(row, "pid"), tid: uint32(row, "tid"), uid: uint32(row, "uid"), gid: uint32(row, "gid"),
            comm: commBytes.withUnsafeBytes { ProcessName(bytes: $0) },
            flags: uint32(row, "flags"), mode: uint32(row, "mode"),
            retval: int(row, "retval") ?? 0,
            source: path(row, "src"),
            target: (row["target_filename"] as String?) == nil && (row["target_filename_raw"] as Data?) == nil
                ? nil : path(row, "target"),
            backend: (row["backend"] as String?).flatMap(BackendKind.init(rawValue:)) ?? .tracepoint)

        var process = ProcessContext()
        process.ppid = uint32(row, "ppid")
        process.startTime = EventTimestamp(nanosecondsSinceEpoch: int(row, "process_start_time") ?? 0)
        if (row["exe"] as String?) != nil || (row["exe_raw"] as Data?) != nil {
            process.executable = EventPath(bytes: name(row, "exe"))
        }
        process.loginUID = (row["loginuid"] as Int64?).map { UInt32(truncatingIfNeeded: $0) }
        process.sessionID = (row["sessionid"] as Int64?).map { UInt32(truncatingIfNeeded: $0) }
        process.euid = uint32(row, "euid")
        process.egid = uint32(row, "egid")
        process.userName = row["user_name"] as String?
        process.groupName = row["group_name"] as String?
        process.effectiveUserName = row["euser_name"] as String?
        process.effectiveGroupName = row["egroup_name"] as String?
        process.cgroupID = UInt64(bitPattern: int(row, "cgroup_id") ?? 0)
        if let cgroupPath = row["cgroup_path"] as String? {
            let runtime = (row["container_runtime"] as String?).flatMap(ContainerRuntime.init(rawValue:))
            process.cgroup = CgroupInfo(id: process.cgroupID, path: Array(cgroupPath.utf8),
                                        containerID: (row["container_id"] as String?) ?? "", runtime: runtime)
        }
        process.mountNamespace = uint32(row, "mnt_ns")
        process.pidNamespace = uint32(row, "pid_ns")
        process.userNamespace = uint32(row, "user_ns")
        event.process = process

        if let text = row["setattr"] as String? { event.attributes = attributes(text) }
        event.bytesWritten = int(row, "modify_bytes")
        if let text = row["event_id"] as String?, let id = EventID(text: Array(text.utf8)) {
            event.origin = EventOrigin(host: (row["host"] as String?) ?? "", stream: id.stream)
            event.sequence = id.sequence
        }
        return event
    }

    /// A name's exact bytes: its `*_raw` BLOB, else its text.
    private static func name(_ row: Row, _ column: String) -> [UInt8] {
        if let raw = row[column + "_raw"] as Data? { return Array(raw) }
        return Array(((row[column] as String?) ?? "").utf8)
    }

    private static func int(_ row: Row, _ column: String) -> Int64? {
        row[column] as Int64?
    }

    private static func uint32(_ row: Row, _ column: String) -> UInt32 {
        UInt32(truncatingIfNeeded: (row[column] as Int64?) ?? 0)
    }

    private static func flag(_ row: Row, _ column: String) -> Bool {
        ((row[column] as Int64?) ?? 0) != 0
    }

    /// The source or target path of a row (`prefix`: "src" or "target").
    private static func path(_ row: Row, _ prefix: String) -> EventPath {
        let bytes = name(row, prefix + "_filename")
        var resolution: PathResolution = []
        let fromCaller = flag(row, prefix + "_path_from_caller")
        if fromCaller { resolution.insert(.callerSuffix) }
        // One column for three causes: a cut caller's string is the likely
        // one when the tail came from the caller, a walk stopped short otherwise.
        if flag(row, prefix + "_path_truncated") { resolution.insert(fromCaller ? .callerTruncated : .truncated) }
        if flag(row, prefix + "_path_deleted") { resolution.insert(.deleted) }
        if flag(row, prefix + "_path_detached") { resolution.insert(.detached) }
        if flag(row, prefix + "_path_foreign_mount_ns") { resolution.insert(.foreignMountNamespace) }

        var device: UInt32 = 0
        if let text = row[prefix + "_device"] as String? {
            let parts = text.split(separator: ":")
            if parts.count == 2, let major = UInt32(parts[0]), let minor = UInt32(parts[1]) {
                device = DeviceNumber.make(major: major, minor: minor) ?? 0
            }
        }
        let mode = (row[prefix + "_file_type"] as String?).flatMap(FileType.init(rawValue:)).map(\.modeBits) ?? 0
        let mountID = uint32(row, prefix + "_mount_id")
        var mount: MountInfo?
        if let mountPoint = row[prefix + "_mount_point"] as String? {
            mount = MountInfo(mountID: mountID, device: device, mountPoint: Array(mountPoint.utf8),
                              fsType: (row[prefix + "_fstype"] as String?) ?? "")
        }
        let processPath = row[prefix + "_process_path"] as String?
        return EventPath(bytes: bytes, inode: UInt64(bitPattern: int(row, prefix + "_inode") ?? 0), mountID: mountID,
                         device: device, mode: mode, resolution: resolution,
                         processRootOffset: processPath.flatMap { processRootOffset(of: Array($0.utf8), in: bytes) },
                         linkCount: uint32(row, prefix + "_nlink"), mount: mount)
    }

    /// Where the process's own path starts in `bytes`: the path is their
    /// end, as text (invalid UTF-8 repaired, see `NameText`). "/" alone is
    /// the process root itself.
    static func processRootOffset(of processPath: [UInt8], in bytes: [UInt8]) -> Int? {
        if processPath == [UInt8(ascii: "/")], bytes.last != UInt8(ascii: "/") { return bytes.count }
        if bytes.count >= processPath.count, bytes.suffix(processPath.count).elementsEqual(processPath) {
            return bytes.count - processPath.count
        }
        // Not UTF-8: the suffix whose repaired text is the process path.
        return bytes.withUnsafeBufferPointer { buffer in
            var offset = buffer.count
            while offset > 0 {
                offset -= 1
                if NameText.repaired(UnsafeBufferPointer(rebasing: buffer[offset...])) == processPath { return offset }
            }
            return nil
        }
    }

    /// A setattr's values from the JSON object the sink stored.
    static func attributes(_ text: String) -> AttributeChange? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
        func number(_ key: String) -> Int64? { (object[key] as? NSNumber)?.int64Value }
        func time(_ key: String) -> AttributeChange.Time? {
            guard let text = object[key] as? String else { return nil }
            if text == "now" { return .now }
            return rfc3339(text).map { .at(EventTimestamp(nanosecondsSinceEpoch: $0)) }
        }
        var change = AttributeChange(
            mode: number("mode").map { UInt32(truncatingIfNeeded: $0) },
            uid: number("uid").map { UInt32(truncatingIfNeeded: $0) },
            gid: number("gid").map { UInt32(truncatingIfNeeded: $0) },
            size: number("size"), accessTime: time("atime"), modificationTime: time("mtime"))
        if let xattr = object["xattr"] as? [String: Any] {
            let operation: ExtendedAttributeChange.Operation = (xattr["op"] as? String) == "remove" ? .remove : .set
            var name = Array(((xattr["name"] as? String) ?? "").utf8)
            if let raw = (xattr["name_raw"] as? String).flatMap({ Data(base64Encoded: $0) }) { name = Array(raw) }
            change.extendedAttribute = ExtendedAttributeChange(operation, name: name)
        }
        return change
    }
}
