import CRDKafka
import Foundation

/// One message as the broker returned it.
public struct ConsumedMessage: Sendable {
    public let partition: Int32
    public let offset: Int64
    /// nil for a message produced without a key.
    public let key: [UInt8]?
    public let value: [UInt8]
}

/// Reads a topic back with librdkafka, independently of the sink: every
/// partition from its beginning, by manual assignment (no group rebalance
/// to wait for).
public final class KafkaTestConsumer {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    private let consumer: OpaquePointer

    public init(bootstrap: String) throws {
        let conf = rd_kafka_conf_new()
        var error = [CChar](repeating: 0, count: 512)
        let settings = [
            "bootstrap.servers": bootstrap,
            // Required by the consumer API; nothing is committed or joined.
            "group.id": "fsprobe-test-\(UUID().uuidString)",
            "enable.auto.commit": "false",
            "enable.partition.eof": "false",
            // Answer fetches at once instead of long-polling empty partitions.
            "fetch.wait.max.ms": "10",
        ]
        for (key, value) in settings where rd_kafka_conf_set(conf, key, value, &error, error.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw Failure(description: "consumer setting \(key): \(error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })")
        }
        guard let consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count) else {
            rd_kafka_conf_destroy(conf)
            throw Failure(description: "consumer: \(error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })")
        }
        rd_kafka_poll_set_consumer(consumer)
        self.consumer = consumer
    }

    deinit {
        rd_kafka_consumer_close(consumer)
        rd_kafka_destroy(consumer)
    }

    /// The number of partitions the broker reports for `topic`, once it
    /// reports the topic: a producer's first message creates it, and a
    /// reader may ask before that message arrived (or while the new topic
    /// has no leader yet). Gives up after `timeout`.
    public func partitionCount(topic: String, timeout: Duration = .seconds(30)) throws -> Int32 {
        let handle = rd_kafka_topic_new(consumer, topic, nil)
        defer { rd_kafka_topic_destroy(handle) }
        let deadline = ContinuousClock.now + timeout
        while true {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let error = rd_kafka_metadata(consumer, 0, handle, &metadata, 10_000)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw Failure(description: "metadata for \(topic): \(String(cString: rd_kafka_err2str(error)))")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            let topicError = metadata.pointee.topic_cnt == 1 ? metadata.pointee.topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
            if topicError == RD_KAFKA_RESP_ERR_NO_ERROR { return metadata.pointee.topics[0].partition_cnt }
            let notYet = topicError == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || topicError == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE
            guard notYet, ContinuousClock.now < deadline else {
                throw Failure(description: "topic \(topic) not in the broker's metadata: \(String(cString: rd_kafka_err2str(topicError)))")
            }
            // The broker has no notification for a topic's creation: ask again shortly.
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Reads every partition of `topic` from the beginning until `count`
    /// messages arrived or `timeout` passed; messages of one partition come
    /// in their log order.
    public func consume(topic: String, count: Int, timeout: Duration = .seconds(30)) throws -> [ConsumedMessage] {
        let partitions = try partitionCount(topic: topic, timeout: timeout)
        let list = rd_kafka_topic_partition_list_new(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions {
            rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = crdkafka_offset_beginning
        }
        let assigned = rd_kafka_assign(consumer, list)
        guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Failure(description: "assign \(topic): \(String(cString: rd_kafka_err2str(assigned)))")
        }
        defer { rd_kafka_assign(consumer, nil) }

        var messages: [ConsumedMessage] = []
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while messages.count < count, clock.now < deadline {
            guard let message = rd_kafka_consumer_poll(consumer, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw Failure(description: "consume \(topic): \(String(cString: rd_kafka_err2str(m.err)))")
            }
            messages.append(ConsumedMessage(
                partition: m.partition, offset: m.offset,
                key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) },
                value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []))
        }
        return messages
    }
}
