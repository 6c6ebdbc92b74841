import Benchmark
import FSProbeCore
import FSProbePipeline

/// Source -> buffer -> one sink, `scaledIterations` copies of `event`; the
/// measurement includes the final flush and close, so what is counted is
/// delivered (written, committed or acknowledged), not merely queued.
public func runPipeline(_ benchmark: Benchmark, event: FileEvent, sink: any EventSink,
                        configuration: PipelineConfiguration = .init(bufferCapacity: 4096)) {
    let source = RepeatingSource(event: event, count: benchmark.scaledIterations.count)
    let pipeline = Pipeline(source: source, sinks: [sink], configuration: configuration)
    benchmark.startMeasurement()
    try! pipeline.run()
    benchmark.stopMeasurement()
    precondition(pipeline.stats.sinks[0].delivered == UInt64(benchmark.scaledIterations.count))
}

/// Emits one event `count` times, as fast as the pipeline accepts them.
public final class RepeatingSource: EventSource, @unchecked Sendable {
    let event: FileEvent
    let count: Int
    public init(event: FileEvent, count: Int) {
        self.event = event
        self.count = count
    }
    public func run(emit: (FileEvent) -> Void) throws {
        for _ in 0..<count { emit(event) }
    }
    public func stop() {}
    public var counters: SourceCounters { SourceCounters() }
}
