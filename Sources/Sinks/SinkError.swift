#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a sink failed, as one line a user can act on.
public enum SinkError: Error, Equatable, CustomStringConvertible {
    /// `open(2)` failed: `cannot open output file '/x/y': Permission denied`.
    case cannotOpen(path: String, errno: Int32)
    /// `write(2)` failed: `cannot write to '/x/y': No space left on device`.
    case writeFailed(name: String, errno: Int32)
    /// `close(2)` failed (NFS reports deferred write errors here).
    case closeFailed(name: String, errno: Int32)
    /// A SQLite operation failed, with SQLite's reason:
    /// `cannot open database '/x/y': file is not a database`.
    case databaseFailed(path: String, action: String, reason: String)
    /// Kafka messages failed delivery, from librdkafka's delivery reports:
    /// `sink 'kafka': 3 messages not delivered (first error: Local: Message timed out)`.
    case deliveryFailed(name: String, count: Int, firstError: String)
    /// The Kafka client refused a setting or a message, or did not finish in time.
    case kafkaFailed(name: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, code) where code == ENXIO:
            "cannot open output file '\(path.lineSafe)': a FIFO with no reader (start its reader first)"
        case let .cannotOpen(path, code): "cannot open output file '\(path.lineSafe)': \(Self.message(code))"
        case let .writeFailed(name, code) where code == ECANCELED:
            "gave up writing to '\(name.lineSafe)': it was still blocked when the sink was interrupted (a stop or drain deadline)"
        case let .writeFailed(name, code): "cannot write to '\(name.lineSafe)': \(Self.message(code))"
        case let .closeFailed(name, code): "cannot close '\(name.lineSafe)': \(Self.message(code))"
        case let .databaseFailed(path, action, reason): "cannot \(action) database '\(path.lineSafe)': \(reason.lineSafe)"
        case let .deliveryFailed(name, count, first): "sink '\(name)': \(count) message\(count == 1 ? "" : "s") not delivered (first error: \(first))"
        case let .kafkaFailed(name, reason): "sink '\(name)': \(reason)"
        }
    }

    /// The C library's text for `code` (e.g. "Permission denied").
    static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
