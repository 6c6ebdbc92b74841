#if canImport(Glibc)
import FSProbeCore
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps events on disk (a `DiskBuffer`) in front of a sink that may stall
/// for a long time, such as Kafka with its broker down, and delivers them
/// when the sink recovers, also after a restart of fsprobe.
///
///     pipeline --write/flush--> disk buffer --delivery thread--> inner sink
///
/// `write` queues the event (in a small in-memory batch appended to the disk
/// on `flush()` or when it is full, so the disk sees one write per batch);
/// `flush` appends and syncs per the buffer's `SyncPolicy`. When the buffer
/// holds `maxBytes`, `.block` waits for the delivery thread to make room
/// (back-pressure on the pipeline, so the sink thread is held up for as long
/// as the inner sink is down) and `.dropNewest` drops and counts
/// (`droppedFull`).
///
/// A dedicated thread reads batches from the disk, writes each event to the
/// inner sink, then flushes it; only after a successful flush is the batch
/// acknowledged (and its disk space freed). When the inner `write` or
/// `flush` throws, the same batch is retried after a pause doubling from
/// `retryInitialDelay` to `retryMaxDelay`, for as long as it takes: delivery
/// is at-least-once, and a retried batch may duplicate events the inner sink
/// had partly delivered before failing. (An event the inner sink refuses
/// every time holds up delivery; `retries` keeps growing.) The first error
/// of each kind goes to the error handler.
///
/// `close()` waits until everything is delivered or `drainTimeout` passes;
/// then the inner call in progress is interrupted (`EventSink.interrupt()`:
/// a Kafka producer purges what it has not sent), what is left stays on disk
/// and is delivered by the next `DiskBufferedSink` on the same directory,
/// and the inner sink is closed.
public final class DiskBufferedSink: EventSink, @unchecked Sendable {
    public struct Options: Sendable, Hashable {
        /// What a write does when the disk buffer holds `maxBytes`.
        public var whenFull: OverflowPolicy
        /// How long `close()` waits for the inner sink to take what is queued.
        public var drainTimeout: Duration
        /// Events per delivery batch (one inner `flush()` each), and per disk append.
        public var batchSize: Int
        public var retryInitialDelay: Duration
        public var retryMaxDelay: Duration

        public init(whenFull: OverflowPolicy = .block, drainTimeout: Duration = .seconds(5), batchSize: Int = 512,
                    retryInitialDelay: Duration = .milliseconds(100), retryMaxDelay: Duration = .seconds(5)) {
            precondition(batchSize > 0, "DiskBufferedSink batchSize must be positive")
            self.whenFull = whenFull
            self.drainTimeout = drainTimeout
            self.batchSize = batchSize
            self.retryInitialDelay = retryInitialDelay
            self.retryMaxDelay = retryMaxDelay
        }
    }

    /// An error of the delivery thread (the pipeline sees those of `write`,
    /// `flush` and `close` itself).
    public struct DeliveryError: Error, CustomStringConvertible {
        public enum Stage: String, Sendable {
            /// The inner sink's `write` (the batch is retried).
            case write
            /// The inner sink's `flush` (the batch is retried).
            case flush
            /// Reading the disk buffer (retried after a pause).
            case read
            /// Persisting the acknowledged position (the batch may be replayed after a restart).
            case acknowledge
        }

        public var sinkName: String
        public var stage: Stage
        public var underlying: any Error

        public var description: String { "sink '\(sinkName)' (disk buffered): \(stage.rawValue) failed: \(underlying)" }
    }

    public let inner: any EventSink
    public let buffer: DiskBuffer
    public let options: Options
    public var name: String { inner.name }

    private let delivery: Delivery
    private var deliveryThread: WorkerThread?
    // Writer side (the pipeline's sink thread).
    private var pending: [FileEvent] = []
    private var closed = false
    // Counters, read from any thread.
    private let droppedFullCount = Counter()
    private let lostCount = Counter()

    /// Starts delivering at once what `buffer` holds (a previous run's events first).
    /// - Parameter errorHandler: called from the delivery thread; keep it short.
    public init(inner: any EventSink, buffer: DiskBuffer, options: Options = Options(),
                errorHandler: @escaping @Sendable (DeliveryError) -> Void = { _ in }) {
        self.inner = inner
        self.buffer = buffer
        self.options = options
        pending.reserveCapacity(options.batchSize)
        let delivery = Delivery(inner: inner, buffer: buffer, options: options, errorHandler: errorHandler)
        self.delivery = delivery
        // The thread holds the delivery state, not the sink, so a sink that
        // is dropped without `close()` (a pipeline that never ran) still
        // stops its thread and releases the directory in `deinit`.
        deliveryThread = WorkerThread { delivery.run() }
    }

    /// Opens (or creates) the disk buffer in `directory`.
    public convenience init(inner: any EventSink, directory: String, bufferOptions: DiskBuffer.Options = DiskBuffer.Options(),
                            options: Options = Options(), errorHandler: @escaping @Sendable (DeliveryError) -> Void = { _ in }) throws {
        self.init(inner: inner, buffer: try DiskBuffer(directory: directory, options: bufferOptions),
                  options: options, errorHandler: errorHandler)
    }

    deinit {
        if !closed {
            stopDelivery()
            buffer.close()
        }
    }

    // MARK: EventSink (the pipeline's thread)

    public func write(_ event: FileEvent) throws {
        if pending.count >= options.batchSize { try appendPending() }
        pending.append(event)
    }

    public func flush() throws {
        try appendPending()
        try buffer.sync()
    }

    /// Stops accepting, waits for delivery (up to `drainTimeout`), stops the
    /// delivery thread, closes the buffer (leaving what is undelivered on
    /// disk) and the inner sink. Rethrows the first error.
    public func close() throws {
        guard !closed else { return }
        closed = true
        var failure: (any Error)?
        do { try flush() } catch { failure = error }
        delivery.gate.wait(for: options.drainTimeout) { [buffer] in buffer.queuedEvents == 0 }
        // What is not delivered by now waits on disk for the next run: the
        // batch in the inner sink's hands need not be waited for.
        if buffer.queuedEvents > 0 { inner.interrupt() }
        stopDelivery()
        buffer.close()
        do { try inner.close() } catch { failure = failure ?? error }
        if let failure { throw failure }
    }

    /// Stops waiting for the inner sink: `close()` ends its drain now (what
    /// is left stays on disk), and the inner sink is interrupted.
    /// The sink behind the disk buffer reopens its files.
    public func reopen() {
        inner.reopen()
    }

    public func interrupt() {
        delivery.gate.stop()
        inner.interrupt()
    }

    private func stopDelivery() {
        delivery.gate.stop()
        buffer.stopReading()
        deliveryThread?.join()
        deliveryThread = nil
    }

    /// Events accepted by `write` and then lost: dropped because the buffer
    /// was full (`.dropNewest`), or because appending them to the disk failed.
    /// The inner sink's own failures are retried, so not counted here.
    public var undelivered: UInt64 { droppedFullCount.value + lostCount.value }

    /// Events dropped because the disk buffer was full (`.dropNewest`).
    public var droppedFull: UInt64 { droppedFullCount.value }
    /// Events on disk not yet delivered (acknowledged).
    public var queuedEvents: Int { buffer.queuedEvents }

    /// The buffer's directory, and what the sink behind writes.
    public var outputPaths: [String] { [buffer.directory] + inner.outputPaths }

    /// Events of an earlier run to deliver, records lost to corruption,
    /// segments set aside.
    public var startupNotes: [String] {
        let recovery = buffer.recovery
        let prefix = "disk buffer '\(buffer.directory.lineSafe)': "
        var lines: [String] = []
        if recovery.replayedEvents > 0 || recovery.discardedRecords > 0 {
            lines.append(prefix + "\(recovery.replayedEvents) events from an earlier run to deliver"
                + (recovery.discardedRecords > 0
                    ? ", \(recovery.discardedRecords) lost to corruption (\(recovery.discardedBytes) bytes stepped over)" : "")
                + (recovery.stateMissing ? "; no valid state file, so everything on disk is replayed" : ""))
        }
        for segment in recovery.setAside {
            lines.append(prefix + "segment set aside as '\(segment.path.lineSafe)': \(segment.reason); its events are not delivered")
        }
        return lines + inner.startupNotes
    }

    /// Written means on disk: delivered is what the sink behind took (a
    /// batch it failed is retried from disk, not lost).
    public var ownCounts: SinkOwnCounts? {
        SinkOwnCounts(
            delivered: delivered, droppedBufferFull: droppedFullCount.value, droppedSinkError: lostCount.value,
            queued: queuedEvents,
            diskBuffer: PipelineStats.DiskBufferStats(
                replayed: buffer.recovery.replayedEvents, droppedCorrupt: UInt64(buffer.discardedRecords),
                segmentsSetAside: buffer.recovery.setAside.count, queuedBytes: buffer.queuedBytes))
    }
    public var queuedBytes: Int { buffer.queuedBytes }
    /// Events the inner sink took and flushed (a retried batch counts once).
    public var delivered: UInt64 { delivery.delivered.value }
    /// Failed delivery attempts (each followed by a pause and a retry).
    public var retries: UInt64 { delivery.retries.value }

    /// Appends the in-memory batch to the disk, waiting for room or dropping
    /// per `whenFull`. On a disk error what was not appended is lost, and counted.
    private func appendPending() throws {
        var start = 0
        defer { pending.removeAll(keepingCapacity: true) }
        do {
            while start < pending.count {
                start += try buffer.append(contentsOf: pending[start...])
                guard start < pending.count else { break }
                if options.whenFull == .dropNewest {
                    droppedFullCount.increment(by: UInt64(pending.count - start))
                    break
                }
                guard buffer.waitForRoom() else {
                    lostCount.increment(by: UInt64(pending.count - start))
                    break
                }
            }
        } catch {
            lostCount.increment(by: UInt64(pending.count - start))
            throw error
        }
    }
}

/// The delivery thread: disk buffer -> inner sink, acknowledging each batch
/// once the inner sink has flushed it.
private final class Delivery: @unchecked Sendable {
    let inner: any EventSink
    let buffer: DiskBuffer
    let options: DiskBufferedSink.Options
    let errorHandler: @Sendable (DiskBufferedSink.DeliveryError) -> Void
    let gate = DeliveryGate()
    let delivered = Counter()
    let retries = Counter()
    // The delivery thread's own.
    private var reported: Set<DiskBufferedSink.DeliveryError.Stage> = []

    init(inner: any EventSink, buffer: DiskBuffer, options: DiskBufferedSink.Options,
         errorHandler: @escaping @Sendable (DiskBufferedSink.DeliveryError) -> Void) {
        self.inner = inner
        self.buffer = buffer
        self.options = options
        self.errorHandler = errorHandler
    }

    /// Until the buffer stops giving batches (`stopReading()`, `close()`)
    /// or the gate is stopped during a retry.
    func run() {
        var batch: [FileEvent] = []
        batch.reserveCapacity(options.batchSize)
        var readDelay = options.retryInitialDelay
        while true {
            batch.removeAll(keepingCapacity: true)
            do {
                guard try buffer.readBatch(into: &batch, max: options.batchSize) else { break }
                readDelay = options.retryInitialDelay
            } catch {
                report(.read, error)
                guard pause(&readDelay) else { break }
                continue
            }
            guard !batch.isEmpty else { continue }
            guard deliverUntilFlushed(batch) else { break }
            do { try buffer.acknowledge() } catch { report(.acknowledge, error) }
            delivered.increment(by: UInt64(batch.count))
            gate.notify()
        }
        gate.notify()
    }

    /// Writes and flushes `batch`, retrying it whole after each failure.
    /// Returns false when stopped before it succeeded.
    private func deliverUntilFlushed(_ batch: [FileEvent]) -> Bool {
        var delay = options.retryInitialDelay
        while true {
            var stage = DiskBufferedSink.DeliveryError.Stage.write
            do {
                for event in batch { try inner.write(event) }
                stage = .flush
                try inner.flush()
                return true
            } catch {
                report(stage, error)
            }
            retries.increment()
            guard pause(&delay) else { return false }
        }
    }

    /// Waits `delay` (unless stopped first) and doubles it up to the maximum.
    /// Returns false when stopped.
    private func pause(_ delay: inout Duration) -> Bool {
        let stopped = gate.wait(for: delay) { false }
        delay = min(delay * 2, options.retryMaxDelay)
        return !stopped
    }

    private func report(_ stage: DiskBufferedSink.DeliveryError.Stage, _ error: any Error) {
        if reported.insert(stage).inserted {
            errorHandler(DiskBufferedSink.DeliveryError(sinkName: inner.name, stage: stage, underlying: error))
        }
    }
}

/// A mutex and condition for the delivery thread and `close()`: waits that
/// end on a condition, at a deadline, or on `stop()`. The condition's clock
/// is monotonic, so a change of the wall clock does not stretch a wait.
private final class DeliveryGate: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var stopped = false

    init() {
        precondition(pthread_mutex_init(mutex, nil) == 0)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        precondition(pthread_cond_init(condition, &attributes) == 0)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Wakes every wait to re-check its condition.
    func notify() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Ends every wait, now and later.
    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until `done()` holds (checked at each `notify()`), `timeout`
    /// passes, or `stop()`. Returns whether stopped.
    @discardableResult
    func wait(for timeout: Duration, until done: () -> Bool) -> Bool {
        var deadline = Self.now()
        // Negative means now; a century is as good as forever and cannot overflow.
        let (seconds, attoseconds) = timeout < .zero ? (0, 0) : timeout.components
        let nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += time_t(min(seconds, 100 * 366 * 86_400)) + time_t(nanoseconds / 1_000_000_000)
        deadline.tv_nsec = numericCast(nanoseconds % 1_000_000_000)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !stopped && !done() {
            // 0 is a wake-up (maybe spurious); anything else is the deadline.
            if pthread_cond_timedwait(condition, mutex, &deadline) != 0 { break }
        }
        return stopped
    }

    private static func now() -> timespec {
        var time = timespec()
        #if canImport(Glibc)
        clock_gettime(CLOCK_MONOTONIC, &time)
        #else
        clock_gettime(CLOCK_REALTIME, &time)
        #endif
        return time
    }
}
