import FSProbeCore
import Synchronization

/// Handed by the pipeline to a source that acknowledges what it read (a
/// Kafka consumer commits offsets), so that it acknowledges only what every
/// sink downstream has made durable: a crash anywhere then re-delivers
/// instead of losing.
///
/// What "delivered" means: every event the calling source emitted before the
/// call has been handled by every transform on its way (passed on or
/// filtered out) and, at every sink it reached, written and then flushed
/// (`EventSink.flush()` returned after that write), or counted as dropped (a
/// full `.dropNewest` buffer, a throwing `write`, a throwing `flush`). A sink
/// behind a disk buffer (`DiskBufferedSink`) counts as flushed once its
/// `flush()` returned: the events are then in the disk buffer, which
/// delivers them later, also after a restart.
public protocol DeliveryCheckpoint: Sendable {
    /// Blocks until every event the calling source emitted before this call
    /// has been handled by every transform downstream (passed on or filtered
    /// out) and, at every sink it reached, written and then flushed
    /// (`sink.flush()` returned) or counted as dropped. Returns a report;
    /// never waits for events emitted after the call (those of other sources
    /// sharing a buffer may be waited for when they were queued ahead).
    ///
    /// While a checkpoint waits, the sinks it waits on flush after every
    /// batch (not only when their buffer runs empty), so a constant flow of
    /// events does not hold it up. It also returns while the pipeline shuts
    /// down (`Pipeline.stop()` or `suspend()` was called): the sinks run
    /// until every source has returned, so a source may take one last
    /// checkpoint after its `stop()` and before `run` returns. It waits as
    /// long as a sink's `write` or `flush` blocks (a destination that is down,
    /// with `.block`); `Pipeline.interruptSinks()` ends that, and the events
    /// the sinks then fail on are counted as dropped (`complete` is false).
    ///
    /// Called only from the source's own run thread.
    func awaitDelivered() -> DeliveryReport
}

/// What a `DeliveryCheckpoint` found.
public struct DeliveryReport: Sendable, Equatable {
    /// True when nothing that reached a buffer or sink downstream of the
    /// calling source since that source's previous checkpoint (or the start
    /// of the pipeline) was dropped: no buffer full with `.dropNewest`, no
    /// sink write error, flush error or `undelivered` event, no drop of a
    /// sink's own store (`ownCounts`). Committing past the events emitted
    /// before the checkpoint is then safe. When false, some were lost (not
    /// necessarily this source's when buffers or sinks are shared): a source
    /// that must not lose should not acknowledge past them.
    public var complete: Bool

    public init(complete: Bool) {
        self.complete = complete
    }
}

/// A source that acknowledges upstream what the pipeline has delivered (a
/// Kafka consumer committing offsets). The pipeline calls
/// `run(emit:checkpoint:)` instead of `run(emit:)`.
public protocol AcknowledgingEventSource: EventSource {
    /// As `EventSource.run(emit:)`, with a checkpoint to wait on before
    /// acknowledging: call `checkpoint.awaitDelivered()` from this thread,
    /// and acknowledge what was emitted before the call only when its report
    /// is `complete`.
    func run(emit: (FileEvent) -> Void, checkpoint: any DeliveryCheckpoint) throws
}

extension AcknowledgingEventSource {
    /// Runs the source where nothing confirms delivery (a runner that does
    /// not know about checkpoints): every checkpoint returns at once with
    /// `complete == false` (`UnconfirmedDeliveryCheckpoint`), so a source
    /// following the contract never acknowledges, and what it read is read
    /// again next time rather than lost.
    public func run(emit: (FileEvent) -> Void) throws {
        try run(emit: emit, checkpoint: UnconfirmedDeliveryCheckpoint())
    }
}

/// A checkpoint that confirms nothing: returns at once, `complete == false`.
public struct UnconfirmedDeliveryCheckpoint: DeliveryCheckpoint {
    public init() {}
    public func awaitDelivered() -> DeliveryReport { DeliveryReport(complete: false) }
}

/// How many events the consumer of a lane has settled (a transform: taken
/// and its outputs pushed on; a sink: written, or failed, and flushed after),
/// and how many checkpoints are waiting on it, in one atomic word: the count
/// (modulo 2^48) in the high 48 bits, the watchers in the low 16. A stage
/// settles with one read-modify-write that also tells it whether to wake a
/// checkpoint, and a checkpoint that starts watching cannot miss it: both
/// are read-modify-writes of the same word.
final class SettledProgress: Sendable {
    private static let watcherBits: UInt64 = 16
    private static let watcherMask: UInt64 = (1 << watcherBits) - 1
    private static let countMask: UInt64 = (1 << (64 - watcherBits)) - 1
    private let word = Atomic<UInt64>(0)

    /// Adds `count` settled events (their effects, pushes downstream and
    /// flushes, happen before); returns whether a checkpoint is watching.
    func settle(_ count: UInt64) -> Bool {
        let old = word.wrappingAdd(count << Self.watcherBits, ordering: .releasing).oldValue
        return old & Self.watcherMask != 0
    }

    /// Whether a checkpoint is waiting on this stage: a sink then flushes after every batch.
    var isWatched: Bool { word.load(ordering: .relaxed) & Self.watcherMask != 0 }

    func watch() { word.wrappingAdd(1, ordering: .relaxed) }
    func unwatch() { word.wrappingSubtract(1, ordering: .relaxed) }

    /// Whether `target` events (a lane's accepted count) have been settled.
    func hasSettled(_ target: UInt64) -> Bool {
        let settled = word.load(ordering: .acquiring) >> Self.watcherBits
        let ahead = (settled &- target) & Self.countMask
        return ahead <= Self.countMask / 2
    }
}

/// Where checkpoints wait for stages to settle; stages wake it only when
/// `SettledProgress.settle` says a checkpoint watches them.
final class ProgressSignal: Sendable {
    // One condition is used: "some stage settled more".
    private let condition = ConditionLock()

    func broadcast() {
        condition.lock()
        condition.broadcastNotEmpty()
        condition.unlock()
    }

    func wait(until done: () -> Bool) {
        condition.lock()
        while !done() { condition.waitNotEmpty() }
        condition.unlock()
    }
}
