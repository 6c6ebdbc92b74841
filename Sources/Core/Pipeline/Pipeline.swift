import CoreMetrics
import FSProbeCore
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a pipeline: events flow from sources through transforms to sinks
/// along the edges of a `PipelineTopology`.
///
///     source --emit--> [buffer] --transform thread--> [buffer] --sink thread--> sink
///                  \-> [buffer] --sink thread--> sink
///
/// Every transform and sink has its own bounded buffer in front of it and
/// its own thread; sources run on their own threads too. A slow consumer
/// holds up its producers only once its buffer is full and its policy is
/// `.block`; with `.dropNewest` it loses (and counts) its own events instead.
/// Everything is counted (`stats`).
///
/// Shutdown, whether the sources end or `stop()` is called: the sources stop
/// first; a buffer is closed once every component feeding it has finished,
/// and its consumer drains it before finishing in turn; sinks are flushed and
/// closed last. Nothing accepted into a buffer is lost on shutdown.
///
/// A sink's errors are counted and the first of each stage (write, flush,
/// close) per sink goes to `errorHandler`; the pipeline carries on.
///
/// A source that acknowledges what it read (`AcknowledgingEventSource`) is
/// handed a `DeliveryCheckpoint`: it blocks until what the source emitted
/// before has passed every transform and been flushed (or counted as
/// dropped) at every sink it reached. Each consumer counts what it has
/// settled; a checkpoint walks the lanes downstream of its source in
/// topological order, taking a lane's accepted count once its upstream
/// stages have settled theirs, and waits for the consumer to settle that many.
public final class Pipeline: Sendable {
    private let sources: [SourceStage]
    private let transforms: [TransformStage]
    private let sinks: [SinkStage]
    private let configuration: PipelineConfiguration
    private let errorHandler: @Sendable (PipelineError) -> Void
    /// Wakes checkpoints waiting for stages to settle.
    private let progressSignal = ProgressSignal()
    private let stopRequested = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)

    /// - Throws: `PipelineTopologyError` when the topology cannot run (see `PipelineTopology.check()`).
    /// - Parameter errorHandler: called from sink threads; keep it short.
    public init(topology: PipelineTopology, configuration: PipelineConfiguration = PipelineConfiguration(),
                errorHandler: @escaping @Sendable (PipelineError) -> Void = { _ in }) throws(PipelineTopologyError) {
        try topology.check()
        var lanes: [String: Lane] = [:]
        var consumers: [String: [Lane]] = [:]
        var consumerNames: [String: [String]] = [:]
        for node in topology.nodes where !node.inputs.isEmpty {
            let lane = Lane(capacity: node.bufferCapacity ?? configuration.bufferCapacity,
                            policy: node.overflowPolicy, upstreams: node.inputs.count)
            lanes[node.name] = lane
            for input in node.inputs {
                consumers[input, default: []].append(lane)
                consumerNames[input, default: []].append(node.name)
            }
        }
        var sourceNodes: [(name: String, source: any EventSource)] = []
        var transforms: [TransformStage] = [], sinks: [SinkStage] = []
        for node in topology.orderedByInputs() {
            let outputs = consumers[node.name] ?? []
            switch node.component {
            case .source(let source):
                sourceNodes.append((node.name, source))
            case .transform(let transform):
                transforms.append(TransformStage(name: node.name, transform: transform, lane: lanes[node.name]!, outputs: outputs))
            case .sink(let sink):
                let latency = configuration.metricsFactory.map {
                    Timer(label: PipelineMetricLabels.eventLatency, dimensions: [("component", node.name)], factory: $0)
                }
                sinks.append(SinkStage(name: node.name, sink: sink, lane: lanes[node.name]!, latency: latency))
            }
        }
        // Each source's checkpoint: the transforms and sinks downstream of
        // it, transforms in topological order, then sinks.
        let signal = progressSignal
        let sources = sourceNodes.map { node in
            var reached = Set<String>(), pending = [node.name]
            while let name = pending.popLast() {
                for next in consumerNames[name] ?? [] where reached.insert(next).inserted { pending.append(next) }
            }
            let downstream = transforms.filter { reached.contains($0.name) }
            let sinksReached = sinks.filter { reached.contains($0.name) }
            let checkpoint = SourceCheckpoint(lanes: downstream.map(\.lane) + sinksReached.map(\.lane),
                                              sinks: sinksReached, signal: signal)
            return SourceStage(name: node.name, source: node.source, outputs: consumers[node.name] ?? [],
                               checkpoint: checkpoint)
        }
        self.sources = sources
        self.transforms = transforms
        self.sinks = sinks
        self.configuration = configuration
        self.errorHandler = errorHandler
    }

    /// One source, transforms applied in order, and every sink reading the
    /// last transform (or the source). The first stage's buffer has the
    /// configuration's capacity and policy; each sink's buffer its own.
    public convenience init(source: any EventSource, transforms: [any EventTransform] = [], sinks: [PipelineSink],
                            configuration: PipelineConfiguration = PipelineConfiguration(),
                            errorHandler: @escaping @Sendable (PipelineError) -> Void = { _ in }) {
        var topology = PipelineTopology()
        var names = Set<String>()
        // Stages are named after their components; a repeated name gets a suffix.
        func unique(_ name: String) -> String {
            var candidate = name, suffix = 1
            while !names.insert(candidate).inserted {
                suffix += 1
                candidate = "\(name)#\(suffix)"
            }
            return candidate
        }
        var previous = unique("source")
        topology.add(previous, .source(source))
        for (index, transform) in transforms.enumerated() {
            let name = unique(transform.name)
            topology.add(name, .transform(transform), inputs: [previous],
                         bufferCapacity: index == 0 ? configuration.bufferCapacity : nil,
                         overflowPolicy: index == 0 ? configuration.overflowPolicy : .block)
            previous = name
        }
        for sink in sinks {
            let policy = transforms.isEmpty && configuration.overflowPolicy == .dropNewest ? .dropNewest : sink.overflowPolicy
            topology.add(unique(sink.sink.name), .sink(sink.sink), inputs: [previous],
                         bufferCapacity: sink.bufferCapacity, overflowPolicy: policy)
        }
        // A chain of distinct names always passes `check()`.
        try! self.init(topology: topology, configuration: configuration, errorHandler: errorHandler)
    }

    /// A pipeline whose sinks all use the pipeline's buffer capacity and `.block`.
    public convenience init(source: any EventSource, transforms: [any EventTransform] = [], sinks: [any EventSink],
                            configuration: PipelineConfiguration = PipelineConfiguration(),
                            errorHandler: @escaping @Sendable (PipelineError) -> Void = { _ in }) {
        self.init(source: source, transforms: transforms, sinks: sinks.map { PipelineSink($0) },
                  configuration: configuration, errorHandler: errorHandler)
    }

    /// A pipeline configured by its input buffer only (`--chan-size`).
    public convenience init(source: any EventSource, transforms: [any EventTransform] = [], sinks: [any EventSink],
                            bufferCapacity: Int, overflowPolicy: OverflowPolicy = .block,
                            errorHandler: @escaping @Sendable (PipelineError) -> Void = { _ in }) {
        self.init(source: source, transforms: transforms, sinks: sinks,
                  configuration: PipelineConfiguration(bufferCapacity: bufferCapacity, overflowPolicy: overflowPolicy),
                  errorHandler: errorHandler)
    }

    /// Runs the pipeline until every source ends or `stop()` is called, then
    /// shuts down as described above and returns. Rethrows the first source
    /// error, after the shutdown. Call at most once.
    public func run() throws {
        precondition(!started.exchange(true, ordering: .relaxed), "Pipeline.run() called twice")
        let logger = configuration.logger
        logger?.debug("pipeline: starting", metadata: [
            "sources": "\(sources.map(\.name))", "transforms": "\(transforms.map(\.name))", "sinks": "\(sinks.map(\.name))",
        ])
        let sinkThreads = sinks.map { stage in WorkerThread { [self] in runSink(stage) } }
        let transformThreads = transforms.map { stage in WorkerThread { [self] in runTransform(stage) } }
        let failures = Mutex<[any Error]>([])
        // A source runs even when stop() came first: it then returns at once,
        // but hands over what it had already captured (a kernel source has
        // events waiting in its ring buffer), so nothing accepted is lost.
        let sourceThreads = sources.map { stage in
            WorkerThread {
                do {
                    try stage.run()
                } catch {
                    failures.withLock { $0.append(error) }
                }
                for lane in stage.outputs { lane.upstreamFinished() }
            }
        }
        for thread in sourceThreads { thread.join() }
        logger?.debug("pipeline: sources ended; draining the buffers")
        for thread in transformThreads + sinkThreads { thread.join() }
        logger?.debug("pipeline: every sink flushed and closed", metadata: ["received": "\(stats.received)", "delivered": "\(stats.deliveredTotal)"])
        if let failure = failures.withLock({ $0.first }) { throw failure }
    }

    /// Asks the pipeline to stop: the sources stop, and `run()` returns once
    /// everything already accepted has reached the sinks. Thread-safe, cheap
    /// and idempotent; callable before `run()`, which then only delivers what
    /// the sources had already captured.
    ///
    /// Not async-signal-safe (no Swift code is): call it from a
    /// `DispatchSource` signal handler, not from a raw `signal(2)` handler.
    public func stop() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for stage in sources { stage.source.stop() }
    }

    /// Asks every sink to reopen its output files (`EventSink.reopen()`).
    public func reopenSinks() {
        for stage in sinks { stage.sink.reopen() }
    }

    /// Ends the pipeline as `stop()` does, except that resumable sources
    /// are suspended, not stopped: a reload runs them in the next pipeline,
    /// and what they capture meanwhile waits in them. Every sink is still
    /// drained, flushed and closed. Idempotent, and a no-op after `stop()`.
    public func suspend() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for stage in sources {
            if stage.source.resumable { stage.source.suspend() } else { stage.source.stop() }
        }
    }

    /// Gives up waiting for the destinations (the stop deadline passed):
    /// every sink is interrupted, so what it has not delivered fails fast,
    /// counted, and `run()` returns with exact counts. Any thread.
    public func interruptSinks() {
        for stage in sinks { stage.sink.interrupt() }
    }

    /// A snapshot of the counters; callable at any time from any thread.
    public var stats: PipelineStats {
        let sourceStats = sources.map { stage in
            var byType: [EventType: UInt64] = [:]
            for type in EventType.allCases { byType[type] = stage.emitted[Int(type.rawValue)].value }
            return PipelineStats.SourceStats(name: stage.name, emitted: byType.values.reduce(0, +),
                                             counters: stage.source.counters, emittedByType: byType)
        }
        let transformStats = transforms.map { stage in
            let counts = stage.lane.buffer.counts
            return PipelineStats.TransformStats(name: stage.name, filtered: stage.filtered.value,
                                                droppedBufferFull: counts.dropped, queued: stage.lane.buffer.count,
                                                capacity: stage.lane.buffer.capacity)
        }
        let sinkStats = sinks.map { stage in
            var stats = PipelineStats.SinkStats(
                name: stage.name, delivered: 0,
                droppedBufferFull: stage.lane.buffer.counts.dropped,
                droppedSinkError: stage.counters.writeErrors.value,
                flushErrors: stage.counters.flushErrors.value,
                queued: stage.lane.buffer.count)
            stats.capacity = stage.lane.buffer.capacity
            if let own = stage.sink.ownCounts {
                stats.delivered = own.delivered
                stats.droppedBufferFull += own.droppedBufferFull
                stats.droppedSinkError += own.droppedSinkError
                stats.queued += own.queued
                stats.diskBuffer = own.diskBuffer
            } else {
                // Read before what was written, so in flight is never negative.
                let confirmed = stage.sink.confirmed
                let undelivered = stage.sink.undelivered
                let written = stage.counters.delivered.value
                if let confirmed {
                    stats.delivered = confirmed
                    stats.inFlight = Int(clamping: written - min(written, confirmed + undelivered))
                } else {
                    stats.delivered = written - min(written, undelivered)
                }
                stats.droppedSinkError += undelivered
            }
            return stats
        }
        var sourceCounters = SourceCounters()
        for stage in sourceStats {
            sourceCounters.kernelDropped += stage.counters.kernelDropped
            sourceCounters.decodeErrors += stage.counters.decodeErrors
        }
        return PipelineStats(
            received: sourceStats.reduce(0) { $0 + $1.emitted },
            droppedBufferFull: transformStats.reduce(0) { $0 + $1.droppedBufferFull },
            filtered: transformStats.reduce(0) { $0 + $1.filtered },
            transforms: transformStats,
            sinks: sinkStats,
            source: sourceCounters,
            sources: sourceStats)
    }

    /// A transform's thread: its buffer -> the transform -> every consumer's buffer.
    private func runTransform(_ stage: TransformStage) {
        var batch: [FileEvent] = []
        var passed: [FileEvent] = []
        batch.reserveCapacity(configuration.batchSize)
        passed.reserveCapacity(configuration.batchSize)
        while stage.lane.buffer.pop(into: &batch, maxCount: configuration.batchSize) {
            var filtered: UInt64 = 0
            for var event in batch {
                if stage.transform.apply(&event) { passed.append(event) } else { filtered += 1 }
            }
            if filtered > 0 { stage.filtered.increment(by: filtered) }
            let taken = UInt64(batch.count)
            batch.removeAll(keepingCapacity: true)
            if !passed.isEmpty {
                for lane in stage.outputs { lane.buffer.push(contentsOf: passed) }
                passed.removeAll(keepingCapacity: true)
            }
            // Settled only now that its outputs are in the next buffers.
            if stage.lane.progress.settle(taken) { progressSignal.broadcast() }
        }
        for lane in stage.outputs { lane.upstreamFinished() }
    }

    /// A sink's thread: its buffer -> `write`, `flush()` whenever the buffer
    /// runs empty or a checkpoint waits on the sink, and `flush()` +
    /// `close()` at the end. What was written (or failed) is settled once a
    /// `flush()` after it has returned (or failed).
    private func runSink(_ stage: SinkStage) {
        let sink = stage.sink
        let buffer = stage.lane.buffer
        let counters = stage.counters
        var reported: Set<PipelineError.Stage> = []
        func fail(_ step: PipelineError.Stage, _ error: any Error) {
            if reported.insert(step).inserted {
                errorHandler(PipelineError(sinkName: stage.name, stage: step, underlying: error))
            }
        }
        func flush() {
            do { try sink.flush() } catch {
                counters.flushErrors.increment()
                fail(.flush, error)
            }
        }

        let progress = stage.lane.progress
        var taken: UInt64 = 0, settled: UInt64 = 0
        func flushAndSettle() {
            flush()
            if taken != settled {
                if progress.settle(taken &- settled) { progressSignal.broadcast() }
                settled = taken
            }
        }

        var batch: [FileEvent] = []
        batch.reserveCapacity(configuration.batchSize)
        while buffer.pop(into: &batch, maxCount: configuration.batchSize) {
            var delivered: UInt64 = 0
            // Each event is lent to the sink from an exclusive access, so it
            // is not copied: read out of the array (`for event in batch`,
            // `batch[index]`, even through a buffer pointer) it was, costing
            // a reference-count update per reference it holds.
            func write(_ event: inout FileEvent) throws { try sink.write(event) }
            batch.withUnsafeMutableBufferPointer { events in
                for index in events.indices {
                    do {
                        try write(&events[index])
                        delivered += 1
                    } catch {
                        counters.writeErrors.increment()
                        fail(.write, error)
                    }
                }
            }
            counters.delivered.increment(by: delivered)
            taken &+= UInt64(batch.count)
            if progress.isWatched || buffer.isEmpty { flushAndSettle() }
            if let latency = stage.latency { Self.record(latency, of: batch) }
            batch.removeAll(keepingCapacity: true)
        }
        flushAndSettle()
        do { try sink.close() } catch {
            counters.flushErrors.increment()
            fail(.close, error)
        }
    }
}

extension Pipeline {
    /// Records, for each event of a batch the sink has just been handed
    /// (and flushed, when its buffer ran empty), the time since the kernel
    /// stamped it: one clock read per batch.
    private static func record(_ latency: Timer, of batch: [FileEvent]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nanoseconds = Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
        batch.withUnsafeBufferPointer { events in
            for index in events.indices {  // only the timestamp: `for event in batch` copied each event
                let made = events[index].timestamp.nanosecondsSinceEpoch
                latency.recordNanoseconds(max(0, nanoseconds &- made))
            }
        }
    }
}

/// The labels under which a pipeline reports to swift-metrics
/// (`PipelineConfiguration.metricsFactory`).
public enum PipelineMetricLabels {
    /// A timer per sink (dimension `component`): kernel timestamp to the
    /// sink's write (and flush, when its buffer ran empty).
    public static let eventLatency = "fsprobe_event_latency_seconds"
}

/// The buffer in front of a transform or sink. Closed when the last
/// component feeding it has finished, so its consumer drains it and ends.
private final class Lane: Sendable {
    let buffer: BoundedBuffer<FileEvent>
    /// What its consumer has settled, for checkpoints.
    let progress = SettledProgress()
    private let openUpstreams: Atomic<Int>

    init(capacity: Int, policy: OverflowPolicy, upstreams: Int) {
        buffer = BoundedBuffer(capacity: capacity, policy: policy)
        openUpstreams = Atomic(upstreams)
    }

    func upstreamFinished() {
        if openUpstreams.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { buffer.close() }
    }
}

private final class SourceStage: Sendable {
    let name: String
    let source: any EventSource
    let outputs: [Lane]
    /// Events emitted, by `EventType.rawValue`: one relaxed add per event,
    /// as a single total would cost.
    let emitted = EventType.allCases.map { _ in Counter() }
    let checkpoint: SourceCheckpoint

    init(name: String, source: any EventSource, outputs: [Lane], checkpoint: SourceCheckpoint) {
        self.name = name
        self.source = source
        self.outputs = outputs
        self.checkpoint = checkpoint
    }

    func run() throws {
        if let acknowledging = source as? any AcknowledgingEventSource {
            try acknowledging.run(emit: { event in
                emitted[Int(event.type.rawValue)].increment()
                for lane in outputs { lane.buffer.push(event) }
            }, checkpoint: checkpoint)
        } else if let rounds = source as? any RoundBasedEventSource {
            try runInRounds(rounds)
        } else {
            try source.run { event in
                emitted[Int(event.type.rawValue)].increment()
                for lane in outputs { lane.buffer.push(event) }
            }
        }
    }

    /// A long round wakes the next stage after this many events, so it
    /// does not wait for the round's end.
    static let roundLimit = 256

    /// Each event goes into the next buffers as it comes (no copy into a
    /// batch of our own), but their consumers are woken once per round.
    private func runInRounds(_ source: any RoundBasedEventSource) throws {
        var unannounced = 0
        func wakeConsumers() {
            guard unannounced > 0 else { return }
            for lane in outputs { lane.buffer.wakeConsumer() }
            unannounced = 0
        }
        defer { wakeConsumers() }  // also when the source throws
        try source.run(emit: { (event: consuming FileEvent) in
            emitted[Int(event.type.rawValue)].increment()
            // Copies for all lanes but the last, which takes the event itself.
            for lane in outputs.dropLast() { lane.buffer.push(copy event, wakingConsumer: false) }
            outputs.last?.buffer.push(event, wakingConsumer: false)
            unannounced += 1
            if unannounced >= Self.roundLimit { wakeConsumers() }
        }, endOfRound: wakeConsumers)
    }
}

/// The checkpoint of one source: the lanes downstream of it, in topological
/// order (a lane after every lane whose consumer feeds it), and its sinks.
private final class SourceCheckpoint: DeliveryCheckpoint {
    let lanes: [Lane]
    let sinks: [SinkStage]
    let signal: ProgressSignal
    /// Drops downstream of the source at its previous checkpoint.
    private let droppedBefore = Mutex<UInt64>(0)

    init(lanes: [Lane], sinks: [SinkStage], signal: ProgressSignal) {
        self.lanes = lanes
        self.sinks = sinks
        self.signal = signal
    }

    func awaitDelivered() -> DeliveryReport {
        // Watched, sinks flush after every batch and stages wake the signal.
        for lane in lanes { lane.progress.watch() }
        defer { for lane in lanes { lane.progress.unwatch() } }
        // The source's events are all in its output lanes (emit returned).
        // A lane's accepted count is taken only once every stage feeding it
        // has settled its own target, so it covers their outputs too.
        for lane in lanes {
            let target = lane.buffer.counts.accepted
            if !lane.progress.hasSettled(target) {
                signal.wait { lane.progress.hasSettled(target) }
            }
        }
        let dropped = droppedNow
        let complete = droppedBefore.withLock { before in
            defer { before = dropped }
            return dropped == before
        }
        return DeliveryReport(complete: complete)
    }

    /// Every drop counter downstream of the source, summed: they only grow.
    private var droppedNow: UInt64 {
        var total: UInt64 = 0
        for lane in lanes { total &+= lane.buffer.counts.dropped }
        for stage in sinks {
            total &+= stage.counters.writeErrors.value &+ stage.counters.flushErrors.value &+ stage.sink.undelivered
            if let own = stage.sink.ownCounts { total &+= own.droppedBufferFull &+ own.droppedSinkError }
        }
        return total
    }
}

private final class TransformStage: Sendable {
    let name: String
    let transform: any EventTransform
    let lane: Lane
    let outputs: [Lane]
    let filtered = Counter()

    init(name: String, transform: any EventTransform, lane: Lane, outputs: [Lane]) {
        self.name = name
        self.transform = transform
        self.lane = lane
        self.outputs = outputs
    }
}

private final class SinkStage: Sendable {
    let name: String
    let sink: any EventSink
    let lane: Lane
    let counters = SinkCounters()
    let latency: Timer?

    init(name: String, sink: any EventSink, lane: Lane, latency: Timer?) {
        self.name = name
        self.sink = sink
        self.lane = lane
        self.latency = latency
    }
}
