import Foundation
import FSProbeSinkTestSupport
import FSProbeTestSupport
import Testing

/// `fsprobe run` with the kafka sink against the machine's kernel and a real
/// broker on loopback: every event comes back, complete and in order per file.
@Suite(.serialized) struct KafkaRunTests {
    @Test func everyEventComesBackCompleteAndInOrderPerFile() throws {
        let broker = try KafkaTestBroker()
        defer { broker.stop() }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let watched = dir.appendingPathComponent("watched").path
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        let topic = KafkaTestEvents.topic("run")
        let run = try FSProbeProcess.runPipeline(yaml: """
            sources:
              files: {type: kernel, paths: [\(watched)], events: [open, unlink]}
            sinks:
              stream: {type: kafka, inputs: [files], brokers: "${BROKERS}", topic: \(topic), key: src_filename}
            """, in: dir, environment: ["BROKERS": broker.bootstrap])
        let files = (0..<100).map { "\(watched)/f\($0)" } + ["\(watched)/new\nline", "\(watched)/esc\u{1b}[2J"]
        // Each file: opened (created) three times, then unlinked.
        for file in files {
            for _ in 0..<3 { try Workload.create(file) }
            try Workload.remove(file)
        }
        #expect(run.terminate() == 0, "\(run.errors)")
        let expectedCount = files.count * 4
        #expect(run.finalStats.contains("stream: delivered \(expectedCount), dropped buffer_full 0, dropped sink_error 0"), "\(run.errors)")

        let messages = try KafkaTestConsumer(bootstrap: broker.bootstrap).consume(topic: topic, count: expectedCount)
        #expect(messages.count == expectedCount)
        var byKey: [[UInt8]: [[String: Any]]] = [:]
        for message in messages {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any])
            byKey[message.key ?? [], default: []].append(object)
        }
        #expect(Set(byKey.keys) == Set(files.map { Array($0.utf8) }))
        for file in files {
            let events = byKey[Array(file.utf8)] ?? []
            // Per key, the broker keeps the order fsprobe saw them in.
            #expect(events.map { $0["event_type"] as? String } == ["open", "open", "open", "unlink"], "\(file.debugDescription)")
            #expect(events.allSatisfy { $0["src_filename"] as? String == file })
        }
    }

    /// The broker goes away for 30 s in the middle of a run (the network to
    /// it is cut), then comes back. Returns the messages consumed and the
    /// final stats line. `sinkOptions` are the kafka sink's extra options.
    /// The kernel's ring buffer (8 MiB) holds the whole 2,000-open burst, so
    /// what is measured is the sink's buffering: a slow disk under the spool
    /// may hold the pipeline back, but must not make the kernel drop events.
    /// - Parameter status: fsprobe's exit status expected at the end: 0, or 3 when the scenario loses events.
    func runThroughAnOutage(sinkOptions: String, in dir: URL, status: Int32 = 0) throws -> (expected: [String], consumed: [String], stats: String) {
        let proxyPort = try KafkaTestBroker.freeLoopbackPort()
        let broker = try KafkaTestBroker(advertisedPort: proxyPort)
        defer { broker.stop() }
        let proxy = try TCPOutageProxy(port: proxyPort, forwardingTo: broker.port)
        defer { proxy.cutOff() }
        let watched = dir.appendingPathComponent("watched").path
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        let topic = KafkaTestEvents.topic("outage")
        let run = try FSProbeProcess.runPipeline(yaml: """
            sources:
              files: {type: kernel, paths: [\(watched)], events: [open], ring_buffer_pages: 2048}
            sinks:
              stream:
                type: kafka
                inputs: [files]
                brokers: "127.0.0.1:\(proxyPort)"
                topic: \(topic)
                flush_timeout_ms: 120000
            \(sinkOptions.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """, in: dir, environment: [:])
        var expected: [String] = []
        func open(_ count: Int) throws {
            for _ in 0..<count {
                let path = "\(watched)/f\(expected.count)"
                try Workload.create(path)
                expected.append(path)
            }
        }
        try open(100)
        // Everything before the outage reached the broker.
        do {
            let consumer = try KafkaTestConsumer(bootstrap: "127.0.0.1:\(proxyPort)")
            #expect(try consumer.consume(topic: topic, count: 100).count == 100)
        }

        proxy.cutOff()
        let outageEnd = ContinuousClock.now + .seconds(30)
        try open(2000)
        // The outage lasts its 30 s whatever the workload took: this wait is
        // the scenario, not a synchronisation.
        Thread.sleep(forTimeInterval: max(0, Double((outageEnd - ContinuousClock.now).components.seconds)))
        try proxy.restore()
        try open(100)
        #expect(run.terminate() == status, "\(run.errors)")

        // Ask for one message more than the sink says it delivered: the
        // short wait for it shows that nothing beyond was produced.
        let delivered = Self.number(after: "stream: delivered ", in: run.finalStats) ?? expected.count
        let consumed = try KafkaTestConsumer(bootstrap: "127.0.0.1:\(proxyPort)")
            .consume(topic: topic, count: delivered + 1, timeout: .seconds(5))
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any])?["src_filename"] as? String }
        return (expected, consumed, run.finalStats)
    }

    @Test func aBrokerOutageWithADiskBufferLosesNothing() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A small producer queue, so most of the outage's events wait on disk.
        let result = try runThroughAnOutage(sinkOptions: """
            librdkafka: [queue.buffering.max.messages=100]
            buffer_size: 100
            buffer_type: disk
            buffer_path: \(dir.path)/spool
            buffer_drain_timeout_ms: 60000
            """, in: dir)
        #expect(result.consumed.count == result.expected.count)
        #expect(Set(result.consumed) == Set(result.expected))
        #expect(result.stats.contains("stream: delivered \(result.expected.count), dropped buffer_full 0, dropped sink_error 0, queued 0"), "\(result.stats)")
        #expect(result.stats.contains("kernel lost 0"), "\(result.stats)")
    }

    @Test func aBrokerOutageWithDropNewestCountsEveryLossExactly() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try runThroughAnOutage(sinkOptions: """
            librdkafka: [queue.buffering.max.messages=100]
            buffer_size: 100
            when_full: drop_newest
            """, in: dir, status: 3)  // 3: events were lost, as the scenario wants
        let stats = result.stats
        // One sink and no transform: the line's only "dropped buffer_full" is the sink's.
        let dropped = try #require(Self.number(after: "dropped buffer_full ", in: stats))
        let delivered = try #require(Self.number(after: "stream: delivered ", in: stats))
        #expect(dropped > 0, "the outage should have overflowed the buffers: \(stats)")
        #expect(delivered + dropped == result.expected.count, "\(stats)")
        #expect(result.consumed.count == delivered)
        #expect(Set(result.consumed).count == delivered, "duplicates in \(result.consumed.count) messages")
        #expect(Set(result.consumed).isSubset(of: Set(result.expected)))
        #expect(stats.contains("kernel lost 0"), "\(stats)")
    }

    /// A broker that never answers: at --shutdown-timeout fsprobe gives up
    /// on it, and still ends with the exact count of what was lost.
    @Test func theShutdownDeadlineEndsWithExactCounts() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let watched = dir.appendingPathComponent("watched").path
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        let port = try KafkaTestBroker.freeLoopbackPort()  // nothing listens
        let run = try FSProbeProcess.runPipeline(yaml: """
            sources:
              files: {type: kernel, paths: [\(watched)], events: [open]}
            sinks:
              stream: {type: kafka, inputs: [files], brokers: "127.0.0.1:\(port)", topic: t}
            """, in: dir, arguments: ["--shutdown-timeout", "2", "--stats-interval", "1"])
        for index in 0..<50 { try Workload.create("\(watched)/f\(index)") }
        // The sink may be inside a flush (waiting up to flush_timeout_ms)
        // while events arrive: they are then queued in front of it, not yet
        // in flight. Either way all 50 are accounted for, none delivered.
        #expect(run.waitForStderr(containing: "fsprobe: stats: received 50;"), "\(run.errors)")
        let waiting = run.errors.split(separator: "\n").last { $0.hasPrefix("fsprobe: stats: received 50;") }.map(String.init) ?? ""
        #expect(waiting.contains("stream: delivered 0, dropped buffer_full 0, dropped sink_error 0, queued "), "\(waiting)")
        #expect((Self.number(after: "queued ", in: waiting) ?? 0) + (Self.number(after: "in flight ", in: waiting) ?? 0) == 50, "\(waiting)")
        let clock = ContinuousClock()
        let started = clock.now
        #expect(run.terminate() == 3, "\(run.errors)")
        #expect(clock.now - started < .seconds(2 + 5), "the stop outlived its deadline and grace")
        #expect(run.errors.contains("giving up on what is not delivered yet"), "\(run.errors)")
        #expect(run.finalStats.contains("stream: delivered 0, dropped buffer_full 0, dropped sink_error 50, queued 0, in flight 0"),
                "\(run.finalStats)")
        #expect(run.errors.contains("fsprobe: stopped: 50 events received, 0 delivered"), "\(run.errors)")
    }

    /// librdkafka's log lines (a broker that refuses connections) never
    /// show a value that came from the environment, nor a pass-through value.
    @Test func librdkafkaLogLinesShowVariablesNotTheirValues() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let brokers = "127.0.0.1:\(try KafkaTestBroker.freeLoopbackPort())"  // nothing listens
        let secret = "Hunter2-S3cr3t"
        let run = try FSProbeProcess.runPipeline(yaml: """
            sources:
              files: {type: kernel, paths: [\(dir.path)], events: [open]}
            sinks:
              stream:
                type: kafka
                inputs: [files]
                brokers: "${BROKERS}"
                topic: t
                librdkafka: [security.protocol=sasl_plaintext, sasl.mechanism=PLAIN, "sasl.username=${SECRET}", sasl.password=literal-pass]
            """, in: dir, environment: ["BROKERS": brokers, "SECRET": secret])
        #expect(run.waitForStderr(containing: "${BROKERS}"), "no librdkafka line naming the broker: \(run.errors)")
        _ = run.terminate()
        let errors = run.errors
        #expect(errors.contains("fsprobe: sink stream: librdkafka "), "\(errors)")
        #expect(!errors.contains(brokers) && !errors.contains(secret) && !errors.contains("literal-pass"), "\(errors)")
        #expect(errors.split(separator: "\n").allSatisfy { $0.hasPrefix("fsprobe: ") }, "a line fsprobe did not write: \(errors)")
    }

    static func number(after label: String, in text: String) -> Int? {
        guard let range = text.range(of: label) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
}
