import FSProbeCore
import FSProbePipeline

extension ComponentType {
    public static let kafkaSource = ComponentType.source(
        "kafka", summary: "consumes fsprobe's JSON events from Kafka topics as a consumer group (an aggregator of agents' streams)",
        options: [
            OptionSpec("brokers", .stringList, required: true, "bootstrap brokers, host:port (a list, or comma-separated)"),
            OptionSpec("topics", .stringList, required: true, "the topics to consume"),
            OptionSpec("group_id", .string, required: true, "the consumer group: instances sharing it share the partitions, and its committed offsets say where a restart resumes"),
            OptionSpec("start", .choice(KafkaStartPosition.allCases.map(\.rawValue)),
                       "where a partition without a committed offset starts (default: earliest)"),
            OptionSpec("commit_interval_ms", .positiveInteger,
                       "how often offsets are committed, each time after every sink downstream flushed the events before them (default: 1000)"),
            OptionSpec("librdkafka", .stringList, "key=value properties passed to librdkafka (TLS, SASL); use ${VAR} for secrets"),
        ]
    ) { (options: KafkaSourceOptions, context) in
        try KafkaEventSource(options: options, name: context.name, redact: context.redact)
    }
}
