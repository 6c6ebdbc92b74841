import Benchmark
import FSProbeCore
import FSProbePipeline

/// Source -> buffer -> one sink, `scaledIterations` copies of `event`; the
/// measurement includes the final flush and close, so what is counted is
/// delivered (written, committed or acknowledged), not merely queued.
/// With `round`, the source emits in rounds of that many events, as the
/// kernel source does (a round per ring-buffer poll).
public func runPipeline(_ benchmark: Benchmark, event: FileEvent, sink: any EventSink,
                        configuration: PipelineConfiguration = .init(bufferCapacity: 4096), round: Int? = nil) {
    let count = benchmark.scaledIterations.count
    let source: any EventSource = round.map { RoundsSource(event: event, count: count, round: $0) }
        ?? RepeatingSource(event: event, count: count)
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

/// `RepeatingSource` in rounds of `round` events, each ended as the kernel
/// source ends one.
public final class RoundsSource: RoundBasedEventSource, @unchecked Sendable {
    let event: FileEvent
    let count: Int
    let round: Int
    public init(event: FileEvent, count: Int, round: Int) {
        self.event = event
        self.count = count
        self.round = round
    }
    public func run(emit: (consuming FileEvent) -> Void, endOfRound: () -> Void) throws {
        var left = count
        while left > 0 {
            for _ in 0..<min(round, left) { emit(event) }
            left -= round
            endOfRound()
        }
    }
    public func stop() {}
    public var counters: SourceCounters { SourceCounters() }
}
