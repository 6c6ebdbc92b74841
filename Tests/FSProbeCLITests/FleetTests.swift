import Foundation
import FSProbeSinkTestSupport
import FSProbeTestSupport
import GRDB
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A fleet as the README sets it up: agents (`fsprobe run` with a kernel
/// source and a kafka sink, each under its own `host`), one broker on
/// loopback, and an aggregator (a kafka source into a SQLite archive).
/// Every hop is at least once; the archive must hold each event exactly
/// once, whatever is killed or cut.
@Suite(.serialized) struct FleetTests {
    /// One agent: its directory (pipeline file, disk buffer) and the
    /// directory it watches, where the test makes directories.
    struct Agent {
        let host: String
        let watched: String
        let process: FSProbeProcess
        /// Every path made under `watched`, as bytes.
        var made: [[UInt8]] = []

        /// Makes `count` directories (mkdir events only), the first with a hostile name when asked.
        mutating func makeDirectories(_ count: Int, hostileFirst: Bool = false) throws {
            for index in 0..<count {
                var path = Array("\(watched)/d\(made.count)".utf8)
                if hostileFirst && index == 0 {
                    // A newline, an escape sequence, a quote and bytes that are not UTF-8.
                    path += Array("\n{\"forged\":1}\u{1b}[2J".utf8) + [0xFF, 0xC3, 0x28]
                }
                // The exact bytes, whatever their encoding, as a C string.
                let status = (path + [0]).withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { mkdir($0.baseAddress!, 0o755) }
                }
                guard status == 0 else { throw FSProbeProcess.Failure("mkdir: errno \(errno)") }
                made.append(path)
            }
        }
    }

    let base: URL
    let topic = KafkaTestEvents.topic("fleet")

    init() throws {
        base = try makeTemporaryDirectory()
    }

    func startAgent(_ host: String, brokers: String, sinkOptions: String = "") throws -> Agent {
        let home = base.appendingPathComponent(host)
        let watched = home.appendingPathComponent("watched").path
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: true)
        let process = try FSProbeProcess.runPipeline(yaml: """
            sources:
              files: {type: kernel, paths: [\(watched)], events: [mkdir], host: \(host)}
            sinks:
              stream:
                type: kafka
                inputs: [files]
                brokers: "\(brokers)"
                topic: \(topic)
                flush_timeout_ms: 120000
            \(sinkOptions.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """, in: home)
        return Agent(host: host, watched: watched, process: process)
    }

    var database: String { base.appendingPathComponent("aggregator/fleet.db").path }

    func startAggregator(brokers: String, arguments: [String] = []) throws -> FSProbeProcess {
        let home = base.appendingPathComponent("aggregator")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        return try FSProbeProcess.runPipeline(yaml: """
            sources:
              fleet:
                type: kafka
                brokers: "\(brokers)"
                topics: [\(topic)]
                group_id: archive
                commit_interval_ms: 200
                # A killed member's partitions go to the next one within 6 s, not 45.
                librdkafka: [session.timeout.ms=6000, heartbeat.interval.ms=500]
            sinks:
              archive: {type: sqlite, inputs: [fleet], path: \(database), batch_size: 20}
            """, in: home, arguments: arguments)
    }

    /// Waits until the archive holds `expected` rows (or `timeout` passes): the rows are what is awaited.
    func awaitRows(_ expected: Int, timeout: Duration = .seconds(90)) throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var rows = -1
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: database) {
                rows = (try? count(openReader(database))) ?? -1
                if rows >= expected { return rows }
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return rows
    }

    /// The archive holds exactly the agents' events: one row each, with its
    /// agent's host, the exact bytes of its path, and an id no other row has.
    func expectArchiveHoldsExactly(_ agents: [Agent]) throws {
        let rows = try openReader(database).read { db in
            try Row.fetchAll(db, sql: "SELECT event_id, host, event_type, src_filename, src_filename_raw FROM events")
        }
        let expected = agents.reduce(0) { $0 + $1.made.count }
        #expect(rows.count == expected)
        #expect(Set(rows.compactMap { $0["event_id"] as String? }).count == expected, "ids are not distinct")
        for agent in agents {
            let archived = rows.filter { $0["host"] as String? == agent.host }.map { row in
                (row["src_filename_raw"] as Data?).map { Array($0) } ?? Array((row["src_filename"] as String? ?? "").utf8)
            }
            #expect(archived.count == agent.made.count, "\(agent.host)")
            #expect(Set(archived) == Set(agent.made), "\(agent.host): the archived paths are not the ones made")
        }
        #expect(rows.allSatisfy { $0["event_type"] as String? == "mkdir" })
    }

    @Test func twoAgentsEventsArriveOnceEachWithTheirHost() throws {
        defer { try? FileManager.default.removeItem(at: base) }
        let broker = try KafkaTestBroker()
        defer { broker.stop() }
        var agents = [try startAgent("agent-a", brokers: broker.bootstrap), try startAgent("agent-b", brokers: broker.bootstrap)]
        for index in agents.indices { try agents[index].makeDirectories(300, hostileFirst: true) }
        let aggregator = try startAggregator(brokers: broker.bootstrap, arguments: ["--metrics-address", "127.0.0.1:0"])
        #expect(try awaitRows(600) == 600)
        // Everything read, nothing left behind: the consumer's lag falls to 0.
        let port = try #require(MetricsTests.metricsPort(in: aggregator.errors), "\(aggregator.errors)")
        let page = try Scrape.until(port: port) {
            $0.value(#"fsprobe_kafka_consumed_messages_total{source="fleet"}"#) == 600
                && $0.value(#"fsprobe_kafka_consumer_lag_messages{source="fleet"}"#) == 0
        }
        #expect(page.value(#"fsprobe_events_received_total{source="fleet",type="mkdir"}"#) == 600)
        for agent in agents { #expect(agent.process.terminate() == 0, "\(agent.process.errors)") }
        #expect(aggregator.terminate() == 0, "\(aggregator.errors)")
        #expect(aggregator.errors.contains("600 messages consumed"), "\(aggregator.errors)")
        // No configuration warning (librdkafka once warned of a producer property on the consumer).
        #expect(!aggregator.errors.contains("CONFWARN"), "\(aggregator.errors)")
        try expectArchiveHoldsExactly(agents)
        // The hostile name, byte for byte, with its host.
        let hostile = try #require(agents[0].made.first)
        let row = try openReader(database).read { db in
            try Row.fetchOne(db, sql: "SELECT host, src_filename_raw FROM events WHERE host = 'agent-a' AND src_filename_raw IS NOT NULL")
        }
        #expect(row?["host"] as String? == "agent-a")
        #expect((row?["src_filename_raw"] as Data?).map { Array($0) } == hostile)
    }

    /// kill -9 of the aggregator mid-stream, then a restart: the events it
    /// had read but not yet committed come again, and are stored once.
    @Test func killingTheAggregatorLosesAndDuplicatesNothing() throws {
        defer { try? FileManager.default.removeItem(at: base) }
        let broker = try KafkaTestBroker()
        defer { broker.stop() }
        var agents = [try startAgent("agent-a", brokers: broker.bootstrap), try startAgent("agent-b", brokers: broker.bootstrap)]
        for index in agents.indices { try agents[index].makeDirectories(1500) }
        let first = try startAggregator(brokers: broker.bootstrap)
        // Mid-stream: some of the 3,000 archived, not all.
        let seen = try awaitRows(300)
        _ = first.kill()
        #expect(seen >= 300 && seen < 3000, "the kill came too late to be mid-stream: \(seen) rows")
        for index in agents.indices { try agents[index].makeDirectories(500) }
        let second = try startAggregator(brokers: broker.bootstrap)
        #expect(try awaitRows(4000) == 4000)
        for agent in agents { #expect(agent.process.terminate() == 0, "\(agent.process.errors)") }
        #expect(second.terminate() == 0, "\(second.errors)")
        try expectArchiveHoldsExactly(agents)
    }

    /// The broker is cut off from the agents for 30 s while they run with
    /// disk buffers: what they capture meanwhile waits on disk, then
    /// arrives, once each.
    @Test func aThirtySecondBrokerOutageLosesNothing() throws {
        defer { try? FileManager.default.removeItem(at: base) }
        let proxyPort = try KafkaTestBroker.freeLoopbackPort()
        let broker = try KafkaTestBroker(advertisedPort: proxyPort)
        defer { broker.stop() }
        let proxy = try TCPOutageProxy(port: proxyPort, forwardingTo: broker.port)
        defer { proxy.cutOff() }
        let viaProxy = "127.0.0.1:\(proxyPort)"
        func diskBuffer(_ host: String) -> String {
            """
            librdkafka: [queue.buffering.max.messages=100]
            buffer_size: 100
            buffer_type: disk
            buffer_path: \(base.appendingPathComponent(host).path)/spool
            buffer_drain_timeout_ms: 60000
            """
        }
        var agents = [try startAgent("agent-a", brokers: viaProxy, sinkOptions: diskBuffer("agent-a")),
                      try startAgent("agent-b", brokers: viaProxy, sinkOptions: diskBuffer("agent-b"))]
        for index in agents.indices { try agents[index].makeDirectories(100) }
        // The aggregator reaches the broker through the same proxy (the one
        // address the broker advertises): while it is cut, nothing flows.
        let aggregator = try startAggregator(brokers: viaProxy)
        #expect(try awaitRows(200) == 200)

        proxy.cutOff()
        let outageEnd = ContinuousClock.now + .seconds(30)
        for index in agents.indices { try agents[index].makeDirectories(1000, hostileFirst: true) }
        // The outage lasts its 30 s: this wait is the scenario, not a synchronisation.
        Thread.sleep(forTimeInterval: max(0, Double((outageEnd - ContinuousClock.now).components.seconds)))
        try proxy.restore()
        for index in agents.indices { try agents[index].makeDirectories(100) }
        #expect(try awaitRows(2400, timeout: .seconds(180)) == 2400)
        for agent in agents { #expect(agent.process.terminate() == 0, "\(agent.process.errors)") }
        #expect(aggregator.terminate() == 0, "\(aggregator.errors)")
        try expectArchiveHoldsExactly(agents)
    }
}
