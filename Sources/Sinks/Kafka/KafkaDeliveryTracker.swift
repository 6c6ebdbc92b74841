import CRDKafka
import FSProbeCore
import Logging
#if canImport(Glibc)
import Glibc
#endif
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
}

/// What librdkafka calls back into, for one client: a producer's delivery reports
/// (`tracker`) and its log lines. librdkafka's own logger would print
/// lines that may quote a broker address or a SASL user name taken from
/// the environment; these are written with every such value shown as the
/// `${VAR}` it came from, and every pass-through value hidden.
package final class KafkaCallbacks: @unchecked Sendable {
    let tracker = KafkaDeliveryTracker()
    /// Who the lines are about: "sink archive", "source fleet".
    private let component: String
    private let redact: @Sendable (String) -> String

    /// - Parameter secrets: values never to print (the `librdkafka:` entries').
    convenience init(sinkName: String, secrets: [String], redact: @escaping @Sendable (String) -> String) {
        self.init(component: "sink \(sinkName.lineSafe)", secrets: secrets, redact: redact)
    }

    /// - Parameter component: who the lines are about ("source fleet").
    package init(component: String, secrets: [String], redact: @escaping @Sendable (String) -> String) {
        self.component = component
        let hidden = secrets.filter { $0.count >= 3 }.sorted { $0.count > $1.count }
        self.redact = { text in
            var text = redact(text)
            for value in hidden { text = text.replacing(value, with: "(not shown)") }
            return text
        }
    }

    package static let logger = Logger(label: "fsprobe.kafka")

    /// A librdkafka message made safe to print: no secret, one line.
    package func safe(_ text: String) -> String { redact(text).lineSafe }

    /// Registers the log callback, the delivery reports (a producer's
    /// only: a consumer warns about a producer property) and this object on
    /// a configuration; the caller keeps it alive as long as the client.
    package func install(on conf: OpaquePointer, deliveryReports: Bool) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        if deliveryReports {
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let opaque else { return }
                Unmanaged<KafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue().tracker.record(message.pointee.err)
            }
        }
        // Called from librdkafka's threads; to the process's logging (an
        // embedder's backend, or fsprobe's stderr at its --log-level).
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let callbacks = Unmanaged<KafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            let text = message.map { String(cString: $0) } ?? ""
            let area = facility.map { String(cString: $0) } ?? ""
            KafkaCallbacks.logger.log(level: Logger.Level(syslog: level),
                                      "\(callbacks.component): librdkafka \(area.lineSafe) (level \(level)): \(callbacks.safe(text))")
        }
    }
}

extension Logger.Level {
    /// A syslog severity, as librdkafka gives its log lines (0 emergency … 7 debug).
    init(syslog level: Int32) {
        self = switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }
}
