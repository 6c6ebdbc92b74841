import Synchronization

/// Moves events from one source through transforms to any number of sinks.
///
///     source --emit--> [input buffer] --transform thread--> [sink 1 buffer] --thread--> sink 1
///                                                       \-> [sink 2 buffer] --thread--> sink 2
///
/// The source runs on the thread that calls `run()`; the transforms on one
/// thread; each sink on its own thread behind its own bounded buffer, so a
/// slow sink holds up the others only once its own buffer is full (and never
/// with `.dropNewest`). Everything is counted (`stats`).
///
/// Shutdown, whether the source ends or `stop()` is called: the source stops
/// first; then the input buffer is closed and drained through the
/// transforms; then each sink buffer is closed and drained, and every sink is
/// flushed and closed. Nothing accepted into a buffer is lost on shutdown.
///
/// A sink's errors are counted and the first of each stage (write, flush,
/// close) per sink goes to `errorHandler`; the pipeline carries on.
public final class Pipeline: Sendable {
    private let source: any EventSource
    private let transforms: [any EventTransform]
    private let sinks: [PipelineSink]
    private let configuration: PipelineConfiguration
    private let errorHandler: @Sendable (PipelineError) -> Void

    private let input: BoundedBuffer<FileEvent>
    private let sinkBuffers: [BoundedBuffer<FileEvent>]
    private let sinkCounters: [SinkCounters]
    private let transformFiltered: [Counter]
    private let stopRequested = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)

    /// - Parameters:
    ///   - errorHandler: called from sink threads; keep it short.
    public init(source: any EventSource, transforms: [any EventTransform] = [], sinks: [PipelineSink],
                configuration: PipelineConfiguration = PipelineConfiguration(),
                errorHandler: @escaping @Sendable (PipelineError) -> Void = { _ in }) {
        self.source = source
        self.transforms = transforms
        self.sinks = sinks
        self.configuration = configuration
        self.errorHandler = errorHandler
        self.input = BoundedBuffer(capacity: configuration.bufferCapacity, policy: configuration.overflowPolicy)
        self.sinkBuffers = sinks.map {
            BoundedBuffer(capacity: $0.bufferCapacity ?? configuration.bufferCapacity, policy: $0.overflowPolicy)
        }
        self.sinkCounters = sinks.map { _ in SinkCounters() }
        self.transformFiltered = transforms.map { _ in Counter() }
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

    /// Runs the pipeline until the source ends or `stop()` is called, then
    /// shuts down as described above and returns. Rethrows the source's
    /// error, after the shutdown. Call at most once.
    public func run() throws {
        precondition(!started.exchange(true, ordering: .relaxed), "Pipeline.run() called twice")

        let sinkThreads = sinks.indices.map { index in
            WorkerThread { [self] in runSink(index) }
        }
        let transformThread = WorkerThread { [self] in runTransforms() }

        // The source runs even when stop() came first: it then returns at
        // once, but hands over what it had already captured (a kernel source
        // has events waiting in its ring buffer), so nothing accepted is lost.
        var sourceError: (any Error)?
        let input = self.input
        do {
            try source.run { event in input.push(event) }
        } catch {
            sourceError = error
        }

        input.close()
        transformThread.join()  // closes every sink buffer when drained
        for thread in sinkThreads { thread.join() }
        if let sourceError { throw sourceError }
    }

    /// Asks the pipeline to stop: the source stops, and `run()` returns once
    /// everything already accepted has reached the sinks. Thread-safe, cheap
    /// and idempotent; callable before `run()`, which then only delivers what
    /// the source had already captured.
    ///
    /// Not async-signal-safe (no Swift code is): call it from a
    /// `DispatchSource` signal handler on a queue other than the one blocked
    /// in `run()`, not from a raw `signal(2)` handler.
    public func stop() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        source.stop()
    }

    /// A snapshot of the counters; callable at any time from any thread.
    public var stats: PipelineStats {
        let inputCounts = input.counts
        let transformStats = transforms.indices.map {
            PipelineStats.TransformStats(name: transforms[$0].name, filtered: transformFiltered[$0].value)
        }
        let sinkStats = sinks.indices.map { index in
            let counters = sinkCounters[index]
            let buffer = sinkBuffers[index]
            return PipelineStats.SinkStats(
                name: sinks[index].sink.name,
                delivered: counters.delivered.value,
                droppedBufferFull: buffer.counts.dropped,
                droppedSinkError: counters.writeErrors.value,
                flushErrors: counters.flushErrors.value,
                queued: buffer.count)
        }
        return PipelineStats(
            received: inputCounts.accepted + inputCounts.dropped + inputCounts.rejected,
            droppedBufferFull: inputCounts.dropped,
            filtered: transformStats.reduce(0) { $0 + $1.filtered },
            transforms: transformStats,
            sinks: sinkStats,
            source: source.counters)
    }

    /// The transform thread: input buffer -> transforms -> every sink buffer.
    private func runTransforms() {
        var batch: [FileEvent] = []
        var passed: [FileEvent] = []
        batch.reserveCapacity(configuration.batchSize)
        passed.reserveCapacity(configuration.batchSize)
        while input.pop(into: &batch, maxCount: configuration.batchSize) {
            for var event in batch where applyTransforms(&event) {
                passed.append(event)
            }
            batch.removeAll(keepingCapacity: true)
            if !passed.isEmpty {
                for buffer in sinkBuffers { buffer.push(contentsOf: passed) }
                passed.removeAll(keepingCapacity: true)
            }
        }
        for buffer in sinkBuffers { buffer.close() }
    }

    private func applyTransforms(_ event: inout FileEvent) -> Bool {
        for index in transforms.indices where !transforms[index].apply(&event) {
            transformFiltered[index].increment()
            return false
        }
        return true
    }

    /// One sink's thread: its buffer -> `write`, `flush()` whenever the
    /// buffer runs empty, and `flush()` + `close()` at the end.
    private func runSink(_ index: Int) {
        let sink = sinks[index].sink
        let buffer = sinkBuffers[index]
        let counters = sinkCounters[index]
        var reported: Set<PipelineError.Stage> = []
        func fail(_ stage: PipelineError.Stage, _ error: any Error) {
            if reported.insert(stage).inserted {
                errorHandler(PipelineError(sinkName: sink.name, stage: stage, underlying: error))
            }
        }

        var batch: [FileEvent] = []
        batch.reserveCapacity(configuration.batchSize)
        while buffer.pop(into: &batch, maxCount: configuration.batchSize) {
            var delivered: UInt64 = 0
            for event in batch {
                do {
                    try sink.write(event)
                    delivered += 1
                } catch {
                    counters.writeErrors.increment()
                    fail(.write, error)
                }
            }
            counters.delivered.increment(by: delivered)
            batch.removeAll(keepingCapacity: true)
            if buffer.isEmpty {
                do { try sink.flush() } catch {
                    counters.flushErrors.increment()
                    fail(.flush, error)
                }
            }
        }
        do { try sink.flush() } catch {
            counters.flushErrors.increment()
            fail(.flush, error)
        }
        do { try sink.close() } catch {
            counters.flushErrors.increment()
            fail(.close, error)
        }
    }
}
