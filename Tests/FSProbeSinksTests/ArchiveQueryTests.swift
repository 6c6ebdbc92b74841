import Foundation
import FSProbeCore
import FSProbeSinkTestSupport
import FSProbeTestSupport
@testable import FSProbeSinks
import GRDB
import XCTest

/// `fsprobe query`'s core (`ArchiveQuery`) against databases the real sink
/// wrote: rows come back as the events that were stored, formatted as the
/// live outputs format them, and every filtered statement is an index search.
/// No kernel: host only (HOST_ONLY in scripts/vm/per-backend.sh).
final class ArchiveQueryTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func archive(_ events: [FileEvent]) throws -> String {
        let path = directory.appendingPathComponent("events.db").path
        try writeArchive(path, events)
        return path
    }

    private func rows(_ path: String, _ query: ArchiveQuery = ArchiveQuery()) throws -> [(id: Int64, event: FileEvent)] {
        var rows: [(id: Int64, event: FileEvent)] = []
        try ArchiveQuery.open(path).read { db in try query.run(db) { rows.append(($0, $1)) } }
        return rows
    }

    // MARK: Rows to events

    /// Every shape of event, hostile names and all, prints from the archive
    /// exactly as the live JSON and table formatters printed it.
    func testEveryRowFormatsAsTheLiveEventDid() throws {
        let events = EventCatalogue.all
        let read = try rows(try archive(events))
        XCTAssertEqual(read.map(\.id), Array(1...Int64(events.count)))
        let json = JSONLineEncoder()
        var liveTable = TableFormatter(clock: .utc), archivedTable = TableFormatter(clock: .utc)
        for (event, row) in zip(events, read) {
            XCTAssertEqual(json.line(row.event), json.line(event))
            XCTAssertEqual(archivedTable.line(row.event), liveTable.line(event))
        }
    }

    /// A NULL where a `fields` transform removed a field reads as the
    /// field's zero, not as a crash or a missing row.
    func testRemovedFieldsReadAsZero() throws {
        let path = try archive([makeEvent(.rename, target: Array("/tmp/b".utf8))])
        let writer = try DatabaseQueue(path: path)
        try writer.write { try $0.execute(sql: "UPDATE events SET pid = NULL, comm = NULL, src_filename = NULL, retval = NULL") }
        try writer.close()
        let event = try XCTUnwrap(try rows(path).first?.event)
        XCTAssertEqual(event.pid, 0)
        XCTAssertEqual(event.comm.count, 0)
        XCTAssertEqual(event.source.bytes, [])
        XCTAssertEqual(event.target?.bytes, Array("/tmp/b".utf8))
    }

    // MARK: Plans

    /// The exact statements `fsprobe query` runs, explained: each filtered
    /// one searches an index (or the rowid range of the cursor), none scans.
    func testQueriesSearchTheSinksIndexes() throws {
        let path = try archive((0..<50).map { makeEvent(seq: $0, path: Array("/etc/f\($0 % 7)".utf8)) })
        let reader = try ArchiveQuery.open(path)
        let hour: Int64 = 3_600_000_000_000
        let cases: [(ArchiveQuery, [String])] = [
            // "Who touched /etc/passwd in the last hour": both path indexes, each with the time range.
            (ArchiveQuery(since: testEventTime - hour, path: .exact("/etc/passwd")),
             ["USING INDEX events_by_src_time (src_filename=? AND timestamp>?)",
              "USING INDEX events_by_target_time (target_filename=? AND timestamp>?)"]),
            (ArchiveQuery(since: testEventTime - hour, until: testEventTime, path: .exact("/etc/passwd"),
                          types: [.open, .rename], comm: "vi", after: 10, limit: 5),
             ["USING INDEX events_by_src_time (src_filename=? AND timestamp>? AND timestamp<?)",
              "USING INDEX events_by_target_time (target_filename=? AND timestamp>? AND timestamp<?)"]),
            (ArchiveQuery(path: .exact("/etc/passwd")),
             ["USING INDEX events_by_src_time (src_filename=?)", "USING INDEX events_by_target_time (target_filename=?)"]),
            (ArchiveQuery(since: testEventTime - hour, path: .glob("/etc/*")),
             ["USING INDEX events_by_src_time (src_filename>? AND src_filename<?)",
              "USING INDEX events_by_target_time (target_filename>? AND target_filename<?)"]),
            (ArchiveQuery(since: testEventTime - hour, types: [.open], comm: "cat", after: 3),
             ["USING INDEX events_by_time (timestamp>?)"]),
            (ArchiveQuery(until: testEventTime, path: .glob("*passwd")), ["USING INDEX events_by_time (timestamp<?)"]),
            (ArchiveQuery(types: [.open], after: 3, limit: 10), ["USING INTEGER PRIMARY KEY (rowid>?)"]),
        ]
        for (query, expected) in cases {
            let (sql, arguments) = query.statement
            let plan = try reader.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
            }
            print("EXPLAIN QUERY PLAN \(sql)\n  " + plan.joined(separator: "\n  "))
            for detail in expected {
                XCTAssertTrue(plan.contains { $0.hasSuffix(detail) }, "\(detail) not in the plan of \(sql): \(plan)")
            }
            XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN") }, "\(sql) scans: \(plan)")
        }
    }

    // MARK: Filters in SQL

    /// Each filter selects exactly its rows (the CLI tests check the same
    /// through the binary; this pins the SQL itself).
    func testFiltersSelectExactlyTheirRows() throws {
        var events: [FileEvent] = []
        for seq in 0..<40 {
            let type = EventType.allCases[seq % EventType.allCases.count]
            let target: [UInt8]? = type.hasTarget ? Array("/etc/passwd.\(seq % 3)".utf8) : nil
            events.append(makeEvent(type, seq: seq * 1000, path: Array((seq % 5 == 0 ? "/etc/passwd" : "/var/\(seq)").utf8),
                                    target: seq % 6 == 3 && type.hasTarget ? Array("/etc/passwd".utf8) : target,
                                    comm: seq % 4 == 0 ? "vi" : "cat"))
            events[seq].origin = EventOrigin(host: seq % 3 == 0 ? "web-1" : "db-1", stream: 7)
            events[seq].sequence = UInt64(seq)
        }
        let path = try archive(events)
        func ids(_ query: ArchiveQuery) throws -> [Int64] { try rows(path, query).map(\.id) }
        func expected(_ keep: (FileEvent) -> Bool) -> [Int64] {
            events.enumerated().filter { keep($0.element) }.map { Int64($0.offset + 1) }
        }
        let t0 = testEventTime
        XCTAssertEqual(try ids(ArchiveQuery(path: .exact("/etc/passwd"))),
                       expected { $0.source.string == "/etc/passwd" || $0.target?.string == "/etc/passwd" })
        XCTAssertEqual(try ids(ArchiveQuery(path: .glob("/etc/passwd.[12]"))),
                       expected { ["/etc/passwd.1", "/etc/passwd.2"].contains($0.target?.string ?? "") })
        XCTAssertEqual(try ids(ArchiveQuery(since: t0 + 10_000, until: t0 + 20_000)),
                       expected { (t0 + 10_000..<t0 + 20_000).contains($0.timestamp.nanosecondsSinceEpoch) })
        XCTAssertEqual(try ids(ArchiveQuery(types: [.rename, .link, .rename])), expected { $0.type.hasTarget })
        XCTAssertEqual(try ids(ArchiveQuery(comm: "vi")), expected { $0.comm.string == "vi" })
        XCTAssertEqual(try ids(ArchiveQuery(host: "web-1")), expected { $0.origin?.host == "web-1" })
        XCTAssertEqual(try ids(ArchiveQuery(types: [.open], host: "db-1")),
                       expected { $0.origin?.host == "db-1" && $0.type == .open })
        XCTAssertEqual(try ids(ArchiveQuery(host: "web-1'; --")), [])
        XCTAssertEqual(try ids(ArchiveQuery(after: 35)), Array(36...40))
        XCTAssertEqual(try ids(ArchiveQuery(comm: "cat", after: 5, limit: 3)), [6, 7, 8])
        XCTAssertEqual(try ids(ArchiveQuery(since: t0 + 10_000, path: .glob("/var/*"), types: [.open], comm: "vi")),
                       expected { $0.timestamp.nanosecondsSinceEpoch >= t0 + 10_000 && $0.source.string.hasPrefix("/var/")
                           && $0.type == .open && $0.comm.string == "vi" })
        // A quote in a pattern is data, not SQL.
        XCTAssertEqual(try ids(ArchiveQuery(path: .glob("/etc/'; DROP TABLE events; --*"))), [])
        XCTAssertEqual(try count(openReader(path)), 40)
    }

    // MARK: Times

    func testTimesOnTheCommandLine() {
        let now: Int64 = 1_000_000 * 1_000_000_000
        XCTAssertEqual(ArchiveQuery.instant("90s", now: now), now - 90_000_000_000)
        XCTAssertEqual(ArchiveQuery.instant("30m", now: now), now - 1_800_000_000_000)
        XCTAssertEqual(ArchiveQuery.instant("1h", now: now), now - 3_600_000_000_000)
        XCTAssertEqual(ArchiveQuery.instant("7d", now: now), now - 604_800_000_000_000)
        XCTAssertEqual(ArchiveQuery.instant("2w", now: now), now - 1_209_600_000_000_000)
        XCTAssertEqual(ArchiveQuery.instant("2026-11-26T06:45:44.123456789Z", now: now), testEventTime)
        XCTAssertEqual(ArchiveQuery.instant(EventTimestamp(nanosecondsSinceEpoch: testEventTime).rfc3339, now: now),
                       testEventTime)
        XCTAssertEqual(ArchiveQuery.instant("2026-11-26T07:45:44.123456789+01:00", now: now), testEventTime)
        XCTAssertEqual(ArchiveQuery.instant("2026-11-26T06:45:44.1234567891Z", now: now), testEventTime, "digits past nine dropped")
        XCTAssertEqual(ArchiveQuery.instant("1970-01-01T00:00:00Z", now: now), 0)
        XCTAssertEqual(ArchiveQuery.instant("2024-02-29T00:00:00Z", now: now), 1_709_164_800_000_000_000)
        XCTAssertEqual(ArchiveQuery.instant("2026-12-06T08:00:00.5Z", now: now), 1_796_544_000_500_000_000)
        for bad in ["", "h", "1", "-1h", "1x", "1.5h", "1 h", "99999999999999999d", "yesterday", "2026-12-06", "2026-12-06T08:00:00",
                    "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-06T24:00:00Z", "2026-12-06T08:00:00.Z",
                    "2026-12-06T08:00:00Z ", "2026-12-06T08:00:00+1:00"] {
            XCTAssertNil(ArchiveQuery.instant(bad, now: now), "'\(bad)' accepted")
        }
    }

    // MARK: Opening

    func testOnlyAnFSProbeDatabaseOpens() throws {
        let missing = directory.appendingPathComponent("missing.db").path
        XCTAssertThrowsError(try ArchiveQuery.open(missing)) { XCTAssertTrue("\($0)".contains("No such file"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "opening created the file")
        let text = directory.appendingPathComponent("text.db").path
        try "not a database, just text that is long enough to be read as a header page\n"
            .write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ArchiveQuery.open(text)) { XCTAssertTrue("\($0)".contains("not a database"), "\($0)") }
        let other = directory.appendingPathComponent("other.db").path
        try DatabaseQueue(path: other).write { try $0.execute(sql: "CREATE TABLE t(x)") }
        XCTAssertThrowsError(try ArchiveQuery.open(other)) { XCTAssertTrue("\($0)".contains("no events table"), "\($0)") }
        XCTAssertThrowsError(try ArchiveQuery.open(directory.path)) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
    }
}
