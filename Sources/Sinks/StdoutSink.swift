#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore
import FSProbePipeline

/// Writes events to standard output (or any already-open descriptor).
///
/// Output is buffered and written in chunks of up to 64 KiB; the pipeline
/// flushes it whenever the sink's buffer runs empty, so an interactive user
/// sees each event as soon as the stream pauses, while a busy stream still
/// costs one `write(2)` per ~64 KiB. The table header is written with the
/// first flush. The descriptor is not closed by `close()`.
///
/// Called from one thread at a time (see `EventSink`).
public final class StdoutSink: EventSink, @unchecked Sendable {
    public let name: String
    private var writer: FileDescriptorWriter
    /// Events written out, and accepted then lost to failed writes.
    private let count = SinkDeliveryCount()
    private let interruption = WriteInterruption()

    /// - Parameters:
    ///   - fd: the descriptor to write to; standard output unless a test or
    ///     an embedding program passes another.
    ///   - clock: the table's time column (ignored for JSON).
    public init(format: OutputFormat, fd: Int32 = STDOUT_FILENO, name: String = "stdout",
                clock: TableFormatter.Clock = .local) {
        self.name = name
        self.writer = FileDescriptorWriter(fd: fd, name: name, format: format, clock: clock, count: count,
                                           interruption: interruption)
    }

    public var format: OutputFormat { writer.format }

    /// Events `write` accepted that a failed write then lost (a closed
    /// pipe, a full disk behind a redirection): dropped, reason `sink_error`.
    public var undelivered: UInt64 { count.lost }
    /// Events whose line was written out whole.
    public var confirmed: UInt64? { count.confirmed }

    /// Never throws for this event: a failure to write it is counted in
    /// `undelivered` and thrown by `flush()`.
    public func write(_ event: FileEvent) throws {
        writer.write(event)
    }

    public func flush() throws {
        try writer.flush()
    }

    public func close() throws {
        try flush()
    }

    /// A write blocked on a reader that takes nothing ends, and none
    /// starts: what is not written is counted lost.
    public func interrupt() {
        interruption.interrupt()
    }
}
