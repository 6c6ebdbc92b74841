import Foundation
import FSProbeCore
import FSProbeSinkTestSupport
import FSProbeTestSupport
import XCTest

/// `fsprobe query DB` as a user runs it, on a database the real sqlite sink
/// wrote: its filters select exactly their rows, its cursor resumes without
/// a row repeated or missed, a hostile name prints as the live output
/// prints it, and bad input is one line. No kernel: host only (HOST_ONLY
/// in scripts/vm/per-backend.sh).
final class QueryCommandTests: XCTestCase {
    private var directory: String!
    private var database: String { directory + "/events.db" }

    override func setUpWithError() throws {
        directory = try makeScratch("query")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static let second: Int64 = 1_000_000_000
    private static var now: Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * second + Int64(time.tv_nsec)
    }

    /// The archive of these tests: each event's pid is its place (1000 + i),
    /// so a printed line says which event it is.
    private func history(now: Int64) -> [FileEvent] {
        let ago: [Int64] = [3 * 86_400, 7200, 3000, 1800, 600, 120, 30, 5, 4000, 50, 40, 20]
        var events: [FileEvent] = []
        for (i, seconds) in ago.enumerated() {
            let type: EventType = [.open, .rename, .unlink, .open, .link, .mkdir][i % 6]
            let path = ["/etc/passwd", "/etc/shadow", "/tmp/x", "/etc/passwd.new", "/home/a/b"][i % 5]
            let target: [UInt8]? = type.hasTarget ? Array((i == 1 ? "/etc/passwd" : "/etc/group").utf8) : nil
            var event = makeEvent(type, seq: i, time: now - seconds * Self.second, path: Array(path.utf8), target: target,
                                  comm: i % 3 == 0 ? "vi" : "sshd")
            event.pid = 1000 + UInt32(i)
            event.origin = EventOrigin(host: i % 4 == 1 ? "agent-b" : "agent-a", stream: 1)
            event.sequence = UInt64(i)
            events.append(event)
        }
        return events
    }

    private struct Output {
        let pids: [UInt32]
        let lines: [String]
        let cursor: Int64?
        let stderr: String
    }

    /// Runs `fsprobe query DB arguments -f json`, and reads its lines.
    private func query(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Output {
        let result = try FSProbeProcess.run(["query", database] + arguments + ["-f", "json"])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        var pids: [UInt32] = []
        for text in lines {
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            pids.append(try XCTUnwrap((object?["pid"] as? NSNumber)?.uint32Value, text, file: file, line: line))
        }
        let cursorLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        var cursor: Int64?
        if let match = cursorLine.range(of: #"^cursor: [0-9]+ \(next: fsprobe query "#, options: .regularExpression) {
            cursor = Int64(cursorLine[match].dropFirst("cursor: ".count).prefix { $0.isNumber })
        }
        XCTAssertNotNil(cursor, "no cursor line on stderr: \(result.stderr)", file: file, line: line)
        return Output(pids: pids, lines: lines, cursor: cursor, stderr: result.stderr)
    }

    private func pids(_ events: [FileEvent], _ keep: (FileEvent) -> Bool) -> [UInt32] {
        events.filter(keep).map(\.pid)
    }

    func testFiltersSelectExactlyTheirRows() throws {
        let now = Self.now
        let events = history(now: now)
        try writeArchive(database, events)
        func within(_ seconds: Int64) -> (FileEvent) -> Bool {
            { $0.timestamp.nanosecondsSinceEpoch >= now - seconds * Self.second }
        }
        let touchesPasswd: (FileEvent) -> Bool = { $0.source.string == "/etc/passwd" || $0.target?.string == "/etc/passwd" }

        XCTAssertEqual(try query([]).pids, events.map(\.pid), "everything, in id order")
        // Durations; no event lies within minutes of a boundary, so the clock moving on changes nothing.
        XCTAssertEqual(try query(["--since", "1h"]).pids, pids(events, within(3600)))
        XCTAssertEqual(try query(["--since", "90s"]).pids, pids(events, within(90)))
        XCTAssertEqual(try query(["--since", "7d"]).pids, events.map(\.pid))
        XCTAssertEqual(try query(["--since", "2d"]).pids, pids(events, within(2 * 86_400)))
        XCTAssertEqual(try query(["--until", "1h"]).pids, pids(events) { !within(3600)($0) })
        XCTAssertEqual(try query(["--since", "1h", "--until", "15m"]).pids,
                       pids(events) { within(3600)($0) && !within(900)($0) })
        // RFC 3339, as the JSON output writes times.
        let boundary = events[4].timestamp.rfc3339
        XCTAssertEqual(try query(["--since", boundary]).pids, pids(events) { $0.timestamp >= events[4].timestamp })
        XCTAssertEqual(try query(["--until", boundary]).pids, pids(events) { $0.timestamp < events[4].timestamp })

        // Paths: exact on source or target; glob.
        XCTAssertEqual(try query(["--path", "/etc/passwd"]).pids, pids(events, touchesPasswd))
        XCTAssertEqual(try query(["--path", "/etc/passwd", "--since", "1h"]).pids,
                       pids(events) { touchesPasswd($0) && within(3600)($0) })
        XCTAssertEqual(try query(["--glob", "/etc/passwd*"]).pids,
                       pids(events) { $0.source.string.hasPrefix("/etc/passwd") || $0.target?.string.hasPrefix("/etc/passwd") == true })
        XCTAssertEqual(try query(["--glob", "*/[gs]*"]).pids,
                       pids(events) { ["/etc/shadow", "/etc/group"].contains($0.source.string) || $0.target?.string == "/etc/group" })
        XCTAssertEqual(try query(["--path", "/etc"]).pids, [], "exact, not a prefix")

        // Types, repeated and comma-separated; comm.
        XCTAssertEqual(try query(["--type", "rename,link"]).pids, pids(events) { $0.type.hasTarget })
        XCTAssertEqual(try query(["--type", "open", "-t", "mkdir"]).pids, pids(events) { [.open, .mkdir].contains($0.type) })
        XCTAssertEqual(try query(["--type", "all"]).pids, events.map(\.pid))
        XCTAssertEqual(try query(["--comm", "vi"]).pids, pids(events) { $0.comm.string == "vi" })
        XCTAssertEqual(try query(["--comm", "v"]).pids, [], "exact, not a prefix")
        XCTAssertEqual(try query(["--host", "agent-b"]).pids, pids(events) { $0.origin?.host == "agent-b" })
        XCTAssertEqual(try query(["--host", "agent-b", "--type", "rename"]).pids,
                       pids(events) { $0.origin?.host == "agent-b" && $0.type == .rename })
        XCTAssertEqual(try query(["--host", "agent"]).pids, [], "exact, not a prefix")
        XCTAssertEqual(try query(["--comm", "sshd", "--type", "rename", "--since", "3h", "--glob", "/etc/*"]).pids,
                       pids(events) { $0.comm.string == "sshd" && $0.type == .rename && within(3 * 3600)($0)
                           && ($0.source.string.hasPrefix("/etc/") || $0.target?.string.hasPrefix("/etc/") == true) })
    }

    /// Paging with the cursor: every row exactly once, in order; the
    /// printed next command works as printed; an empty page keeps the cursor.
    func testCursorResumesWithoutRepeatOrGap() throws {
        let now = Self.now
        var events = history(now: now)
        try writeArchive(database, events)

        var seen: [UInt32] = []
        var cursor: Int64 = 0
        var pages = 0
        while true {
            let page = try query(["--after", String(cursor), "--limit", "5"])
            XCTAssertEqual(page.cursor, page.pids.isEmpty ? cursor : cursor + Int64(page.pids.count))
            XCTAssertTrue(page.stderr.contains("--after \(page.cursor ?? -1) --limit 5 -f json)"), page.stderr)
            seen += page.pids
            cursor = page.cursor ?? 0
            pages += 1
            if page.pids.isEmpty { break }
            XCTAssertLessThan(pages, 10)
        }
        XCTAssertEqual(seen, events.map(\.pid))
        XCTAssertEqual(pages, 4, "5 + 5 + 2 rows, then an empty page")

        // New rows arrive (a running fsprobe appends): the cursor gives only them.
        let more = (0..<3).map { i -> FileEvent in
            var event = makeEvent(.open, seq: 100 + i, time: now, path: Array("/etc/passwd".utf8))
            event.pid = 2000 + UInt32(i)
            return event
        }
        try writeArchive(database, more)
        events += more
        let newer = try query(["--after", String(cursor)])
        XCTAssertEqual(newer.pids, [2000, 2001, 2002])
        XCTAssertEqual(newer.cursor, cursor + 3)
        // The filters and the cursor together: a time window and a path.
        let filtered = try query(["--path", "/etc/passwd", "--since", "1h", "--after", String(cursor + 1)])
        XCTAssertEqual(filtered.pids, [2001, 2002])

        // The printed command, run as printed, resumes the same way.
        let first = try FSProbeProcess.run(["query", database, "--path", "/etc/passwd", "--limit", "4"])
        let next = try XCTUnwrap(first.stderr.range(of: #"\(next: (.*)\)$"#, options: .regularExpression).map {
            String(first.stderr[$0].dropFirst("(next: ".count).dropLast(1)).trimmingCharacters(in: .newlines)
        })
        let words = next.split(separator: " ").map(String.init)
        XCTAssertEqual(Array(words.prefix(2)), ["fsprobe", "query"], next)
        let resumed = try FSProbeProcess.run(Array(words.dropFirst()))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let all = try FSProbeProcess.run(["query", database, "--path", "/etc/passwd"])
        let allLines = all.stdout.split(separator: "\n").dropFirst()  // the header
        XCTAssertEqual(first.stdout.split(separator: "\n").dropFirst() + resumed.stdout.split(separator: "\n").dropFirst(),
                       allLines, "two pages of the table are the whole table")
        XCTAssertEqual(allLines.count, pids(events) { $0.source.string == "/etc/passwd" || $0.target?.string == "/etc/passwd" }.count)
    }

    /// A running fsprobe keeps its sink open and commits batch after batch:
    /// a query sees every commit so far, never blocks the writer, and
    /// changes nothing (the database is opened read-only).
    func testReadsTheArchiveWhileTheSinkWritesIt() throws {
        let sink = try ArchiveWriter(database)
        defer { try? sink.close() }
        try sink.commit((0..<3).map { makeEvent(.open, seq: $0) })
        let first = try query([])
        XCTAssertEqual(first.pids, [1000, 1001, 1002])
        XCTAssertEqual(first.cursor, 3)

        try sink.commit((3..<5).map { makeEvent(.mkdir, seq: $0) })
        let newer = try query(["--after", "3"])
        XCTAssertEqual(newer.pids, [1003, 1004])
        try sink.commit([makeEvent(.unlink, seq: 5)])  // the writer is not blocked by the reader that was
        XCTAssertEqual(try query(["--after", "5"]).pids, [1005])
        XCTAssertEqual(try count(openReader(database)), 6)
    }

    /// A name with a newline, terminal escapes or invalid UTF-8, in any
    /// name the row holds, prints as one line, byte for byte the live
    /// formatter's: JSON with its `*_raw` fields, the table escaped.
    func testHostileNamesPrintAsTheLiveOutputPrintsThem() throws {
        var events: [FileEvent] = []
        let newline = HostileNames.all[0].bytes, escape = HostileNames.all[1].bytes, invalid = HostileNames.all[2].bytes
        events.append(makeEvent(.open, seq: 0, path: newline))
        events.append(makeEvent(.open, seq: 1, path: escape))
        events.append(makeEvent(.open, seq: 2, path: invalid))
        var rename = makeEvent(.rename, seq: 3, path: Array("/tmp/\u{1b}[2J\n".utf8) + [0xC0, 0xAF], target: invalid)
        rename.comm = [0x1B, 0x5B, 0x32, 0x4A, 0x0A, 0xFF].withUnsafeBytes { ProcessName(bytes: $0) }
        rename.process.executable = EventPath(bytes: escape + [0xFE])
        events.append(rename)
        for (offset, name) in HostileNames.all.enumerated() {
            events.append(makeEvent(.unlink, seq: 10 + offset, path: name.bytes, comm: "rm\n"))
        }
        try writeArchive(database, events)

        let json = JSONLineEncoder()
        let result = try FSProbeProcess.run(["query", database, "-f", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, events.map { json.line($0) }.joined())
        XCTAssertEqual(result.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, events.count + 1)

        var live = TableFormatter(clock: .local)
        var header: [UInt8] = []
        live.appendHeader(into: &header)
        let table = try FSProbeProcess.run(["query", database])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertEqual(table.stdout, String(decoding: header, as: UTF8.self) + events.map { live.line($0) }.joined())

        // Selected by their exact (repaired) text, too.
        let one = try query(["--path", String(decoding: invalid, as: UTF8.self), "--type", "rename"])
        XCTAssertEqual(one.lines, [String(json.line(rename).dropLast())])
    }

    func testBadInputIsOneLineNamingTheCulprit() throws {
        try writeArchive(database, [makeEvent()])
        let notADatabase = directory + "/notes.txt"
        try String(repeating: "not a database\n", count: 100).write(toFile: notADatabase, atomically: true, encoding: .utf8)
        let cases: [([String], [String])] = [
            (["query", database, "--type", "opne"], ["'opne'", "--type", "open, mkdir, link, rename, setattr, unlink, rmdir, modify"]),
            (["query", database, "--type", "open,chmod"], ["'open,chmod'", "--type"]),
            (["query", database, "--since", "yesterday"], ["--since", "'yesterday'", "90s", "1h", "7d", "RFC 3339"]),
            (["query", database, "--since", "1y"], ["--since", "'1y'", "duration"]),
            (["query", database, "--until", "2026-12-06 08:00"], ["--until", "'2026-12-06 08:00'", "RFC 3339"]),
            (["query", database, "--path", "/etc/passwd", "--glob", "/etc/*"], ["--path", "--glob"]),
            (["query", database, "--limit", "0"], ["--limit", "1 or more"]),
            (["query", database, "--after=-5"], ["--after"]),
            (["query", database, "-f", "xml"], ["'xml'", "table", "json"]),
            (["query", directory + "/missing.db"], ["missing.db", "No such file", "sqlite sink"]),
            (["query", notADatabase], ["notes.txt", "not a database"]),
            (["query", directory], ["not a regular file"]),
            (["query"], ["database"]),
        ]
        for (arguments, mentions) in cases {
            try assertOneLineError(arguments, mentions: mentions)
        }
        XCTAssertEqual(try FSProbeProcess.run(["query", database, "--since", "yesterday"]).status, 2)
        XCTAssertEqual(try FSProbeProcess.run(["query", database, "--type", "opne"]).status, 2)
        XCTAssertEqual(try FSProbeProcess.run(["query", directory + "/missing.db"]).status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/missing.db"), "a query created the database")
    }
}
