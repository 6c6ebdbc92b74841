import CRDKafka
import FSProbeCore
import FSProbePipeline

/// A librdkafka configuration (`rd_kafka_conf_t`) made from the sink's
/// options, owned until it is handed to `rd_kafka_new` or discarded.
///
/// Built twice: once when options are decoded (and thrown away), so every
/// property librdkafka would refuse is reported at validation, and once by
/// the sink. Setting properties does no I/O, except loading plugins, which
/// is left to the sink.
package struct KafkaConfiguration: ~Copyable {
    /// Borrowed by callers that add callbacks; owned by this value.
    let handle: OpaquePointer

    /// What this librdkafka was built with (`gzip,snappy,ssl,sasl,...,zstd`).
    static let builtinFeatures: Set<String> = {
        let conf = rd_kafka_conf_new()
        defer { rd_kafka_conf_destroy(conf) }
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard rd_kafka_conf_get(conf, "builtin.features", &buffer, &size) == RD_KAFKA_CONF_OK else { return [] }
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return Set(text.split(separator: ",").map(String.init))
    }()

    init(_ options: KafkaSinkOptions, loadingPlugins: Bool = false) throws(ComponentOptionError) {
        let conf = rd_kafka_conf_new()!
        do {
            try Self.apply(options, to: conf, loadingPlugins: loadingPlugins)
        } catch {
            rd_kafka_conf_destroy(conf)
            throw error
        }
        handle = conf
    }

    deinit { rd_kafka_conf_destroy(handle) }

    /// Frees the configuration unused.
    consuming func discard() {}

    /// Gives up ownership, to `rd_kafka_new` (which frees it on success only).
    consuming func release() -> OpaquePointer {
        let conf = handle
        discard self
        return conf
    }

    private static func apply(_ options: KafkaSinkOptions, to conf: OpaquePointer, loadingPlugins: Bool) throws(ComponentOptionError) {
        if options.compression != .none, !builtinFeatures.contains(options.compression.rawValue) {
            let codecs = KafkaCompression.allCases.filter { $0 == .none || builtinFeatures.contains($0.rawValue) }
            throw ComponentOptionError(option: "compression", "'\(options.compression.rawValue)' is not built into this librdkafka; available: \(codecs.map(\.rawValue).joined(separator: ", "))")
        }
        var owned: [(option: String, key: String, value: String)] = [
            ("brokers", "bootstrap.servers", options.brokers.joined(separator: ",")),
            ("acks", "acks", options.acks.rawValue),
            ("idempotence", "enable.idempotence", options.idempotence ? "true" : "false"),
            ("compression", "compression.codec", options.compression.rawValue),
            // The Java client's partitioner: a key lands on the same partition
            // whichever client produced it. A pass-through may override it.
            ("librdkafka", "partitioner", "murmur2_random"),
        ]
        if let timeout = options.messageTimeoutMs {
            owned.append(("message_timeout_ms", "message.timeout.ms", String(timeout)))
        }
        try set(owned, passThrough: options.librdkafka, on: conf, loadingPlugins: loadingPlugins)
    }

    /// Sets the properties of a client's typed options, then its
    /// `librdkafka` pass-through, on `conf` (a producer's or a consumer's).
    /// A refusal names the option that set the property; a pass-through
    /// value is never shown, since it may be a secret.
    package static func set(_ owned: [(option: String, key: String, value: String)], passThrough: [KafkaProperty],
                            on conf: OpaquePointer, loadingPlugins: Bool) throws(ComponentOptionError) {
        var error = [CChar](repeating: 0, count: 512)
        for setting in owned where rd_kafka_conf_set(conf, setting.key, setting.value, &error, error.count) != RD_KAFKA_CONF_OK {
            // Our own values are not secret: librdkafka's reason may show them.
            throw ComponentOptionError(option: setting.option, error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        for (index, property) in passThrough.enumerated() {
            if property.key == "plugin.library.paths", !loadingPlugins { continue }
            switch rd_kafka_conf_set(conf, property.key, property.value, &error, error.count) {
            case RD_KAFKA_CONF_OK:
                continue
            case RD_KAFKA_CONF_UNKNOWN:
                throw ComponentOptionError(option: "librdkafka", item: index, "'\(property.key)' is not a librdkafka property")
            default:
                // librdkafka's reason may quote the value (in full or cut),
                // and the value may be a secret: name the property only.
                throw ComponentOptionError(option: "librdkafka", item: index, "librdkafka refuses the value of '\(property.key)' (the value is not shown)")
            }
        }
    }
}
