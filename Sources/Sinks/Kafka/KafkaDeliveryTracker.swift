import CRDKafka
import Synchronization

/// Counts librdkafka's delivery reports: one per produced message, success
/// or final failure (after librdkafka's own retries).
///
/// Reports are served inside `rd_kafka_poll` and `rd_kafka_flush`, which
/// only the sink's thread calls, so the per-flush state needs no lock; the
/// totals are atomics so statistics may read them from any thread.
final class KafkaDeliveryTracker: @unchecked Sendable {
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    /// Failures not yet reported by a `flush()` (sink thread only).
    private(set) var failedSinceReport = 0
    /// The first of those failures (an error code: nothing to allocate in the callback).
    private(set) var firstError = RD_KAFKA_RESP_ERR_NO_ERROR

    func record(_ error: rd_kafka_resp_err_t) {
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            delivered.add(1, ordering: .relaxed)
            return
        }
        failed.add(1, ordering: .relaxed)
        if failedSinceReport == 0 { firstError = error }
        failedSinceReport += 1
    }

    /// The failures since the last call, as (count, first error's text), and forgets them.
    func takeFailures() -> (count: Int, firstError: String)? {
        guard failedSinceReport > 0 else { return nil }
        defer { failedSinceReport = 0 }
        return (failedSinceReport, String(cString: rd_kafka_err2str(firstError)))
    }

    /// Registers the callback and this tracker on a configuration; the
    /// caller keeps the tracker alive as long as the producer.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            Unmanaged<KafkaDeliveryTracker>.fromOpaque(opaque).takeUnretainedValue().record(message.pointee.err)
        }
    }
}
