import FSProbeCore
import Synchronization

/// Where events end up: standard output, a file, a SQLite archive, a Kafka
/// topic (`FSProbeSinks`), or a sink of an embedding program's own.
///
/// The pipeline gives every sink its own bounded buffer and its own thread,
/// and calls a sink from that one thread only, so implementations need no
/// locking of their own (they are `Sendable` only so the pipeline may hand
/// them to that thread; mark a class `@unchecked Sendable` under this rule).
///
/// Call order: any number of `write`s, with a `flush()` whenever the sink's
/// buffer runs empty (so a terminal shows events as they happen and a
/// database can commit one transaction per batch) and after every batch
/// while a `DeliveryCheckpoint` waits on the sink, then one final `flush()`
/// and `close()` at shutdown. Nothing is called after `close()`. A
/// checkpoint counts what was written as delivered once a `flush()` after it
/// has returned: make it durable there.
///
/// Errors do not stop the pipeline: a throwing `write` counts the event as
/// dropped with reason `.sinkError`, and the first error of each kind is
/// passed to the pipeline's error handler.
public protocol EventSink: AnyObject, Sendable {
    /// A short name for statistics and error messages (`stdout`, the path...).
    var name: String { get }
    /// Accepts one event; may buffer it until `flush()`.
    func write(_ event: FileEvent) throws
    /// Makes everything written so far durable or visible.
    func flush() throws
    /// Releases the sink's resources; the pipeline flushes before closing.
    func close() throws

    /// Events `write` accepted that the sink later found it could not
    /// deliver (a broker's delivery reports). The pipeline counts them as
    /// dropped with reason `sink_error`. Read from any thread.
    var undelivered: UInt64 { get }

    /// Events the destination has taken: bytes written out, a transaction
    /// committed, a broker's acknowledgement. The pipeline reports this as
    /// `delivered`, and what `write` accepted but is neither confirmed nor
    /// undelivered as in flight. Never goes down. nil: a `write` that
    /// returns is the delivery. Read from any thread.
    var confirmed: UInt64? { get }

    /// Called from another thread when whoever waits on this sink gives up
    /// (a disk buffer's drain deadline, fsprobe's stop deadline): make a
    /// `write`, `flush` or `close` in progress return soon, and later ones
    /// fail fast, counting what is not delivered. Thread-safe, also against
    /// a `close()` in progress. The default does nothing.
    func interrupt()

    /// Called from another thread (SIGUSR1, after logrotate moved the
    /// files): reopen output files by their paths. Thread-safe; the
    /// default does nothing.
    func reopen()

    /// The counts of a sink that holds events of its own between the
    /// pipeline and its destination (a disk buffer): the pipeline reports
    /// them instead of what it counted itself. nil (the default) for a sink
    /// whose counts are the pipeline's and `confirmed`/`undelivered`. Read
    /// from any thread.
    var ownCounts: SinkOwnCounts? { get }

    /// The files and directories this sink writes on this machine (an
    /// output file, a database, a disk buffer's directory), so that an
    /// instance writing into what another watches can be warned about.
    /// Empty (the default) for a sink writing to a stream or the network.
    var outputPaths: [String] { get }

    /// What the sink found when it opened and an operator should know
    /// (events of an earlier run to deliver, some lost), one line each,
    /// said once at start-up. Empty by default.
    var startupNotes: [String] { get }
}

/// What a sink holding events of its own reports (`EventSink.ownCounts`).
public struct SinkOwnCounts: Sendable, Hashable {
    /// Taken by the destination.
    public var delivered: UInt64
    /// Dropped because the sink's own store was full.
    public var droppedBufferFull: UInt64
    /// Lost on the way to the destination.
    public var droppedSinkError: UInt64
    /// Held, not yet delivered.
    public var queued: Int
    /// What its disk buffer found at start, if it has one.
    public var diskBuffer: PipelineStats.DiskBufferStats?

    public init(delivered: UInt64, droppedBufferFull: UInt64, droppedSinkError: UInt64, queued: Int,
                diskBuffer: PipelineStats.DiskBufferStats? = nil) {
        self.delivered = delivered
        self.droppedBufferFull = droppedBufferFull
        self.droppedSinkError = droppedSinkError
        self.queued = queued
        self.diskBuffer = diskBuffer
    }
}

extension EventSink {
    /// Sinks that deliver within `write`/`flush` lose nothing after accepting.
    public var undelivered: UInt64 { 0 }
    public var confirmed: UInt64? { nil }
    public func interrupt() {}
    public func reopen() {}
    public var ownCounts: SinkOwnCounts? { nil }
    public var outputPaths: [String] { [] }
    public var startupNotes: [String] { [] }
}

/// A sink's own delivery counters, updated by its thread and read by the
/// pipeline's statistics from any other: events the destination took
/// (`EventSink.confirmed`) and events accepted then lost (`undelivered`).
public final class SinkDeliveryCount: Sendable {
    private let confirmedCount = Atomic<UInt64>(0)
    private let lostCount = Atomic<UInt64>(0)

    public init() {}

    public var confirmed: UInt64 { confirmedCount.load(ordering: .relaxed) }
    public var lost: UInt64 { lostCount.load(ordering: .relaxed) }

    public func confirm(_ events: Int) {
        if events > 0 { confirmedCount.add(UInt64(events), ordering: .relaxed) }
    }

    public func lose(_ events: Int) {
        if events > 0 { lostCount.add(UInt64(events), ordering: .relaxed) }
    }
}
