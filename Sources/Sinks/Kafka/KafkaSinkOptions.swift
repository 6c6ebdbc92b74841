import FSProbeCore
import FSProbePipeline

/// Which event field becomes the Kafka message key. Messages with the same
/// key go to the same partition, and Kafka keeps order within a partition,
/// so the key decides which events a consumer sees in order.
public enum KafkaMessageKey: String, CaseIterable, Sendable {
    /// The source path's raw bytes: each file's events stay in order (the default).
    case srcFilename = "src_filename"
    /// The process id, in decimal.
    case pid
    /// The process name's raw bytes.
    case comm
    /// The event type's name (`open`, `rename`...).
    case eventType = "event_type"
    /// The user id, in decimal.
    case uid
    /// The container id: each container's events stay in order; the
    /// host's events have no key (an empty container id).
    case containerID = "container_id"
    /// The event's id (`event_id`): spread evenly, each retry of an event
    /// to the same partition. Events without an id have no key.
    case eventID = "event_id"
    /// No key: the partitioner spreads events, with no order across partitions.
    case none
}

/// How many replicas must have a message before the broker acknowledges it.
public enum KafkaAcks: String, CaseIterable, Sendable {
    /// Every in-sync replica (with idempotence: no loss, no duplicates).
    case all
    /// The partition leader only.
    case leader = "1"
    /// No acknowledgement: delivery reports cannot see a lost message.
    case none = "0"
}

public enum KafkaCompression: String, CaseIterable, Sendable {
    case none, gzip, snappy, lz4, zstd
}

/// One `key=value` passed through to librdkafka (TLS, SASL, tuning).
/// Its description never shows the value, which may be a secret.
public struct KafkaProperty: Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public var description: String { "\(key)=(not shown)" }
}

/// `type: kafka` in a pipeline file. Everything is checked without I/O,
/// including the `librdkafka` pass-through, which is applied to a scratch
/// librdkafka configuration so an unknown property or bad value is reported
/// at validation.
public struct KafkaSinkOptions: ComponentOptionsDecodable {
    public var brokers: [String]
    public var topic: String
    public var key: KafkaMessageKey
    public var acks: KafkaAcks
    public var idempotence: Bool
    public var compression: KafkaCompression
    /// How long librdkafka keeps retrying a message before it counts as
    /// failed; nil leaves librdkafka's default (300000 ms).
    public var messageTimeoutMs: Int?
    /// How long `flush()` waits for outstanding messages.
    public var flushTimeoutMs: Int
    public var librdkafka: [KafkaProperty]

    public static let defaultFlushTimeoutMs = 30_000

    /// librdkafka properties the typed options set: passing them through
    /// as well would leave two conflicting values.
    static let ownedProperties: [String: String] = [
        "bootstrap.servers": "brokers", "metadata.broker.list": "brokers",
        "acks": "acks", "request.required.acks": "acks",
        "enable.idempotence": "idempotence",
        "compression.type": "compression", "compression.codec": "compression",
        "message.timeout.ms": "message_timeout_ms", "delivery.timeout.ms": "message_timeout_ms",
    ]

    /// Checks the options as the sink will use them.
    /// - Parameter idempotence: nil means "as acks allows": on with `acks: all`,
    ///   off otherwise (librdkafka refuses idempotence without `acks: all`).
    public init(brokers: [String], topic: String, key: KafkaMessageKey = .srcFilename, acks: KafkaAcks = .all,
                idempotence: Bool? = nil, compression: KafkaCompression = .lz4, messageTimeoutMs: Int? = nil,
                flushTimeoutMs: Int = defaultFlushTimeoutMs, librdkafka: [KafkaProperty] = []) throws(ComponentOptionError) {
        self.brokers = try Self.checkBrokers(brokers)
        self.topic = try Self.checkTopic(topic)
        self.key = key
        self.acks = acks
        self.idempotence = idempotence ?? (acks == .all)
        if self.idempotence, acks != .all {
            throw ComponentOptionError(option: "idempotence", "needs acks: all (got acks: \(acks.rawValue))")
        }
        self.compression = compression
        if let timeout = messageTimeoutMs, !(1...Int(Int32.max)).contains(timeout) {
            throw ComponentOptionError(option: "message_timeout_ms", "expected 1 to \(Int32.max)")
        }
        self.messageTimeoutMs = messageTimeoutMs
        guard (1...Int(Int32.max)).contains(flushTimeoutMs) else {
            throw ComponentOptionError(option: "flush_timeout_ms", "expected 1 to \(Int32.max)")
        }
        self.flushTimeoutMs = flushTimeoutMs
        self.librdkafka = librdkafka
        for (index, property) in librdkafka.enumerated() {
            if let owner = Self.ownedProperties[property.key] {
                throw ComponentOptionError(option: "librdkafka", item: index, "'\(property.key)' is set by the sink's '\(owner)' option")
            }
        }
        // The same configuration the sink builds, thrown away: unknown
        // properties, bad values and codecs this librdkafka lacks show here.
        try KafkaConfiguration(self).discard()
    }

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        let brokers = try options.required("brokers", options.strings("brokers"))
        let topic = try options.required("topic", options.string("topic"))
        try self.init(
            brokers: brokers.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) },
            topic: topic,
            key: options.choice("key", as: KafkaMessageKey.self) ?? .srcFilename,
            acks: options.choice("acks", as: KafkaAcks.self) ?? .all,
            idempotence: options.bool("idempotence"),
            compression: options.choice("compression", as: KafkaCompression.self) ?? .lz4,
            messageTimeoutMs: options.integer("message_timeout_ms", in: 1...Int(Int32.max)),
            flushTimeoutMs: options.integer("flush_timeout_ms", in: 1...Int(Int32.max)) ?? Self.defaultFlushTimeoutMs,
            librdkafka: Self.properties(options.strings("librdkafka") ?? [])
        )
    }

    /// Splits `key=value` items at the first `=`. A malformed item is named
    /// by its position, never shown: it may be a secret missing its key.
    package static func properties(_ items: [String]) throws(ComponentOptionError) -> [KafkaProperty] {
        var properties: [KafkaProperty] = []
        for (index, item) in items.enumerated() {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ComponentOptionError(option: "librdkafka", item: index, "item \(index + 1) is not key=value")
            }
            let key = String(item[..<equals])
            guard key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }) else {
                throw ComponentOptionError(option: "librdkafka", item: index, "item \(index + 1) has a key that is not a property name")
            }
            properties.append(KafkaProperty(key: key, value: String(item[item.index(after: equals)...])))
        }
        return properties
    }

    /// `host[:port]` entries; librdkafka resolves and connects later.
    package static func checkBrokers(_ brokers: [String]) throws(ComponentOptionError) -> [String] {
        guard !brokers.isEmpty else { throw ComponentOptionError(option: "brokers", "is empty: expected host:port entries") }
        for broker in brokers {
            guard !broker.isEmpty, !broker.contains(where: \.isWhitespace) else {
                throw ComponentOptionError(option: "brokers", "expected host:port entries separated by commas, got '\(brokers.joined(separator: ","))'")
            }
        }
        return brokers
    }

    /// Kafka's own rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not `.` or `..`.
    package static func checkTopic(_ topic: String) throws(ComponentOptionError) -> String {
        let legal = topic.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard legal, (1...249).contains(topic.utf8.count), topic != ".", topic != ".." else {
            throw ComponentOptionError(option: "topic", "expected 1 to 249 of a-z A-Z 0-9 . _ - (Kafka's rule), got '\(topic)'")
        }
        return topic
    }
}
