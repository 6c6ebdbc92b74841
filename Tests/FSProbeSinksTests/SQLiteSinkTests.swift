import Foundation
import FSProbeCore
import FSProbePipeline
import FSProbeSinkTestSupport
import FSProbeTestSupport
@testable import FSProbeSinks
import GRDB
import Testing

/// The sqlite sink against a real database file, read back through a second
/// connection as a user's query tool would.
@Suite struct SQLiteSinkTests {
    // MARK: Storage

    @Test func eventsReadBackExactlyFieldByFieldInOrder() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path

        var events = HostileNames.all.enumerated().map { makeEvent(seq: $0.offset, path: $0.element.bytes) }
        // Same text as "/tmp/\u{FFFD}" once repaired: only *_raw tells them apart.
        events.append(makeEvent(seq: 50, path: Array("/tmp/".utf8) + [0xFF]))
        var rename = makeEvent(.rename, seq: 51, path: HostileNames.all[0].bytes, target: HostileNames.all[2].bytes)
        rename.comm = [0xFF, 0x1B, 0x0A, 0x78].withUnsafeBytes { ProcessName(bytes: $0) }
        rename.target?.resolution = [.callerSuffix, .callerTruncated, .foreignMountNamespace]
        rename.target?.processRootOffset = 0
        rename.source.resolution = [.deleted, .detached]
        rename.source.processRootOffset = rename.source.bytes.count  // the process root itself: "/"
        rename.target?.inode = UInt64.max  // above Int64.max: stored as its bit pattern
        rename.backend = .fentry
        events.append(rename)
        var failed = makeEvent(.unlink, seq: 52, retval: -2)
        failed.source.resolution = [.truncated]
        failed.backend = .kprobe
        events.append(failed)
        events.append(makeEvent(.mkdir, seq: 53, retval: -4000))  // an errno without a name
        events.append(makeEvent(.link, seq: 54, path: [], target: Array("/tmp/link".utf8)))  // empty is '' not NULL
        for type in EventType.allCases { events.append(makeEvent(type, seq: 60 + Int(type.rawValue))) }
        var chmod = makeEvent(.setattr, seq: 68, retval: 0)
        chmod.flags = 1 | 8
        chmod.attributes = AttributeChange(mode: 0o4755, accessTime: .now,
                                           modificationTime: .at(EventTimestamp(nanosecondsSinceEpoch: baseTime)))
        events.append(chmod)
        var xattr = makeEvent(.setattr, seq: 100, retval: 0)
        xattr.flags = 16
        xattr.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: HostileNames.all[1].bytes))
        events.append(xattr)
        var write = makeEvent(.modify, seq: 69, retval: 512)
        write.bytesWritten = 512
        events.append(write)
        // Context from hostile sources too: executables, cgroups, mount points and account names.
        for (offset, name) in HostileNames.all.enumerated() {
            var event = makeEvent(.rename, seq: 70 + offset, target: Array("/tmp/t".utf8))
            event.process = ProcessContext(
                ppid: 1, startTime: EventTimestamp(nanosecondsSinceEpoch: baseTime - 1), loginUID: 1000,
                sessionID: offset % 2 == 0 ? nil : 3, euid: 0, egid: UInt32(offset),
                executable: EventPath(bytes: name.bytes), cgroupID: UInt64.max,
                cgroup: CgroupInfo(id: UInt64.max, path: name.bytes, containerID: offset % 2 == 0 ? "" : "c\(offset)",
                                   runtime: offset % 2 == 0 ? nil : .podman),
                mountNamespace: 4026531840, pidNamespace: 4026531836, userNamespace: .max,
                userName: "alice", groupName: nil, effectiveUserName: name.label, effectiveGroupName: "g\n")
            event.source.device = 4095 << 20 | 0xfffff
            event.source.mode = 0o020600
            event.source.linkCount = 7
            event.source.mount = MountInfo(mountID: 28, device: 1, mountPoint: name.bytes, fsType: "fuse.\(offset)")
            event.target?.mode = 0o040700
            events.append(event)
        }

        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        for event in events { try sink.write(event) }
        try sink.flush()

        let reader = try openReader(path)
        let rows = try reader.read { db in
            try Row.fetchAll(db, sql: """
                SELECT *, coalesce(comm_raw, CAST(comm AS BLOB)) AS comm_exact,
                       coalesce(src_filename_raw, CAST(src_filename AS BLOB)) AS src_exact,
                       coalesce(target_filename_raw, CAST(target_filename AS BLOB)) AS target_exact
                FROM events ORDER BY id
                """)
        }
        #expect(rows.count == events.count)
        for (row, event) in zip(rows, events) {
            try expectRow(row, equals: event)
        }

        // The documented exact-match rules: text plus "no raw" for a valid
        // name, the raw bytes for one that is not.
        for name in HostileNames.all.map(\.bytes) + [Array("/tmp/".utf8) + [0xFF]] {
            let matches: Int
            if let text = String(validating: name, as: UTF8.self) {
                matches = try reader.read {
                    try Int.fetchOne($0, sql: "SELECT count(*) FROM events WHERE src_filename = ? AND src_filename_raw IS NULL",
                                     arguments: [text])!
                }
            } else {
                matches = try reader.read {
                    try Int.fetchOne($0, sql: "SELECT count(*) FROM events WHERE src_filename_raw = ?", arguments: [Data(name)])!
                }
            }
            // The newline name is also the rename's source.
            #expect(matches == (name == HostileNames.all[0].bytes ? 2 : 1), "\(name)")
        }
        try sink.close()
    }

    /// Every column of `row` against the event, and the text columns against
    /// the JSON output's fields (both outputs must show a name the same way).
    private func expectRow(_ row: Row, equals event: FileEvent) throws {
        let json = try JSONSerialization.jsonObject(with: Data(JSONLineEncoder().line(event).utf8)) as! [String: Any]
        #expect(row["event_type"] as String? == event.type.name)
        #expect(row["timestamp"] as Int64? == event.timestamp.nanosecondsSinceEpoch)
        #expect(row["pid"] as Int64? == Int64(event.pid))
        #expect(row["tid"] as Int64? == Int64(event.tid))
        #expect(row["uid"] as Int64? == Int64(event.uid))
        #expect(row["gid"] as Int64? == Int64(event.gid))
        #expect(row["flags"] as Int64? == Int64(event.flags))
        #expect(row["mode"] as Int64? == Int64(event.mode))
        #expect(row["retval"] as Int64? == event.retval)
        #expect(row["error"] as String? == json["error"] as? String)
        #expect(row["backend"] as String? == event.backend.rawValue)

        let comm = event.comm.withBytes { Array($0) }
        #expect(row["comm_exact"] as Data? == Data(comm))
        #expect(row["comm"] as String? == json["comm"] as? String)
        #expect((row["comm_raw"] as Data?) == (json["comm_raw"] == nil ? nil : Data(comm)))

        #expect(row["src_inode"] as Int64? == Int64(bitPattern: event.source.inode))
        #expect(row["src_exact"] as Data? == Data(event.source.bytes))
        #expect(row["src_filename"] as String? == json["src_filename"] as? String)
        #expect((row["src_filename_raw"] as Data?) == (json["src_filename_raw"] == nil ? nil : Data(event.source.bytes)))
        #expect(row["src_mount_id"] as Int64? == Int64(event.source.mountID))
        #expect(row["src_path_truncated"] as Bool? == json["src_path_truncated"] as? Bool)
        #expect(row["src_path_from_caller"] as Bool? == json["src_path_from_caller"] as? Bool)
        for column in ["src_path_deleted", "src_path_detached", "src_path_foreign_mount_ns"] {
            #expect(row[column] as Bool? == json[column] as? Bool, "\(column)")
        }
        #expect(row["src_process_path"] as String? == json["src_process_path"] as? String)

        try expectContext(row, json, event)

        if let target = event.target {
            #expect(row["target_inode"] as Int64? == Int64(bitPattern: target.inode))
            #expect(row["target_exact"] as Data? == Data(target.bytes))
            #expect(row["target_filename"] as String? == json["target_filename"] as? String)
            #expect(row["target_mount_id"] as Int64? == Int64(target.mountID))
            #expect(row["target_path_truncated"] as Bool? == json["target_path_truncated"] as? Bool)
            #expect(row["target_path_from_caller"] as Bool? == json["target_path_from_caller"] as? Bool)
            for column in ["target_path_deleted", "target_path_detached", "target_path_foreign_mount_ns"] {
                #expect(row[column] as Bool? == json[column] as? Bool, "\(column)")
            }
            #expect(row["target_process_path"] as String? == json["target_process_path"] as? String)
        } else {
            for column in ["target_inode", "target_filename", "target_filename_raw", "target_mount_id",
                           "target_path_truncated", "target_path_from_caller", "target_path_deleted",
                           "target_path_detached", "target_path_foreign_mount_ns", "target_process_path"] {
                #expect((row[column] as DatabaseValue).isNull, "\(column)")
            }
        }
    }

    /// The context columns against the JSON fields they mirror.
    private func expectContext(_ row: Row, _ json: [String: Any], _ event: FileEvent) throws {
        var numbers = ["ppid", "loginuid", "sessionid", "euid", "egid", "cgroup_id", "mnt_ns", "pid_ns", "user_ns",
                       "src_nlink"]
        var texts = ["exe": "exe", "cgroup_path": "cgroup_path", "container_id": "container_id",
                     "container_runtime": "container_runtime", "user_name": "user", "group_name": "group",
                     "euser_name": "euser", "egroup_name": "egroup", "src_device": "src_device",
                     "src_file_type": "src_file_type", "src_mount_point": "src_mount_point", "src_fstype": "src_fstype"]
        if event.target != nil {
            numbers.append("target_nlink")
            for name in ["device", "file_type", "mount_point", "fstype"] { texts["target_" + name] = "target_" + name }
        }
        for column in numbers {
            let expected = (json[column] as? NSNumber).map { column == "cgroup_id" ? Int64(bitPattern: $0.uint64Value) : $0.int64Value }
            #expect(row[column] as Int64? == expected, "\(column)")
        }
        for (column, field) in texts {
            #expect(row[column] as String? == json[field] as? String, "\(column)")
        }
        #expect(row["process_start_time"] as Int64? == event.process.startTime.nanosecondsSinceEpoch)
        #expect(row["flag_names"] as String? == json["flag_names"] as? String)
        #expect(row["modify_bytes"] as Int64? == (json["modify_bytes"] as? NSNumber)?.int64Value)
        if let change = json["setattr"] as? [String: Any] {
            let stored = try JSONSerialization.jsonObject(with: Data((row["setattr"] as String? ?? "").utf8)) as? [String: Any]
            #expect(stored.map { NSDictionary(dictionary: $0) } == NSDictionary(dictionary: change))
        } else {
            #expect(row["setattr"] as String? == nil)
        }
        #expect((row["exe_raw"] as Data?) == (json["exe_raw"] == nil ? nil : event.process.executable.map { Data($0.bytes) }))
    }

    /// Redaction upstream must hold in the database too: a field a `fields`
    /// transform removed is NULL (with its `*_raw` bytes); renames and added
    /// fields leave the fixed columns as they are.
    /// The values an insert copies (executable, cgroup path, mount point,
    /// an executable's exact bytes) go to a buffer kept between events;
    /// values larger than it, then smaller ones again, are stored whole and
    /// never mixed with the previous event's.
    @Test func contextValuesOfAnySizeAreStoredWhole() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        func bytes(_ count: Int, _ fill: UInt8) -> [UInt8] { [UInt8(ascii: "/")] + Array(repeating: fill, count: count - 1) }
        let sizes = [10, 6000, 20, 9000, 3]
        var events: [FileEvent] = []
        for (offset, size) in sizes.enumerated() {
            var event = makeEvent(seq: offset)
            let exe = bytes(size, UInt8(ascii: "a") + UInt8(offset)) + [0xFF]  // not UTF-8: exe_raw too
            event.process = ProcessContext(
                ppid: 1, startTime: EventTimestamp(nanosecondsSinceEpoch: baseTime), loginUID: nil, sessionID: nil,
                euid: 0, egid: 0, executable: EventPath(bytes: exe), cgroupID: 1,
                cgroup: CgroupInfo(id: 1, path: bytes(size, UInt8(ascii: "k")), containerID: "", runtime: nil),
                mountNamespace: 1, pidNamespace: 1, userNamespace: 1,
                userName: String(repeating: "u", count: size), groupName: nil, effectiveUserName: nil, effectiveGroupName: nil)
            event.source.mount = MountInfo(mountID: 28, device: 1, mountPoint: bytes(size, UInt8(ascii: "m")), fsType: "ext4")
            events.append(event)
        }
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        for event in events { try sink.write(event) }
        try sink.close()

        let rows = try openReader(path).read {
            try Row.fetchAll($0, sql: "SELECT exe_raw, cgroup_path, src_mount_point, user_name FROM events ORDER BY id")
        }
        #expect(rows.count == sizes.count)
        for (row, (offset, size)) in zip(rows, sizes.enumerated()) {
            #expect(Array(row["exe_raw"] as Data? ?? Data()) == bytes(size, UInt8(ascii: "a") + UInt8(offset)) + [0xFF])
            #expect(row["cgroup_path"] as String? == String(decoding: bytes(size, UInt8(ascii: "k")), as: UTF8.self))
            #expect(row["src_mount_point"] as String? == String(decoding: bytes(size, UInt8(ascii: "m")), as: UTF8.self))
            #expect(row["user_name"] as String? == String(repeating: "u", count: size))
        }
    }

    @Test func fieldsRemovedUpstreamAreNotStored() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let fields = try FieldsTransform(name: "redact", options: FieldsOptions(ComponentOptions(component: "redact", values: [
            "remove": .list(["comm", "src_filename", "uid"]), "rename": .list(["pid=process_id"]), "add": .list(["site=lab"]),
        ])))
        let invalid = Array("/tmp/".utf8) + [0xFF]
        let invalidComm = [0xFF].withUnsafeBytes { ProcessName(bytes: $0) }
        var event = makeEvent(seq: 7, path: invalid)
        event.comm = invalidComm
        #expect(fields.apply(&event))
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        try sink.write(event)
        var unchanged = makeEvent(seq: 8, path: invalid)
        unchanged.comm = invalidComm
        try sink.write(unchanged)  // no layout: everything stored
        try sink.close()

        let rows = try openReader(path).read { try Row.fetchAll($0, sql: "SELECT * FROM events ORDER BY id") }
        for column in ["comm", "comm_raw", "src_filename", "src_filename_raw", "uid"] {
            #expect((rows[0][column] as DatabaseValue).isNull, "\(column)")
            #expect(!(rows[1][column] as DatabaseValue).isNull, "\(column)")
        }
        #expect(rows[0]["pid"] as Int64? == 1007)
        #expect(rows[0]["timestamp"] as Int64? == baseTime + 7)
        #expect(rows[0]["src_inode"] as Int64? == 131_097)
    }

    // MARK: Transactions and crashes

    @Test func batchesAreAllOrNothingForOtherConnections() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path, batchSize: 100))
        let reader = try openReader(path)

        for seq in 0..<99 { try sink.write(makeEvent(seq: seq)) }
        #expect(try count(reader) == 0)  // the open batch is invisible
        try sink.write(makeEvent(seq: 99))
        #expect(try count(reader) == 100)  // a full batch commits at once
        for seq in 100..<250 { try sink.write(makeEvent(seq: seq)) }
        #expect(try count(reader) == 200)  // whole batches only, never more than batch_size at once
        try sink.flush()
        #expect(try count(reader) == 250)
        try sink.flush()  // nothing pending: no empty transaction, no error
        #expect(try reader.read { try Int64.fetchAll($0, sql: "SELECT pid FROM events ORDER BY id") }
            == (0..<250).map { 1000 + Int64($0) })
        try sink.close()
        #expect(try count(reader) == 250)
    }

    /// A sink that is never flushed nor closed (its process died) leaves the
    /// batches it committed, and nothing of the one it was filling.
    @Test func anAbandonedSinkLeavesExactlyTheCommittedBatches() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        do {
            let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path, batchSize: 100))
            for seq in 0..<250 { try sink.write(makeEvent(seq: seq)) }
        }
        let reader = try openReader(path)
        #expect(try count(reader) == 200)
        #expect(try reader.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        let next = try SQLiteSink(options: SQLiteSinkOptions(path: path))  // the next run appends
        try next.write(makeEvent(seq: 1000))
        try next.close()
        #expect(try count(reader) == 201)
    }

    /// A batch that fails in its middle (here a trigger refuses one event,
    /// as a full disk would refuse a page) is rolled back whole: the events
    /// inserted before it in the same transaction never become visible, and
    /// all of them are counted as undelivered and reported by `flush`. The
    /// next event starts a new batch.
    @Test func aBatchFailingMidwayIsRolledBackWholeAndCounted() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path, batchSize: 10))
        let reader = try openReader(path)
        try reader.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.pid IN (1015, 1025)
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """)
        }

        for seq in 0..<10 { try sink.write(makeEvent(seq: seq)) }  // batch 1: stored
        #expect(sink.confirmed == 10)
        for seq in 10..<20 { try sink.write(makeEvent(seq: seq)) }  // batch 2: its 6th event is refused
        #expect(sink.undelivered == 10)
        #expect(sink.confirmed == 10, "a batch rolled back is not delivered, and delivered does not go down")
        for seq in 20..<30 { try sink.write(makeEvent(seq: seq)) }  // batch 3: fails too
        #expect(sink.undelivered == 20)
        for seq in 30..<33 { try sink.write(makeEvent(seq: seq)) }
        #expect(try count(reader) == 10, "the open batch is invisible")
        #expect {
            try sink.flush()
        } throws: { "\($0)" == "cannot write to database '\(path)': refused by the test (20 events not stored)" }
        try sink.flush()  // reported once
        let stored: [Int64] = try reader.read { try Int64.fetchAll($0, sql: "SELECT pid FROM events ORDER BY id") }
        let expected: [Int64] = Array(1000..<1010) + Array(1030..<1033)
        #expect(stored == expected)
        try sink.close()
        #expect(sink.undelivered == 20)
        #expect(sink.confirmed == 13)
    }

    // MARK: Queries

    /// docs/sqlite.md, "what touched /etc/passwd in the last hour, and who".
    static let whoTouchedPath = """
        SELECT timestamp, event_type, pid, uid, comm, src_filename, target_filename, retval
        FROM events
        WHERE (src_filename = :path OR target_filename = :path)
          AND timestamp >= :since
        ORDER BY timestamp
        """

    @Test func whoTouchedPathSinceTUsesThePathIndexes() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        let passwd = Array("/etc/passwd".utf8)
        let hour: Int64 = 3600 * 1_000_000_000
        for seq in 0..<500 { try sink.write(makeEvent(seq: seq, time: baseTime - 2 * hour + Int64(seq))) }
        try sink.write(makeEvent(seq: 1, time: baseTime - 2 * hour, path: passwd))  // too old
        try sink.write(makeEvent(seq: 2, time: baseTime - 10 * 60_000_000_000, path: passwd))
        try sink.write(makeEvent(.rename, seq: 3, time: baseTime - 5 * 60_000_000_000,
                                 path: Array("/etc/passwd.new".utf8), target: passwd))
        try sink.write(makeEvent(seq: 4, time: baseTime - 60_000_000_000, path: Array("/etc/passwd-".utf8)))
        try sink.close()

        let reader = try openReader(path)
        let arguments: StatementArguments = ["path": "/etc/passwd", "since": baseTime - hour]
        let plan = try reader.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + Self.whoTouchedPath, arguments: arguments)
                .map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("USING INDEX events_by_src_time (src_filename=? AND timestamp>?)") }, "\(plan)")
        #expect(plan.contains { $0.contains("USING INDEX events_by_target_time (target_filename=? AND timestamp>?)") }, "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")

        let found = try reader.read { try Row.fetchAll($0, sql: Self.whoTouchedPath, arguments: arguments) }
        #expect(found.map { $0["pid"] as Int64 } == [1002, 1003])
        #expect(found.map { $0["event_type"] as String } == ["open", "rename"])

        let retentionPlan = try reader.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SQLiteSchema.retentionSQL, arguments: [baseTime])
                .map { $0["detail"] as String }
        }
        #expect(retentionPlan.contains { $0.contains("INDEX events_by_time (timestamp<?)") }, "\(retentionPlan)")
    }

    // MARK: Retention

    @Test func retentionDeletesExactlyTheOldRowsAtMostOnceAMinuteAndAtClose() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let hour: Int64 = 3600 * 1_000_000_000, second: Int64 = 1_000_000_000
        let clock = ManualClock(baseTime)
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path, retention: .seconds(3600)), clock: clock.read)
        let reader = try openReader(path)
        func times() throws -> [Int64] {
            try reader.read { try Int64.fetchAll($0, sql: "SELECT timestamp FROM events ORDER BY timestamp") }
        }

        for time in [baseTime - 2 * hour, baseTime - hour - 1, baseTime - hour, baseTime - second] {
            try sink.write(makeEvent(time: time))
        }
        try sink.flush()  // first commit: retention runs
        #expect(try times() == [baseTime - hour, baseTime - second])  // the cutoff itself is kept

        clock.set(baseTime + 30 * second)
        try sink.write(makeEvent(time: baseTime - 3 * hour))
        try sink.flush()  // less than a minute since the last run: kept for now
        #expect(try times() == [baseTime - 3 * hour, baseTime - hour, baseTime - second])

        clock.set(baseTime + 60 * second)
        try sink.write(makeEvent(time: baseTime))
        try sink.flush()  // a minute later: the cutoff moved on by a minute too
        #expect(try times() == [baseTime - second, baseTime])

        clock.set(baseTime + 70 * second)
        try sink.write(makeEvent(time: baseTime - 2 * hour))
        try sink.close()  // close always applies retention
        #expect(try times() == [baseTime - second, baseTime])
    }

    @Test func withoutRetentionNothingIsDeleted() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path), clock: ManualClock(baseTime).read)
        try sink.write(makeEvent(time: 0))
        try sink.close()
        #expect(try count(try openReader(path)) == 1)
    }

    // MARK: Opening

    @Test func reopeningKeepsEventsAndAppliesMigrationsOnce() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        for run in 0..<3 {
            let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
            try sink.write(makeEvent(seq: run))
            try sink.close()
        }
        let reader = try openReader(path)
        #expect(try count(reader) == 3)
        #expect(try reader.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") } == ["v1", "v2", "v3", "v4"])
        #expect(try reader.read {
            try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
        } == ["events_by_container_time", "events_by_event_id", "events_by_src_time", "events_by_target_time", "events_by_time"])
        #expect(try reader.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }

    @Test func databaseFromANewerSchemaIsRefusedNotWritten() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        try SQLiteSink(options: SQLiteSinkOptions(path: path)).close()
        try openReader(path).write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v9')") }

        #expect {
            try SQLiteSink(options: SQLiteSinkOptions(path: path))
        } throws: { error in
            "\(error)".hasPrefix("cannot open database '\(path)': ") && "\(error)".contains("(v9)")
        }
    }

    /// A database made before the path columns existed gains them on
    /// reopening, keeps its rows (NULL there), and stores them from then on.
    @Test func aVersionOneDatabaseIsMigratedInPlace() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        // Today's database taken back to v1: the v2 columns and record gone.
        try SQLiteSink(options: SQLiteSinkOptions(path: path)).close()
        try openReader(path).write { db in
            for column in ["src_path_deleted", "src_path_detached", "src_path_foreign_mount_ns", "src_process_path",
                           "target_path_deleted", "target_path_detached", "target_path_foreign_mount_ns", "target_process_path"] {
                try db.execute(sql: "ALTER TABLE events DROP COLUMN \(column)")
            }
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v2'")
            try db.execute(sql: "INSERT INTO events (timestamp, src_filename) VALUES (1, '/old')")
        }

        var event = makeEvent(seq: 2, path: Array("/jail/etc/f".utf8))
        event.source.processRootOffset = 5
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        try sink.write(event)
        try sink.close()
        let rows = try openReader(path).read { try Row.fetchAll($0, sql: "SELECT src_filename, src_process_path FROM events ORDER BY id") }
        #expect(rows.map { $0["src_filename"] as String? } == ["/old", "/jail/etc/f"])
        #expect(rows.map { $0["src_process_path"] as String? } == [nil, "/etc/f"])
    }

    /// A database made before the context columns gains them on reopening.
    @Test func aVersionTwoDatabaseIsMigratedInPlace() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        try SQLiteSink(options: SQLiteSinkOptions(path: path)).close()
        try openReader(path).write { db in
            try db.execute(sql: "DROP INDEX events_by_container_time")
            try db.execute(sql: "DROP INDEX events_by_event_id")
            let v3 = EventField.allCases.filter {
                (EventField.ppid.rawValue...EventField.modifyBytes.rawValue).contains($0.rawValue) || $0 == .exeRaw
            }
            for field in v3 + [.eventID, .host] {
                try db.execute(sql: "ALTER TABLE events DROP COLUMN \(field.schema.column)")
            }
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier IN ('v3', 'v4')")
            try db.execute(sql: "INSERT INTO events (timestamp, src_filename) VALUES (1, '/old')")
        }

        var event = makeEvent(seq: 2)
        event.process.cgroup = CgroupInfo(id: 5, path: Array("/docker/x".utf8), containerID: "x", runtime: .docker)
        event.process.euid = 42
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        try sink.write(event)
        try sink.close()
        let rows = try openReader(path).read {
            try Row.fetchAll($0, sql: "SELECT src_filename, container_id, euid FROM events ORDER BY id")
        }
        #expect(rows.map { $0["src_filename"] as String? } == ["/old", "/tmp/file"])
        #expect(rows.map { $0["container_id"] as String? } == [nil, "x"])
        #expect(rows.map { $0["euid"] as Int64? } == [nil, 42])
    }

    /// Every hop before the archive is at least once: an event replayed
    /// (a disk buffer after a crash, a Kafka message delivered again, the
    /// same id twice in one batch) leaves one row, counted as a duplicate.
    /// Events without an id are all kept.
    @Test func anEventIdAlreadyStoredIsNotStoredAgain() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let origin = EventOrigin(host: "agent-1", stream: 0xfeed)
        func stamped(_ sequence: Int) -> FileEvent {
            var event = makeEvent(seq: sequence)
            event.origin = origin
            event.sequence = UInt64(sequence)
            return event
        }
        let first = try SQLiteSink(options: SQLiteSinkOptions(path: path, batchSize: 100))
        for sequence in 1...5 { try first.write(stamped(sequence)) }
        try first.write(stamped(3))  // the same id in the same batch
        try first.write(makeEvent(seq: 90))
        try first.close()
        #expect(first.duplicatesIgnored == 1)

        // A replay of 4...8 after a restart: 4 and 5 are already there.
        let second = try SQLiteSink(options: SQLiteSinkOptions(path: path, batchSize: 2))
        for sequence in 4...8 { try second.write(stamped(sequence)) }
        try second.write(makeEvent(seq: 90))
        try second.close()
        #expect(second.duplicatesIgnored == 2)
        #expect(second.confirmed == 6)

        let rows = try openReader(path).read {
            try Row.fetchAll($0, sql: "SELECT event_id, host FROM events ORDER BY id")
        }
        let ids = rows.compactMap { $0["event_id"] as String? }
        #expect(ids == (1...8).map { EventID(stream: 0xfeed, sequence: UInt64($0)).description })
        #expect(ids.first == "000000000000feed-0000000000000001")
        #expect(rows.filter { $0["event_id"] as String? == nil }.count == 2)
        #expect(Set(rows.compactMap { $0["host"] as String? }) == ["agent-1"])
    }

    /// The migrations' SQL and the schema table agree: every field has its
    /// column, of the type its kind gives, and nothing else is there.
    @Test func theTableHasTheSchemasColumnsAndTypes() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        try SQLiteSink(options: SQLiteSinkOptions(path: path)).close()
        let columns = try openReader(path).read { db in
            try Row.fetchAll(db, sql: "PRAGMA table_info(events)").map { "\($0["name"] as String) \($0["type"] as String)" }
        }
        let schema = EventField.allCases.map { "\($0.schema.column) \($0.schema.kind.sqliteType)" }
        #expect(Set(columns) == Set(["id INTEGER"] + schema))
        #expect(columns.count == schema.count + 1)
    }

    /// A field added to the schema needs no migration: a table without its
    /// column gets it on opening, and the field is stored from then on.
    @Test func aSchemaFieldTheTableLacksIsAddedOnOpening() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        try SQLiteSink(options: SQLiteSinkOptions(path: path)).close()
        try openReader(path).write { try $0.execute(sql: "ALTER TABLE events DROP COLUMN modify_bytes") }

        var event = makeEvent(seq: 1)
        event.bytesWritten = 77
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        try sink.write(event)
        try sink.close()
        let stored = try openReader(path).read { try Int64.fetchOne($0, sql: "SELECT modify_bytes FROM events") }
        #expect(stored == 77)
    }

    @Test func synchronousOptionReachesTheConnection() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let full = try SQLiteSink(options: SQLiteSinkOptions(path: path, synchronous: .full))
        #expect(try full.pragma("synchronous") == "2")  // FULL, although GRDB's WAL setup sets NORMAL
        #expect(try full.pragma("journal_mode") == "wal")
        #expect(try full.pragma("cache_size") == "-16384")
        #expect(try full.pragma("wal_autocheckpoint") == "10000")
        try full.close()
        let normal = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        #expect(try normal.pragma("synchronous") == "1")
        try normal.close()
    }

    @Test func databaseAndWALFilesAreCreatedPrivate() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
        try sink.write(makeEvent())
        try sink.flush()
        for file in [path, path + "-wal", path + "-shm"] {
            var status = stat()
            #expect(stat(file, &status) == 0, "\(file)")
            #expect(status.st_mode & 0o777 == 0o600, "\(file)")
        }
        try sink.close()
    }

    @Test func openErrorsNameThePath() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.path + "/no/such/dir/events.db"
        #expect(throws: SinkError.cannotOpen(path: missing, errno: ENOENT)) {
            try SQLiteSink(options: SQLiteSinkOptions(path: missing))
        }
        #expect {
            try SQLiteSink(options: SQLiteSinkOptions(path: directory.path))
        } throws: { "\($0)" == "cannot open output file '\(directory.path)': Is a directory" }

        let notADatabase = directory.appendingPathComponent("notes.txt").path
        try Data(repeating: UInt8(ascii: "x"), count: 4096).write(to: URL(fileURLWithPath: notADatabase))
        #expect {
            try SQLiteSink(options: SQLiteSinkOptions(path: notADatabase))
        } throws: { "\($0)" == "cannot open database '\(notADatabase)': file is not a database" }
    }

    @Test func registeredComponentBuildsAWorkingSink() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let options = ComponentOptions(component: "audit", values: ["path": .scalar(path), "batch_size": .scalar("10")])
        guard case .sink(let sink) = try ComponentType.sqliteSink.build(options, context: ComponentContext(name: "audit")) else {
            Issue.record("sqlite is not a sink")
            return
        }
        #expect(sink.name == "audit")
        #expect((sink as? SQLiteSink)?.options.batchSize == 10)
        try sink.write(makeEvent())
        try sink.close()
        #expect(try count(try openReader(path)) == 1)
    }
}
