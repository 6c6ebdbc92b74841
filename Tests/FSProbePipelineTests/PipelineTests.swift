import Foundation
import FSProbeCore
import FSProbeTestSupport
import FSProbePipeline
import Synchronization
import Testing

@Suite struct PipelineTests {
    static let count = 10_000
    let events = (0..<count).map { makeEvent(seq: $0) }

    @Test func deliversEveryEventInOrderToEverySink() throws {
        let first = CollectingSink(name: "first"), second = CollectingSink(name: "second")
        let pipeline = Pipeline(source: ArraySource(events), sinks: [first, second],
                                configuration: .init(bufferCapacity: 64, batchSize: 16))
        try pipeline.run()
        #expect(first.events == events)
        #expect(second.events == events)
        #expect(first.closed && second.closed)
        #expect(first.flushes >= 1)

        let stats = pipeline.stats
        #expect(stats.received == UInt64(Self.count))
        #expect(stats.filtered == 0)
        #expect(stats.sinks.map(\.name) == ["first", "second"])
        #expect(stats.sinks.map(\.delivered) == [UInt64(Self.count), UInt64(Self.count)])
        #expect(stats.dropped(.bufferFull) == 0 && stats.dropped(.sinkError) == 0)
        #expect(stats.source.kernelDropped == 7)
    }

    @Test func transformsRunInOrderAndFilteredEventsAreCounted() throws {
        let sink = CollectingSink(name: "sink")
        let dropOdd = ClosureTransform(name: "drop-odd") { $0.pid % 2 == 0 }
        let rewrite = ClosureTransform(name: "rewrite") { event in
            event.uid = 0
            return true
        }
        let dropTail = ClosureTransform(name: "drop-tail") { $0.pid < 1000 + 100 }
        let pipeline = Pipeline(source: ArraySource(events), transforms: [dropOdd, rewrite, dropTail], sinks: [sink])
        try pipeline.run()

        #expect(sink.events.map(\.pid) == Array(stride(from: 1000, to: 1100, by: 2)).map(UInt32.init))
        #expect(sink.events.allSatisfy { $0.uid == 0 })
        let stats = pipeline.stats
        #expect(stats.transforms.map(\.name) == ["drop-odd", "rewrite", "drop-tail"])
        #expect(stats.transforms.map(\.filtered) == [5000, 0, 4950])
        #expect(stats.filtered == 9950)
        #expect(stats.sinks[0].delivered == 50)
    }

    @Test func failingSinkIsCountedAndDoesNotStarveTheOthers() throws {
        let failing = OddFailingSink(), healthy = CollectingSink(name: "healthy")
        let reports = Mutex<[PipelineError]>([])
        let pipeline = Pipeline(source: ArraySource(events), sinks: [failing, healthy]) { error in
            reports.withLock { $0.append(error) }
        }
        try pipeline.run()

        #expect(healthy.events == events)
        #expect(failing.count == Self.count / 2)
        let stats = pipeline.stats
        #expect(stats.sinks[0].droppedSinkError == UInt64(Self.count / 2))
        #expect(stats.sinks[0].delivered == UInt64(Self.count / 2))
        #expect(stats.dropped(.sinkError) == UInt64(Self.count / 2))
        #expect(stats.droppedTotal == UInt64(Self.count / 2))
        #expect(stats.deliveredTotal == UInt64(Self.count + Self.count / 2))
        let reported = reports.withLock { $0 }
        #expect(reported.count == 1)  // reported once, counted every time
        #expect(reported.first?.sinkName == "failing" && reported.first?.stage == .write)
    }

    @Test func stopDrainsEverythingAccepted() throws {
        let source = ArraySource(events, untilStopped: true)
        let sink = CollectingSink(name: "sink")
        let pipeline = Pipeline(source: source, sinks: [sink], configuration: .init(bufferCapacity: 32))
        let finished = DispatchSemaphore(value: 0)
        let thrown = Mutex<(any Error)?>(nil)
        DispatchQueue.global().async {
            do { try pipeline.run() } catch { thrown.withLock { $0 = error } }
            finished.signal()
        }
        source.emittedAll.wait()  // the source is now idle, waiting for stop
        pipeline.stop()
        pipeline.stop()  // idempotent
        finished.wait()
        #expect(thrown.withLock { $0 } == nil)
        #expect(sink.events == events)
        #expect(sink.closed)
        #expect(pipeline.stats.sinks[0].queued == 0)
    }

    /// A stop that comes before run() (a signal during start-up) still
    /// delivers what the source had captured, then returns.
    @Test func stopBeforeRunDeliversWhatWasCapturedAndClosesSinks() throws {
        let sink = CollectingSink(name: "sink")
        let pipeline = Pipeline(source: ArraySource(events, untilStopped: true), sinks: [sink], bufferCapacity: 8)
        pipeline.stop()
        try pipeline.run()
        #expect(sink.events == events)
        #expect(sink.closed)
    }

    @Test func droppingSinkBufferAccountsForEveryEvent() throws {
        let gate = DispatchSemaphore(value: 0)
        let slow = GatedSink(gate: gate)
        let fast = CollectingSink(name: "fast")
        let source = ArraySource(events)
        let pipeline = Pipeline(
            source: source,
            sinks: [PipelineSink(slow, bufferCapacity: 4, overflowPolicy: .dropNewest), PipelineSink(fast)],
            configuration: .init(bufferCapacity: 64, batchSize: 1))
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? pipeline.run()
            finished.signal()
        }
        // The fast sink gets everything while the slow one is stuck.
        source.emittedAll.wait()
        while pipeline.stats.sinks[1].delivered < UInt64(Self.count) { sched_yield() }
        gate.signal()
        finished.wait()

        let stats = pipeline.stats
        #expect(fast.events == events)
        #expect(stats.sinks[0].droppedBufferFull > 0)
        #expect(stats.sinks[0].delivered + stats.sinks[0].droppedBufferFull == UInt64(Self.count))
        #expect(stats.dropped(.bufferFull) == stats.sinks[0].droppedBufferFull)
    }

    @Test func sourceErrorIsRethrownAfterDraining() {
        struct Broken: Error {}
        final class FailingSource: EventSource, Sendable {
            let events: [FileEvent]
            init(_ events: [FileEvent]) { self.events = events }
            func run(emit: (FileEvent) -> Void) throws {
                for event in events { emit(event) }
                throw Broken()
            }
            func stop() {}
            var counters: SourceCounters { SourceCounters() }
        }
        let sink = CollectingSink(name: "sink")
        let pipeline = Pipeline(source: FailingSource(Array(events.prefix(100))), sinks: [sink])
        #expect(throws: Broken.self) { try pipeline.run() }
        #expect(sink.events.count == 100)
        #expect(sink.closed)
    }
}

/// Blocks its first write until `gate` is signalled.
final class GatedSink: EventSink, Sendable {
    let name = "slow"
    private let gate: DispatchSemaphore
    private let opened = Mutex(false)
    init(gate: DispatchSemaphore) { self.gate = gate }

    func write(_ event: FileEvent) throws {
        if !opened.withLock({ $0 }) {
            gate.wait()
            opened.withLock { $0 = true }
        }
    }
    func flush() throws {}
    func close() throws {}
}
