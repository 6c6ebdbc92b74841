import CRDKafka
import FSProbeCore
import FSProbePipeline
import Synchronization

/// Produces each event to a Kafka topic: the value is the event's JSON object
/// (`JSONLineEncoder`, without the newline), the key an event field.
///
/// Delivery: `write` queues the message in librdkafka (copied, so the
/// sink's buffers are reused and nothing is allocated on the Swift side per
/// event) and serves pending delivery reports. A full local queue blocks
/// `write` until librdkafka makes room: back-pressure, never a silent drop.
/// `flush()` waits up to `flush_timeout_ms` for every queued message, then
/// throws if any message failed delivery since the last flush, or if some
/// are still outstanding (librdkafka keeps retrying those until
/// `message_timeout_ms`). `close()` flushes, purges what could not be sent
/// (counting it as failed), and destroys the producer.
///
/// Called from one thread at a time (see `EventSink`).
public final class KafkaSink: EventSink, @unchecked Sendable {
    public let name: String
    public let topic: String
    private var producer: OpaquePointer?
    /// The producer for `interrupt()` on another thread (its bit pattern; 0
    /// once `close()` destroys it).
    private let interruptible = Mutex<UInt>(0)
    private let interrupted = Atomic<Bool>(false)
    private let topicHandle: OpaquePointer
    private let callbacks: KafkaCallbacks
    private var tracker: KafkaDeliveryTracker { callbacks.tracker }
    private let key: KafkaMessageKey
    private let flushTimeoutMs: Int32
    private var encoder = JSONLineEncoder()
    private var valueBuffer: [UInt8] = []
    private var keyBuffer: [UInt8] = []
    private var idBuffer: [UInt8] = []
    private let queueFullWaits = Atomic<Int>(0)

    /// Creates the producer; it connects in the background, so an
    /// unreachable broker shows up as failed deliveries, not here.
    /// - Throws: `SinkError.kafkaFailed` naming the sink and the setting
    ///   librdkafka refused (never a pass-through value).
    /// - Parameter redact: shows values that came from the environment as
    ///   the `${VAR}` they replaced, in librdkafka's log lines and errors.
    public init(options: KafkaSinkOptions, name: String = "kafka", redact: @escaping @Sendable (String) -> String = { $0 }) throws {
        self.name = name
        callbacks = KafkaCallbacks(sinkName: name, secrets: options.librdkafka.map(\.value), redact: redact)
        self.topic = options.topic
        self.key = options.key
        self.flushTimeoutMs = Int32(options.flushTimeoutMs)
        valueBuffer.reserveCapacity(1024)
        keyBuffer.reserveCapacity(256)

        let configuration: KafkaConfiguration
        do {
            configuration = try KafkaConfiguration(options, loadingPlugins: true)
        } catch {
            throw SinkError.kafkaFailed(name: name, reason: error.description)
        }
        callbacks.install(on: configuration.handle, deliveryReports: true)
        var error = [CChar](repeating: 0, count: 512)
        let conf = configuration.release()
        guard let producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &error, error.count) else {
            rd_kafka_conf_destroy(conf)  // rd_kafka_new frees it on success only
            let reason = error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw SinkError.kafkaFailed(name: name, reason: "cannot create the producer: " + callbacks.safe(reason))
        }
        guard let topicHandle = rd_kafka_topic_new(producer, options.topic, nil) else {
            let reason = String(cString: rd_kafka_err2str(rd_kafka_last_error()))
            rd_kafka_destroy(producer)
            throw SinkError.kafkaFailed(name: name, reason: "cannot use topic '\(options.topic)': \(reason)")
        }
        self.producer = producer
        self.topicHandle = topicHandle
        interruptible.withLock { $0 = UInt(bitPattern: producer) }
    }

    deinit {
        if let producer {
            rd_kafka_topic_destroy(topicHandle)
            rd_kafka_destroy(producer)
        }
    }

    /// Messages the broker acknowledged (with `acks: 0`, messages sent).
    public var delivered: Int { tracker.delivered.load(ordering: .relaxed) }
    /// Messages that failed delivery after librdkafka's retries, or were purged at close.
    public var failed: Int { tracker.failed.load(ordering: .relaxed) }
    /// `failed`, for the pipeline's dropped-event statistics (`EventSink`).
    public var undelivered: UInt64 { UInt64(failed) }
    /// `delivered`: a message counts once the broker acknowledged it, not
    /// when it is queued (`EventSink`).
    public var confirmed: UInt64? { UInt64(delivered) }
    /// Times a write found librdkafka's queue full and waited for room
    /// (`queue.buffering.max.messages`/`.kbytes`): back-pressure, not loss.
    public var backPressureWaits: Int { queueFullWaits.load(ordering: .relaxed) }

    public func write(_ event: FileEvent) throws {
        guard let producer else { throw SinkError.kafkaFailed(name: name, reason: "written after close") }
        if isInterrupted { throw SinkError.kafkaFailed(name: name, reason: "not sent: fsprobe gave up delivering (stop deadline)") }
        valueBuffer.removeAll(keepingCapacity: true)
        encoder.encodeNext(event, into: &valueBuffer)
        valueBuffer.removeLast()  // the JSON Lines newline: a message is already framed
        keyBuffer.removeAll(keepingCapacity: true)
        key.append(event, to: &keyBuffer)
        idBuffer.removeAll(keepingCapacity: true)
        event.id?.append(to: &idBuffer)

        while true {
            let error = produceCurrent(producer)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR { break }
            guard error == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                throw SinkError.kafkaFailed(name: name, reason: "cannot queue a message: " + String(cString: rd_kafka_err2str(error)))
            }
            // Back-pressure: serving delivery reports frees queue space.
            queueFullWaits.add(1, ordering: .relaxed)
            rd_kafka_poll(producer, 100)
        }
        rd_kafka_poll(producer, 0)
    }

    /// Queues the current buffers as one message. An empty key is sent as
    /// no key (null), which the partitioner spreads. The event's id, when
    /// it has one, goes in the `event_id` header too, so a consumer can
    /// deduplicate without parsing the value.
    private func produceCurrent(_ producer: OpaquePointer) -> rd_kafka_resp_err_t {
        valueBuffer.withUnsafeMutableBytes { value in
            keyBuffer.withUnsafeBytes { key in
                idBuffer.withUnsafeBytes { id in
                    crdkafka_produce(producer, topicHandle, value.baseAddress, value.count,
                                     key.isEmpty ? nil : key.baseAddress, key.count,
                                     Self.idHeader, id.isEmpty ? nil : id.baseAddress, id.count)
                }
            }
        }
    }

    /// The header carrying the event's id.
    public static let idHeader = "event_id"

    public func flush() throws {
        try drain(purgingLeftovers: false)
    }

    /// Purges every message not yet delivered (each then reports a failed
    /// delivery), so a flush in progress on the sink's thread returns at
    /// once; from then on `write` refuses and `flush` does not wait. Any
    /// thread (librdkafka's purge is thread-safe; the lock keeps `close()`
    /// from destroying the producer meanwhile).
    public func interrupt() {
        interrupted.store(true, ordering: .relaxed)
        interruptible.withLock { address in
            guard let producer = OpaquePointer(bitPattern: address) else { return }
            rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING)
        }
    }

    private var isInterrupted: Bool { interrupted.load(ordering: .relaxed) }

    /// Flushes, purges what is still undelivered (counting it as failed:
    /// it is lost with the producer), and destroys the producer even if
    /// the flush throws.
    public func close() throws {
        guard let producer else { return }
        defer {
            interruptible.withLock { $0 = 0 }
            rd_kafka_topic_destroy(topicHandle)
            rd_kafka_destroy(producer)
            self.producer = nil
        }
        try drain(purgingLeftovers: true)
    }

    private func drain(purgingLeftovers: Bool) throws {
        guard let producer else { return }
        var outstanding = 0
        let givingUp = isInterrupted
        if rd_kafka_flush(producer, givingUp ? 0 : flushTimeoutMs) == RD_KAFKA_RESP_ERR__TIMED_OUT {
            outstanding = Int(rd_kafka_outq_len(producer))
            if purgingLeftovers || givingUp {
                // A blocking purge: its delivery reports are queued on return,
                // and serving them makes `failed` count every lost message.
                rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
                rd_kafka_poll(producer, 0)
                outstanding = 0
            }
        }
        if let failures = tracker.takeFailures() {
            throw SinkError.deliveryFailed(name: name, count: failures.count, firstError: failures.firstError)
        }
        if outstanding > 0 {
            throw SinkError.kafkaFailed(
                name: name,
                reason: "\(outstanding) messages or requests still outstanding after flush_timeout_ms (\(flushTimeoutMs) ms); librdkafka retries them until message_timeout_ms")
        }
    }
}
