import CRDKafka
import FSProbeCore
import FSProbePipeline
import FSProbeSinks
import FSProbeSinkTestSupport
import FSProbeTestSupport
import Foundation
import Testing

/// The Kafka sink against a real broker on loopback, read back with an
/// independent librdkafka consumer.
@Suite struct KafkaSinkDeliveryTests {
    /// Builds the sink the way a pipeline file does (options decoded by the registered type).
    static func makeSink(name: String, _ values: [String: OptionValue]) throws -> KafkaSink {
        let built = try ComponentType.kafkaSink.build(ComponentOptions(component: name, values: values),
                                                      context: ComponentContext(name: name))
        guard case .sink(let sink) = built, let kafka = sink as? KafkaSink else {
            throw KafkaTestBroker.Failure(description: "kafka type built \(built), not a KafkaSink")
        }
        return kafka
    }

    @Test func eventsComeBackCompleteInOrderPerFileAsTheirJSONLines() throws {
        let broker = try KafkaTestBroker()
        defer { broker.stop() }
        let topic = KafkaTestEvents.topic("roundtrip")
        let sink = try Self.makeSink(name: "events", ["brokers": .scalar(broker.bootstrap), "topic": .scalar(topic)])
        let events = KafkaTestEvents.events(count: 1000)
        for event in events { try sink.write(event) }
        try sink.flush()
        #expect(sink.delivered == events.count)
        #expect(sink.failed == 0)
        try sink.close()

        let consumer = try KafkaTestConsumer(bootstrap: broker.bootstrap)
        let messages = try consumer.consume(topic: topic, count: events.count)
        #expect(messages.count == events.count)

        // Default key: the source path. Per key, the values in log order
        // must be exactly that file's events in the order they were written.
        var expected: [[UInt8]: [[UInt8]]] = [:]
        for event in events { expected[event.source.bytes, default: []].append(KafkaTestEvents.expectedValue(event)) }
        var consumed: [[UInt8]: [[UInt8]]] = [:]
        var partitions: [[UInt8]: Set<Int32>] = [:]
        for message in messages {
            let key = try #require(message.key, "message at \(message.partition)/\(message.offset) has no key")
            consumed[key, default: []].append(message.value)
            partitions[key, default: []].insert(message.partition)
        }
        #expect(Set(consumed.keys) == Set(KafkaTestEvents.paths))
        for (key, values) in expected {
            let got = consumed[key] ?? []
            let name = String(decoding: key, as: UTF8.self).debugDescription
            #expect(got.count == values.count, "key \(name)")
            if let index = (0..<min(got.count, values.count)).first(where: { got[$0] != values[$0] }) {
                Issue.record("key \(name): message \(index) is \(String(decoding: got[index], as: UTF8.self)), expected \(String(decoding: values[index], as: UTF8.self))")
            }
            #expect(partitions[key]?.count == 1, "key \(name) spread over partitions \(partitions[key] ?? [])")
        }
        // Several partitions were used, so order held across concurrent partitions.
        #expect(Set(messages.map(\.partition)).count > 1)
    }

    @Test(arguments: KafkaMessageKey.allCases)
    func messageKeyIsTheChosenField(key: KafkaMessageKey) throws {
        let broker = try KafkaTestBroker()
        defer { broker.stop() }
        let topic = KafkaTestEvents.topic("key-\(key.rawValue)")
        let sink = try Self.makeSink(name: "keyed", ["brokers": .scalar(broker.bootstrap), "topic": .scalar(topic),
                                                     "key": .scalar(key.rawValue)])
        let events = KafkaTestEvents.events(count: 24)
        for event in events { try sink.write(event) }
        try sink.close()
        #expect(sink.delivered == events.count)

        let byValue = Dictionary(uniqueKeysWithValues: events.map { (KafkaTestEvents.expectedValue($0), $0) })
        let messages = try KafkaTestConsumer(bootstrap: broker.bootstrap).consume(topic: topic, count: events.count)
        #expect(messages.count == events.count)
        for message in messages {
            let event = try #require(byValue[message.value], "a message that is no event's JSON: \(String(decoding: message.value, as: UTF8.self))")
            #expect(message.key == KafkaTestEvents.expectedKey(event, key), "event pid \(event.pid)")
        }
    }

    @Test func unreachableBrokerMakesFlushThrowWithTheSinkNameAndExactFailureCount() throws {
        let port = try KafkaTestBroker.freeLoopbackPort()  // nothing listens there
        let sink = try KafkaSink(options: KafkaSinkOptions(brokers: ["127.0.0.1:\(port)"], topic: "unreachable",
                                                           messageTimeoutMs: 500),
                                 name: "kafka-down")
        for event in KafkaTestEvents.events(count: 7) { try sink.write(event) }
        #expect(sink.confirmed == 0, "queued is not delivered")

        let clock = ContinuousClock()
        let started = clock.now
        let error = try #require(throws: SinkError.self) { try sink.flush() }
        #expect(clock.now - started < .seconds(10), "flush waited past message_timeout_ms")
        guard case let .deliveryFailed(name, count, firstError) = error else {
            Issue.record("expected deliveryFailed, got \(error)")
            return
        }
        #expect(name == "kafka-down")
        #expect(count == 7)
        #expect(firstError == String(cString: rd_kafka_err2str(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)))
        #expect(error.description.contains("kafka-down") && error.description.contains("7 messages"))
        #expect(sink.failed == 7)
        #expect(sink.undelivered == 7, "the pipeline's dropped count must see the failures")
        #expect(sink.delivered == 0)

        // Failures are reported once: a flush with nothing new succeeds.
        try sink.flush()
        try sink.close()
        #expect(sink.failed == 7)
    }

    @Test func closePurgesAndCountsWhatFlushCouldNotDeliver() throws {
        let port = try KafkaTestBroker.freeLoopbackPort()
        let sink = try KafkaSink(options: KafkaSinkOptions(brokers: ["127.0.0.1:\(port)"], topic: "unreachable",
                                                           messageTimeoutMs: 120_000, flushTimeoutMs: 200),
                                 name: "kafka-slow")
        for event in KafkaTestEvents.events(count: 5) { try sink.write(event) }

        // Still retrying (message_timeout_ms is far): flush says so, nothing failed yet.
        let pending = try #require(throws: SinkError.self) { try sink.flush() }
        guard case let .kafkaFailed(name, reason) = pending else {
            Issue.record("expected kafkaFailed, got \(pending)")
            return
        }
        #expect(name == "kafka-slow")
        #expect(reason.contains("outstanding"))
        #expect(sink.failed == 0)

        // Closing gives them up: they are lost, and counted.
        let clock = ContinuousClock()
        let started = clock.now
        let lost = try #require(throws: SinkError.self) { try sink.close() }
        #expect(clock.now - started < .seconds(10))
        guard case let .deliveryFailed(_, count, _) = lost else {
            Issue.record("expected deliveryFailed, got \(lost)")
            return
        }
        #expect(count == 5)
        #expect(sink.failed == 5)
        #expect(sink.delivered == 0)
        #expect(sink.confirmed == 0)
    }

    /// A disk buffer in front of a broker that never answers: closing takes
    /// the drain timeout, not the producer's flush timeouts, and every event
    /// stays on disk for the next run.
    @Test func aDiskBufferedSinkStopsAtItsDrainTimeoutKeepingEverything() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try KafkaTestBroker.freeLoopbackPort()
        let kafka = try KafkaSink(options: KafkaSinkOptions(brokers: ["127.0.0.1:\(port)"], topic: "unreachable",
                                                            messageTimeoutMs: 120_000, flushTimeoutMs: 30_000),
                                  name: "kafka-silent")
        let spool = dir.appendingPathComponent("spool").path
        let sink = try DiskBufferedSink(inner: kafka, directory: spool, options: .init(drainTimeout: .seconds(1)))
        for event in KafkaTestEvents.events(count: 10) { try sink.write(event) }
        try sink.flush()
        let clock = ContinuousClock()
        let started = clock.now
        try? sink.close()
        #expect(clock.now - started < .seconds(8), "close waited past the drain timeout")
        #expect(sink.delivered == 0)
        let reopened = try DiskBuffer(directory: spool)
        defer { reopened.close() }
        #expect(reopened.recovery.replayedEvents == 10, "what was not delivered waits on disk")
    }

    /// The pipeline's counters while a broker never answers: what was
    /// produced is in flight, not delivered; at the end it is dropped, and
    /// no counter ever went down.
    @Test func aPipelineCountsUnacknowledgedMessagesInFlightNotDelivered() throws {
        let port = try KafkaTestBroker.freeLoopbackPort()
        let sink = try KafkaSink(options: KafkaSinkOptions(brokers: ["127.0.0.1:\(port)"], topic: "unreachable",
                                                           messageTimeoutMs: 120_000, flushTimeoutMs: 100),
                                 name: "kafka-silent")
        let source = HeldSource(KafkaTestEvents.events(count: 20))
        let pipeline = Pipeline(source: source, sinks: [sink])
        let runner = Thread { try? pipeline.run() }
        runner.start()
        var samples: [PipelineStats.SinkStats] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            samples.append(pipeline.stats.sinks[0])
            if samples.last?.inFlight == 20 && samples.count >= 20 { break }
            usleep(5_000)
        }
        #expect(samples.last?.inFlight == 20, "\(String(describing: samples.last))")
        #expect(samples.allSatisfy { $0.delivered == 0 && $0.droppedSinkError == 0 })
        pipeline.stop()
        #expect(source.finished.wait(timeout: .now() + 30) == .success)
        while !runner.isFinished { usleep(1_000) }
        let final = pipeline.stats.sinks[0]
        #expect(final.delivered == 0)
        #expect(final.droppedSinkError == 20, "purged at close: lost, and counted")
        #expect(final.inFlight == 0)
        #expect(final.queued == 0)
    }

    @Test func fullLocalQueueBlocksWritesInsteadOfDroppingEvents() throws {
        let broker = try KafkaTestBroker()
        defer { broker.stop() }
        let topic = KafkaTestEvents.topic("backpressure")
        // A queue of 4 messages: writing 300 in a loop must wait for room.
        let sink = try Self.makeSink(name: "small-queue", [
            "brokers": .scalar(broker.bootstrap), "topic": .scalar(topic),
            "librdkafka": .list(["queue.buffering.max.messages=4"]),
        ])
        let events = KafkaTestEvents.events(count: 300)
        for event in events { try sink.write(event) }
        try sink.close()
        #expect(sink.backPressureWaits > 0, "the queue never filled: the test did not exercise back-pressure")
        #expect(sink.delivered == events.count)
        #expect(sink.failed == 0)

        let messages = try KafkaTestConsumer(bootstrap: broker.bootstrap).consume(topic: topic, count: events.count)
        // Every event once (values are unique: pid is a sequence number).
        #expect(messages.count == events.count)
        #expect(Set(messages.map(\.value)) == Set(events.map(KafkaTestEvents.expectedValue)))
    }

    @Test func producerErrorsNameTheSinkWithoutPassThroughValues() throws {
        // librdkafka checks the SASL mechanism when the producer is created,
        // and its reason quotes the value: the sink must cut it out.
        let options = try KafkaSinkOptions(brokers: ["127.0.0.1:9"], topic: "sasl", librdkafka: [
            KafkaProperty(key: "security.protocol", value: "SASL_SSL"),
            KafkaProperty(key: "sasl.mechanisms", value: "hunter2-mechanism"),
            KafkaProperty(key: "sasl.password", value: "hunter2-secret"),
        ])
        let error = try #require(throws: SinkError.self) { try KafkaSink(options: options, name: "kafka-sasl") }
        #expect(error.description.contains("kafka-sasl"))
        #expect(error.description.contains("SASL mechanism"), "librdkafka's reason is kept: \(error)")
        #expect(!error.description.contains("hunter2"), "\(error)")
    }
}

/// Emits its events, then waits for `stop()` (a source that is still
/// running while its sink's counters are sampled).
final class HeldSource: EventSource, @unchecked Sendable {
    private let events: [FileEvent]
    private let stopped = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)

    init(_ events: [FileEvent]) { self.events = events }

    func run(emit: (FileEvent) -> Void) throws {
        defer { finished.signal() }
        for event in events { emit(event) }
        stopped.wait()
    }

    func stop() { stopped.signal() }

    var counters: SourceCounters { SourceCounters() }
}
