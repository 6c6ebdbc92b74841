#if canImport(Glibc)
import Glibc
#endif
import CRDKafka
import FSProbeCore
import FSProbePipeline
import FSProbeSinks
import Logging
import Synchronization

/// A Kafka consumer of fsprobe's JSON events: the aggregator's source.
///
/// Each message is one event as an agent's Kafka sink wrote it; it is
/// decoded back into the `FileEvent` the agent had (its `event_id` and
/// `host` included) and emitted. Offsets are committed by the source, never
/// automatically, and only once every sink downstream has flushed the
/// events before them (`DeliveryCheckpoint`): a crash anywhere, of the
/// aggregator or a sink, re-delivers from the last commit instead of
/// losing. Re-delivered events keep their ids, so the SQLite sink stores
/// each once.
///
/// A message that is not an event (not JSON, another format) is counted,
/// reported once, and skipped: it would fail the same way every time.
public final class KafkaEventSource: AcknowledgingEventSource, @unchecked Sendable {
    public let name: String
    public let options: KafkaSourceOptions
    private let callbacks: KafkaCallbacks
    /// The consumer; used by `run`'s thread only (librdkafka's poll and
    /// commit), and destroyed when `run` ends or the source is released unrun.
    private var consumer: OpaquePointer?
    private let stopping = Atomic<Bool>(false)
    private let consumed = Atomic<UInt64>(0)
    private let undecodable = Atomic<UInt64>(0)
    private let commits = Atomic<UInt64>(0)
    private let lag = Atomic<Int>(0)
    private static let logger = Logger(label: "fsprobe.kafka")

    /// Creates the consumer and subscribes; brokers are reached in the
    /// background, so an unreachable one shows up in librdkafka's log
    /// lines, not here.
    /// - Parameter redact: shows values taken from the environment as the
    ///   `${VAR}` they replaced, in librdkafka's lines and errors.
    public init(options: KafkaSourceOptions, name: String = "kafka", redact: @escaping @Sendable (String) -> String = { $0 }) throws {
        self.name = name
        self.options = options
        callbacks = KafkaCallbacks(component: "source \(name.lineSafe)", secrets: options.librdkafka.map(\.value), redact: redact)
        let conf: OpaquePointer
        do {
            conf = try options.makeConfiguration(loadingPlugins: true)
        } catch {
            throw KafkaSourceError(name: name, reason: error.description)
        }
        callbacks.install(on: conf, deliveryReports: false)
        var error = [CChar](repeating: 0, count: 512)
        guard let consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count) else {
            rd_kafka_conf_destroy(conf)  // freed by rd_kafka_new on success only
            let reason = error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaSourceError(name: name, reason: "cannot create the consumer: " + callbacks.safe(reason))
        }
        // Every event of the consumer (messages, rebalances) through one queue.
        rd_kafka_poll_set_consumer(consumer)
        let topics = rd_kafka_topic_partition_list_new(Int32(options.topics.count))
        defer { rd_kafka_topic_partition_list_destroy(topics) }
        for topic in options.topics { rd_kafka_topic_partition_list_add(topics, topic, crdkafka_partition_unassigned) }
        let subscribed = rd_kafka_subscribe(consumer, topics)
        guard subscribed == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(consumer)
            throw KafkaSourceError(name: name, reason: "cannot subscribe: " + String(cString: rd_kafka_err2str(subscribed)))
        }
        self.consumer = consumer
    }

    deinit {
        if let consumer { rd_kafka_destroy(consumer) }
    }

    public func stop() { stopping.store(true, ordering: .releasing) }

    public var counters: SourceCounters {
        SourceCounters(kernelDropped: 0, decodeErrors: undecodable.load(ordering: .relaxed))
    }

    public var readiness: String? {
        "kafka topics \(options.topics.joined(separator: ", ")) from \(options.brokers.joined(separator: ",")) as group \(options.groupID.lineSafe)"
    }

    public var closingCounts: [ClosingCount] {
        [
            ClosingCount(consumed.load(ordering: .relaxed), "messages consumed", group: "kafka", metric: "kafka_consumed_messages"),
            ClosingCount(commits.load(ordering: .relaxed), "offset commits", group: "kafka", metric: "kafka_offset_commits"),
            ClosingCount(undecodable.load(ordering: .relaxed), "not events (skipped)", group: "kafka", metric: "kafka_undecodable_messages"),
        ]
    }

    public var gauges: [SourceGauge] {
        [SourceGauge(metric: "kafka_consumer_lag_messages",
                     help: "Messages of the partitions this source consumed from that it has not read yet (high watermark minus position), as of its last commit interval.",
                     value: lag.load(ordering: .relaxed))]
    }

    /// Outside a pipeline the caller's `emit` returning is the delivery.
    public func run(emit: (FileEvent) -> Void) throws {
        try run(emit: emit, checkpoint: ImmediateCheckpoint())
    }

    public func run(emit: (FileEvent) -> Void, checkpoint: any DeliveryCheckpoint) throws {
        guard let consumer else { throw KafkaSourceError(name: name, reason: "run twice") }
        defer {
            // Leaves the group at once (its partitions go to the others)
            // rather than after the session times out.
            rd_kafka_consumer_close(consumer)
            rd_kafka_destroy(consumer)
            self.consumer = nil
        }
        var decoder = EventJSONDecoder()
        var offsets = ConsumedOffsets()
        var committing = true
        let interval = UInt64(options.commitIntervalMs) * 1_000_000
        var lastCommit = Self.now()

        func commit() {
            guard committing, offsets.hasNew else { return }
            guard checkpoint.awaitDelivered().complete else {
                // A sink lost events since the last commit: committing past
                // them would make that final. From here on nothing is
                // committed, so a restart re-delivers them (and the archive
                // ignores what it already holds).
                committing = false
                Self.logger.warning("source \(name.lineSafe): a sink downstream lost events: offsets are no longer committed, so a restart delivers them again")
                return
            }
            let list = offsets.partitionList()
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_commit(consumer, list, 0)
            if result == RD_KAFKA_RESP_ERR_NO_ERROR {
                offsets.committed()
                commits.add(1, ordering: .relaxed)
            } else if result != RD_KAFKA_RESP_ERR__NO_OFFSET {
                // Not fatal: the next commit carries the same offsets or later ones.
                Self.logger.warning("source \(name.lineSafe): offset commit failed: \(String(cString: rd_kafka_err2str(result)))")
            }
        }

        while !stopping.load(ordering: .acquiring) {
            if let message = rd_kafka_consumer_poll(consumer, 100) {
                handle(message, decoder: &decoder, offsets: &offsets, emit: emit)
                rd_kafka_message_destroy(message)
            }
            let now = Self.now()
            if now &- lastCommit >= interval {
                commit()
                lag.store(offsets.lag(consumer), ordering: .relaxed)
                lastCommit = now
            }
        }
        // What was emitted is in the pipeline, which runs until this returns:
        // wait for the sinks, then commit it.
        commit()
    }

    private func handle(_ message: UnsafeMutablePointer<rd_kafka_message_t>, decoder: inout EventJSONDecoder,
                        offsets: inout ConsumedOffsets, emit: (FileEvent) -> Void) {
        let record = message.pointee
        guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if record.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                Self.logger.warning("source \(name.lineSafe): \(callbacks.safe(String(cString: rd_kafka_err2str(record.err))))")
            }
            return
        }
        consumed.add(1, ordering: .relaxed)
        // Past this message whatever happens to it: a message that is not an
        // event would fail again on every delivery.
        offsets.consumed(topic: record.rkt, partition: record.partition, offset: record.offset)
        let bytes = UnsafeRawBufferPointer(start: record.payload, count: record.len)
        do {
            emit(try decoder.decode(bytes))
        } catch {
            if undecodable.add(1, ordering: .relaxed).newValue == 1 {
                let topic = String(cString: rd_kafka_topic_name(record.rkt))
                Self.logger.warning("source \(name.lineSafe): message \(topic.lineSafe)[\(record.partition)]@\(record.offset) is not an fsprobe event (\(error)); skipped, and so are the next ones like it (counted)")
            }
        }
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}

/// The next offset to read per partition, and whether some moved since the
/// last commit.
struct ConsumedOffsets {
    private struct Partition: Hashable {
        let topic: String
        let partition: Int32
    }
    private var next: [Partition: Int64] = [:]
    private var lastTopic: (handle: OpaquePointer, name: String)?
    private(set) var hasNew = false

    mutating func consumed(topic handle: OpaquePointer?, partition: Int32, offset: Int64) {
        guard let handle else { return }
        // Topic handles are long-lived and few: name them once.
        let name: String
        if let lastTopic, lastTopic.handle == handle {
            name = lastTopic.name
        } else {
            name = String(cString: rd_kafka_topic_name(handle))
            lastTopic = (handle, name)
        }
        next[Partition(topic: name, partition: partition)] = offset + 1
        hasNew = true
    }

    mutating func committed() { hasNew = false }

    /// Messages not read yet in the partitions read so far, from the high
    /// watermarks the consumer last fetched (no request to the broker).
    func lag(_ consumer: OpaquePointer) -> Int {
        var total: Int64 = 0
        for (key, offset) in next {
            var low: Int64 = 0, high: Int64 = 0
            if rd_kafka_get_watermark_offsets(consumer, key.topic, key.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
               high > offset {
                total += high - offset
            }
        }
        return Int(clamping: total)
    }

    /// The offsets to commit; the caller destroys the list.
    func partitionList() -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(next.count))!
        for (key, offset) in next {
            rd_kafka_topic_partition_list_add(list, key.topic, key.partition).pointee.offset = offset
        }
        return list
    }
}

/// A checkpoint for a source run outside any pipeline: what `emit` took is delivered.
private struct ImmediateCheckpoint: DeliveryCheckpoint {
    func awaitDelivered() -> DeliveryReport { DeliveryReport(complete: true) }
}

/// The Kafka source could not start; names the source and why, never a secret.
public struct KafkaSourceError: Error, CustomStringConvertible {
    public let name: String
    public let reason: String
    public var description: String { "kafka source '\(name.lineSafe)': \(reason)" }
}
