import CRDKafka
import FSProbeCore
import FSProbePipeline
import FSProbeSinks

/// Where a consumer group starts on a partition it has no committed offset for.
public enum KafkaStartPosition: String, CaseIterable, Sendable {
    /// The oldest message the topic still holds: an aggregator's first run
    /// archives what the agents sent before it (the default).
    case earliest
    /// Only messages produced from now on.
    case latest
}

/// `type: kafka` under `sources:`: a consumer group reading fsprobe's JSON
/// events. Checked without I/O, the `librdkafka` pass-through included (on
/// a scratch configuration, as the sink does).
public struct KafkaSourceOptions: ComponentOptionsDecodable {
    public var brokers: [String]
    public var topics: [String]
    public var groupID: String
    public var start: KafkaStartPosition
    /// How often the consumed offsets are committed, once every sink
    /// downstream has flushed the events before them.
    public var commitIntervalMs: Int
    public var librdkafka: [KafkaProperty]

    public static let defaultCommitIntervalMs = 1000

    /// Properties the typed options set, or that the source's guarantee
    /// depends on (it commits, and only what was delivered).
    static let ownedProperties: [String: String] = [
        "bootstrap.servers": "brokers", "metadata.broker.list": "brokers",
        "group.id": "group_id", "auto.offset.reset": "start",
        "enable.auto.commit": "commit_interval_ms", "enable.auto.offset.store": "commit_interval_ms",
        "auto.commit.interval.ms": "commit_interval_ms",
    ]

    public init(brokers: [String], topics: [String], groupID: String, start: KafkaStartPosition = .earliest,
                commitIntervalMs: Int = defaultCommitIntervalMs, librdkafka: [KafkaProperty] = []) throws(ComponentOptionError) {
        self.brokers = try KafkaSinkOptions.checkBrokers(brokers)
        guard !topics.isEmpty else { throw ComponentOptionError(option: "topics", "is empty: expected one or more topic names") }
        for topic in topics {
            do {
                _ = try KafkaSinkOptions.checkTopic(topic)
            } catch {
                throw ComponentOptionError(option: "topics", error.message)
            }
        }
        self.topics = topics
        guard !groupID.isEmpty, groupID == groupID.lineSafe else {
            throw ComponentOptionError(option: "group_id", "expected a non-empty name without control characters")
        }
        self.groupID = groupID
        self.start = start
        guard (1...3_600_000).contains(commitIntervalMs) else {
            throw ComponentOptionError(option: "commit_interval_ms", "expected 1 to 3600000, got \(commitIntervalMs)")
        }
        self.commitIntervalMs = commitIntervalMs
        self.librdkafka = librdkafka
        for (index, property) in librdkafka.enumerated() {
            if let owner = Self.ownedProperties[property.key] {
                throw ComponentOptionError(option: "librdkafka", item: index, "'\(property.key)' is set by the source's '\(owner)' option")
            }
        }
        // Built and thrown away: what librdkafka refuses shows at validation.
        rd_kafka_conf_destroy(try makeConfiguration(loadingPlugins: false))
    }

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        let brokers = try options.required("brokers", options.strings("brokers"))
        try self.init(
            brokers: brokers.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) },
            topics: try options.required("topics", options.strings("topics")),
            groupID: try options.required("group_id", options.string("group_id")),
            start: options.choice("start", as: KafkaStartPosition.self) ?? .earliest,
            commitIntervalMs: options.integer("commit_interval_ms", in: 1...3_600_000) ?? Self.defaultCommitIntervalMs,
            librdkafka: KafkaSinkOptions.properties(options.strings("librdkafka") ?? []))
    }

    /// librdkafka properties the source sets unless `librdkafka:` does.
    static let tuning: [(key: String, value: String)] = [("fetch.queue.backoff.ms", "10")]

    /// The value the consumer's librdkafka configuration holds for `key`
    /// (the source's own settings, its defaults, then `librdkafka:`); nil
    /// for a key librdkafka does not know. Secrets are not asked for here.
    package func librdkafkaValue(_ key: String) throws(ComponentOptionError) -> String? {
        let conf = try makeConfiguration(loadingPlugins: false)
        defer { rd_kafka_conf_destroy(conf) }
        var value = [CChar](repeating: 0, count: 512)
        var size = value.count
        guard rd_kafka_conf_get(conf, key, &value, &size) == RD_KAFKA_CONF_OK else { return nil }
        return value.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// A librdkafka consumer configuration; the caller owns it (until
    /// `rd_kafka_new` takes it). Pass-through values are never shown.
    func makeConfiguration(loadingPlugins: Bool) throws(ComponentOptionError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        // Defaults of the source's own, which `librdkafka:` may change.
        // librdkafka stops fetching while its queue holds queued.min.messages
        // and, by default, waits a whole second before asking again: a
        // source that keeps up drains the queue long before, then sits idle
        // (about 0.5 s in every second at 100k events/s against the test
        // broker). Asking again after 10 ms keeps the queue fed.
        for (key, value) in Self.tuning { rd_kafka_conf_set(conf, key, value, nil, 0) }
        let owned: [(option: String, key: String, value: String)] = [
            ("brokers", "bootstrap.servers", brokers.joined(separator: ",")),
            ("group_id", "group.id", groupID),
            ("start", "auto.offset.reset", start.rawValue),
            // Offsets are committed by the source, after the sinks flushed.
            ("commit_interval_ms", "enable.auto.commit", "false"),
            ("commit_interval_ms", "enable.auto.offset.store", "false"),
        ]
        do {
            try KafkaConfiguration.set(owned, passThrough: librdkafka, on: conf, loadingPlugins: loadingPlugins)
        } catch {
            rd_kafka_conf_destroy(conf)
            throw error
        }
        return conf
    }
}
