import Foundation
import FSProbeSinkTestSupport
import FSProbeTestSupport
import GRDB
import Testing

/// `fsprobe run` with the sqlite sink against the machine's kernel: the
/// archive holds exactly the events generated, and survives SIGKILL.
@Suite(.serialized) struct SQLiteRunTests {
    /// Start-up may wait (here for a database another process keeps
    /// locked, up to the 5 s busy timeout): SIGTERM then stops it at once.
    @Test func aSignalDuringStartUpStopsAtOnce() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = dir.appendingPathComponent("events.db").path
        var holding = Configuration()
        holding.allowsUnsafeTransactions = true  // the transaction stays open across accesses, on purpose
        let holder = try DatabaseQueue(path: database, configuration: holding)
        try holder.writeWithoutTransaction { try $0.execute(sql: "CREATE TABLE held(x); BEGIN EXCLUSIVE; INSERT INTO held VALUES (1)") }
        defer { try? holder.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") } }
        let pipeline = dir.appendingPathComponent("pipeline.yaml")
        try """
            sources:
              files: {type: kernel, paths: [\(dir.path)], events: [open]}
            sinks:
              archive: {type: sqlite, inputs: [files], path: \(database)}
            """.write(to: pipeline, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: FSProbeProcess.binary)
        process.arguments = ["run", pipeline.path]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Once SIGTERM is blocked, fsprobe waits for it on its own thread.
        let terminateBit: UInt64 = 1 << (UInt64(SIGTERM) - 1)
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, (Self.blockedSignals(process.processIdentifier) ?? 0) & terminateBit == 0 {
            usleep(1_000)
        }
        let signalled = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(ContinuousClock.now - signalled < .seconds(3), "start-up held the signal off: \(errors)")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(errors)")
        #expect(errors.contains("fsprobe: Terminated during start-up: stopped before capturing anything"), "\(errors)")
        #expect(!errors.contains("ready"))
    }

    /// The main thread's blocked-signal mask (SigBlk in /proc/PID/status).
    static func blockedSignals(_ pid: Int32) -> UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }) else { return nil }
        return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    }

    /// A scratch directory with a `watched` directory in it, and fsprobe
    /// archiving `events` there into `events.db`, ready.
    static func archiving(_ events: String, batchSize: Int) throws
        -> (dir: URL, watched: String, database: String, run: FSProbeProcess) {
        let dir = try makeTemporaryDirectory()
        let watched = dir.appendingPathComponent("watched").path
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        let database = dir.appendingPathComponent("events.db").path
        let run = try FSProbeProcess.runPipeline(yaml: """
            sources:
              files: {type: kernel, paths: [\(watched)], events: [\(events)]}
            sinks:
              archive: {type: sqlite, inputs: [files], path: \(database), batch_size: \(batchSize)}
            """, in: dir)
        return (dir, watched, database, run)
    }

    @Test func theArchiveHoldsExactlyTheGeneratedEventsAfterSIGTERM() throws {
        let (dir, watched, database, run) = try Self.archiving("open, unlink", batchSize: 64)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Names an attacker could choose, among ordinary ones.
        let names = (0..<200).map { "f\($0)" } + ["new\nline", "esc\u{1b}[31m", "quote'\"", "日本語"]
        var expected: [(String, String)] = []
        for name in names {
            try Workload.create("\(watched)/\(name)")
            try Workload.remove("\(watched)/\(name)")
            expected += [("open", "\(watched)/\(name)"), ("unlink", "\(watched)/\(name)")]
        }
        #expect(run.terminate() == 0, "\(run.errors)")

        let rows = try openReader(database).read { db in
            try Row.fetchAll(db, sql: "SELECT event_type, src_filename FROM events ORDER BY id")
                .map { ($0["event_type"] as String, $0["src_filename"] as String) }
        }
        #expect(rows.count == expected.count, "\(run.errors)")
        #expect(rows.map(\.0) == expected.map(\.0))
        #expect(rows.map(\.1) == expected.map(\.1))
        #expect(run.finalStats.contains("archive: delivered \(expected.count), dropped buffer_full 0, dropped sink_error 0, queued 0"),
                "\(run.finalStats)")
    }

    @Test func aDatabaseKilledMidStreamOpensCleanlyAndTheNextRunAppends() throws {
        let (dir, watched, database, run) = try Self.archiving("open", batchSize: 50)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Keep opening files until some batches are committed, then kill
        // fsprobe while events are still streaming in.
        let reader = try openReader(database)
        var opened = 0
        while try count(reader) < 500 {
            try Workload.create("\(watched)/f\(opened % 100)")
            opened += 1
        }
        for index in 0..<2000 { try Workload.create("\(watched)/g\(index % 100)") }
        #expect(run.kill() == SIGKILL)

        let survivor = try DatabaseQueue(path: database)
        let check = try survivor.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
        #expect(check == "ok")
        let kept = try count(survivor)
        #expect(kept >= 500 && kept <= opened + 2000)
        // Every committed row is whole: no column left empty by a torn write.
        #expect(try count(survivor, "SELECT count(*) FROM events WHERE event_type != 'open' OR src_filename = ''") == 0)
        try survivor.close()

        // The next run appends to the same archive.
        let again = try FSProbeProcess.runPipeline(yaml: """
            sources:
              files: {type: kernel, paths: [\(watched)], events: [open]}
            sinks:
              archive: {type: sqlite, inputs: [files], path: \(database)}
            """, in: dir)
        try Workload.create("\(watched)/after")
        #expect(again.terminate() == 0, "\(again.errors)")
        #expect(try count(openReader(database), "SELECT count(*) FROM events WHERE src_filename LIKE '%/after'") == 1)
    }
}
