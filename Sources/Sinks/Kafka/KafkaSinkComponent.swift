import FSProbeCore
import FSProbePipeline

extension ComponentType {
    public static let kafkaSink = ComponentType.sink(
        "kafka", summary: "produces each event as a JSON message to a Kafka topic (librdkafka)",
        options: [
            OptionSpec("brokers", .stringList, required: true, "bootstrap brokers, host:port (a list, or comma-separated)"),
            OptionSpec("topic", .string, required: true, "the topic to produce to"),
            OptionSpec("key", .choice(KafkaMessageKey.allCases.map(\.rawValue)),
                       "event field used as message key (default: src_filename, so each file's events stay in order)"),
            OptionSpec("acks", .choice(KafkaAcks.allCases.map(\.rawValue)), "acknowledgements to wait for (default: all)"),
            OptionSpec("idempotence", .bool, "no duplicates or reordering on retries (default: true with acks: all)"),
            OptionSpec("compression", .choice(KafkaCompression.allCases.map(\.rawValue)), "compression codec (default: lz4)"),
            OptionSpec("message_timeout_ms", .positiveInteger, "how long a message is retried before it counts as failed (default: 300000)"),
            OptionSpec("flush_timeout_ms", .positiveInteger, "how long a flush waits for outstanding messages (default: 30000)"),
            OptionSpec("librdkafka", .stringList, "key=value properties passed to librdkafka (TLS, SASL); use ${VAR} for secrets"),
        ]
    ) { (options: KafkaSinkOptions, context) in
        try KafkaSink(options: options, name: context.name, redact: context.redact)
    }
}
