import Foundation
import FSProbeCore
import FSProbeTestSupport
import FSProbePipeline
import Synchronization
import Testing

/// `DeliveryCheckpoint`: a source waits until what it emitted is flushed at every sink.
@Suite struct DeliveryCheckpointTests {
    /// What a scripted source saw at one checkpoint.
    struct Seen: Sendable, Equatable {
        var report: DeliveryReport
        var flushed: Int
    }

    @Test func checkpointWaitsUntilEverySinkFlushedWhatWasEmitted() throws {
        let count = 3000
        let first = LedgerSink(name: "first"), second = LedgerSink(name: "second", writeDelay: 5)
        let seen = Mutex<[[Int]]>([])
        let reports = Mutex<[DeliveryReport]>([])
        let source = ScriptedSource { emit, checkpoint, _ in
            for seq in 0..<count { emit(makeEvent(seq: seq)) }
            reports.withLock { $0.append(checkpoint.awaitDelivered()) }
            seen.withLock { $0.append([first.flushed, second.flushed]) }
            for seq in count..<(count + 500) { emit(makeEvent(seq: seq)) }
            reports.withLock { $0.append(checkpoint.awaitDelivered()) }
            seen.withLock { $0.append([first.flushed, second.flushed]) }
        }
        // A slow transform, so a checkpoint that does not wait finds the sinks behind.
        let slow = ClosureTransform(name: "slow") { _ in
            usleep(20)
            return true
        }
        let pass = ClosureTransform(name: "pass") { _ in true }
        let pipeline = Pipeline(source: source, transforms: [slow, pass], sinks: [first, second],
                                configuration: .init(bufferCapacity: 64, batchSize: 16))
        try runToCompletion(pipeline)

        #expect(seen.withLock { $0 } == [[count, count], [count + 500, count + 500]])
        #expect(reports.withLock { $0 } == [DeliveryReport(complete: true), DeliveryReport(complete: true)])
        #expect(first.written == count + 500 && second.written == count + 500)
    }

    /// Another source keeps the sink's buffer from ever running empty, so the
    /// sink would never flush on its own: the checkpoint asks it to.
    @Test func checkpointIsAnsweredWhileTheSinkBufferNeverRunsEmpty() throws {
        let ours: UInt32 = 1000  // makeEvent(seq: 0)
        // Writes slow enough that the flood refills the buffer long before it could run empty.
        let sink = LedgerSink(name: "sink", writeDelay: 200) { $0.pid == ours }
        let flood = FloodSource()
        let seen = Mutex<Seen?>(nil)
        let answered = DispatchSemaphore(value: 0)
        let acknowledging = ScriptedSource { emit, checkpoint, _ in
            flood.flowing.wait()
            for _ in 0..<100 { emit(makeEvent(seq: 0)) }
            let report = checkpoint.awaitDelivered()
            seen.withLock { $0 = Seen(report: report, flushed: sink.flushed) }
            answered.signal()
        }
        var topology = PipelineTopology()
        topology.add("flood", .source(flood))
        topology.add("acknowledging", .source(acknowledging))
        topology.add("sink", .sink(sink), inputs: ["flood", "acknowledging"], bufferCapacity: 256)
        let pipeline = try Pipeline(topology: topology, configuration: .init(batchSize: 16))

        let finished = start(pipeline)
        if answered.wait(timeout: .now() + .seconds(20)) == .timedOut {
            Issue.record("the checkpoint was not answered while the buffer was busy")
            pipeline.interruptSinks()
        }
        pipeline.stop()
        try finish(finished, pipeline)
        #expect(seen.withLock { $0 } == Seen(report: DeliveryReport(complete: true), flushed: 100))
    }

    @Test func checkpointReturnsWhenATransformFiltersEverything() throws {
        let sink = LedgerSink(name: "sink")
        let seen = Mutex<Seen?>(nil)
        let source = ScriptedSource { emit, checkpoint, _ in
            for seq in 0..<500 { emit(makeEvent(seq: seq)) }
            let report = checkpoint.awaitDelivered()
            seen.withLock { $0 = Seen(report: report, flushed: sink.written) }
        }
        let dropAll = ClosureTransform(name: "drop-all") { _ in false }
        let pipeline = Pipeline(source: source, transforms: [dropAll], sinks: [sink],
                                configuration: .init(bufferCapacity: 32, batchSize: 8))
        try runToCompletion(pipeline)
        #expect(seen.withLock { $0 } == Seen(report: DeliveryReport(complete: true), flushed: 0))
        #expect(pipeline.stats.filtered == 500)
    }

    @Test func dropsInAFullSinkBufferMakeTheReportIncompleteUntilTheNextCheckpoint() throws {
        let sink = StuckSink()
        let seen = Mutex<[Seen]>([])
        let source = ScriptedSource { emit, checkpoint, _ in
            emit(makeEvent(seq: 0))
            sink.entered.wait()  // the sink holds event 0; its buffer of 4 is empty
            for seq in 1...10 { emit(makeEvent(seq: seq)) }  // 4 accepted, 6 dropped
            sink.open()
            seen.withLock { $0.append(Seen(report: checkpoint.awaitDelivered(), flushed: sink.flushed)) }
            for seq in 11...13 { emit(makeEvent(seq: seq)) }
            seen.withLock { $0.append(Seen(report: checkpoint.awaitDelivered(), flushed: sink.flushed)) }
        }
        let pipeline = Pipeline(source: source, sinks: [PipelineSink(sink, bufferCapacity: 4, overflowPolicy: .dropNewest)],
                                configuration: .init(bufferCapacity: 64, batchSize: 1))
        try runToCompletion(pipeline)
        #expect(seen.withLock { $0 } == [Seen(report: DeliveryReport(complete: false), flushed: 5),
                                         Seen(report: DeliveryReport(complete: true), flushed: 8)])
        #expect(pipeline.stats.sinks[0].droppedBufferFull == 6)
    }

    @Test func writeErrorsMakeTheReportIncomplete() throws {
        let sink = OddFailingSink()
        let reports = Mutex<[DeliveryReport]>([])
        let source = ScriptedSource { emit, checkpoint, _ in
            for seq in 0..<10 { emit(makeEvent(seq: seq)) }  // odd pids fail
            reports.withLock { $0.append(checkpoint.awaitDelivered()) }
            for seq in stride(from: 10, to: 20, by: 2) { emit(makeEvent(seq: seq)) }
            reports.withLock { $0.append(checkpoint.awaitDelivered()) }
        }
        let pipeline = Pipeline(source: source, sinks: [sink])
        try runToCompletion(pipeline)
        #expect(reports.withLock { $0 } == [DeliveryReport(complete: false), DeliveryReport(complete: true)])
        #expect(sink.count == 10)
    }

    /// The last checkpoint of a source, after its stop() and before its run
    /// returns: the sinks still run then.
    @Test func checkpointAfterStopReturnsWithEverythingFlushed() throws {
        let count = 2000
        let sink = LedgerSink(name: "sink")
        let emitted = DispatchSemaphore(value: 0)
        let seen = Mutex<Seen?>(nil)
        let source = ScriptedSource { emit, checkpoint, source in
            for seq in 0..<count { emit(makeEvent(seq: seq)) }
            emitted.signal()
            source.stopRequested.wait()
            for seq in count..<(count + 10) { emit(makeEvent(seq: seq)) }  // what it had captured
            let report = checkpoint.awaitDelivered()
            seen.withLock { $0 = Seen(report: report, flushed: sink.flushed) }
        }
        let pipeline = Pipeline(source: source, transforms: [ClosureTransform(name: "pass") { _ in true }], sinks: [sink],
                                configuration: .init(bufferCapacity: 16, batchSize: 4))
        let finished = start(pipeline)
        emitted.wait()
        pipeline.stop()
        try finish(finished, pipeline)
        #expect(seen.withLock { $0 } == Seen(report: DeliveryReport(complete: true), flushed: count + 10))
    }

    /// A sink stuck on its destination holds the checkpoint until the
    /// pipeline gives up on it (`interruptSinks()`); what it then fails on is
    /// counted, and the report says so.
    @Test func checkpointAfterStopReturnsWhenSinksAreInterrupted() throws {
        let sink = StuckSink()
        let seen = Mutex<Seen?>(nil)
        let source = ScriptedSource { emit, checkpoint, source in
            for seq in 0..<5 { emit(makeEvent(seq: seq)) }
            source.stopRequested.wait()
            let report = checkpoint.awaitDelivered()
            seen.withLock { $0 = Seen(report: report, flushed: sink.flushed) }
        }
        let pipeline = Pipeline(source: source, sinks: [sink])
        let finished = start(pipeline)
        sink.entered.wait()
        pipeline.stop()
        pipeline.interruptSinks()
        try finish(finished, pipeline)
        #expect(seen.withLock { $0 } == Seen(report: DeliveryReport(complete: false), flushed: 0))
        #expect(pipeline.stats.sinks[0].droppedSinkError == 5)
    }

    /// Run by something that knows no checkpoints, a source never hears that
    /// its events were delivered.
    @Test func outsideAPipelineNothingIsConfirmed() throws {
        let reports = Mutex<[DeliveryReport]>([])
        let source = ScriptedSource { emit, checkpoint, _ in
            emit(makeEvent(seq: 0))
            reports.withLock { $0.append(checkpoint.awaitDelivered()) }
        }
        var emitted = 0
        try source.run { _ in emitted += 1 }
        #expect(emitted == 1)
        #expect(reports.withLock { $0 } == [DeliveryReport(complete: false)])
    }
}

// MARK: - Running a pipeline that may hang

/// A pipeline running on a thread of its own.
private final class RunningPipeline: Sendable {
    let done = DispatchSemaphore(value: 0)
    let error = Mutex<(any Error)?>(nil)
}

private func start(_ pipeline: Pipeline) -> RunningPipeline {
    let running = RunningPipeline()
    let thread = Thread {
        do { try pipeline.run() } catch let thrown { running.error.withLock { $0 = thrown } }
        running.done.signal()
    }
    thread.start()
    return running
}

/// Waits for `run()` to return; a pipeline still running after a minute has
/// a checkpoint that hangs: the test fails, and the pipeline is given up on.
private func finish(_ running: RunningPipeline, _ pipeline: Pipeline,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
    if running.done.wait(timeout: .now() + .seconds(60)) == .timedOut {
        Issue.record("the pipeline did not finish: a checkpoint hangs", sourceLocation: sourceLocation)
        pipeline.stop()
        pipeline.interruptSinks()
        _ = running.done.wait(timeout: .now() + .seconds(10))
    }
    if let error = running.error.withLock({ $0 }) { throw error }
}

private func runToCompletion(_ pipeline: Pipeline, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try finish(start(pipeline), pipeline, sourceLocation: sourceLocation)
}

// MARK: - Doubles

/// An acknowledging source running a script on its run thread.
final class ScriptedSource: AcknowledgingEventSource, @unchecked Sendable {
    typealias Script = @Sendable (_ emit: (FileEvent) -> Void, _ checkpoint: any DeliveryCheckpoint,
                                  _ source: ScriptedSource) throws -> Void
    private let script: Script
    private let stopped = Atomic<Bool>(false)
    /// Signalled once by the first `stop()`.
    let stopRequested = DispatchSemaphore(value: 0)

    init(_ script: @escaping Script) { self.script = script }

    func run(emit: (FileEvent) -> Void, checkpoint: any DeliveryCheckpoint) throws {
        try script(emit, checkpoint, self)
    }

    func stop() {
        if !stopped.exchange(true, ordering: .relaxed) { stopRequested.signal() }
    }

    var counters: SourceCounters { SourceCounters() }
}

/// Emits `makeEvent(seq: 1)` as fast as it can until stopped.
final class FloodSource: EventSource, @unchecked Sendable {
    private let stopped = Atomic<Bool>(false)
    /// Signalled after the first thousand events.
    let flowing = DispatchSemaphore(value: 0)

    func run(emit: (FileEvent) -> Void) throws {
        let event = makeEvent(seq: 1)
        var count = 0
        while !stopped.load(ordering: .relaxed) {
            emit(event)
            count += 1
            if count == 1000 { flowing.signal() }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
    var counters: SourceCounters { SourceCounters() }
}

/// Counts the events written (those `counting` selects) and, at each
/// `flush()`, how many had been written by then.
final class LedgerSink: EventSink, Sendable {
    let name: String
    private let writeDelay: UInt32
    private let counting: @Sendable (FileEvent) -> Bool
    private let state = Mutex<(written: Int, flushed: Int)>((0, 0))

    /// - Parameter writeDelay: microseconds each write takes.
    init(name: String, writeDelay: UInt32 = 0, counting: @escaping @Sendable (FileEvent) -> Bool = { _ in true }) {
        self.name = name
        self.writeDelay = writeDelay
        self.counting = counting
    }

    func write(_ event: FileEvent) throws {
        if writeDelay > 0 { usleep(writeDelay) }
        if counting(event) { state.withLock { $0.written += 1 } }
    }

    func flush() throws { state.withLock { $0.flushed = $0.written } }
    func close() throws {}

    var written: Int { state.withLock { $0.written } }
    /// Events written before the last `flush()`.
    var flushed: Int { state.withLock { $0.flushed } }
}

/// Its first write waits until `open()` or `interrupt()`; once interrupted,
/// every write and flush throws.
final class StuckSink: EventSink, Sendable {
    struct Interrupted: Error {}
    let name = "stuck"
    /// Signalled when the first write starts waiting.
    let entered = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)
    private let state = Mutex<(first: Bool, interrupted: Bool, written: Int, flushed: Int)>((true, false, 0, 0))

    func write(_ event: FileEvent) throws {
        let first = state.withLock { state in
            defer { state.first = false }
            return state.first
        }
        if first {
            entered.signal()
            gate.wait()
        }
        try state.withLock { state in
            if state.interrupted { throw Interrupted() }
            state.written += 1
        }
    }

    func flush() throws {
        try state.withLock { state in
            if state.interrupted { throw Interrupted() }
            state.flushed = state.written
        }
    }

    func close() throws {}
    func open() { gate.signal() }

    func interrupt() {
        state.withLock { $0.interrupted = true }
        gate.signal()
    }

    var flushed: Int { state.withLock { $0.flushed } }
}
