import Foundation
import FSProbeCore
import FSProbeTestSupport
import FSProbePipeline
import FSProbePipelineFile
import Synchronization
import Testing

/// Pipelines that are graphs: fan-out, fan-in, transforms feeding
/// transforms, and pipelines built from files through the registry.
@Suite struct PipelineTopologyTests {
    static let perSource = 1000
    let fromA = (0..<perSource).map { makeEvent(.open, seq: $0, path: Array("/a/file".utf8)) }
    let fromB = (0..<perSource).map { makeEvent(.mkdir, seq: perSource + $0, path: Array("/b/dir".utf8)) }

    @Test func fanOutAndFanInDeliverEveryEventOnEveryEdgeInPerSourceOrder() throws {
        let all = CollectingSink(name: "all"), evenA = CollectingSink(name: "even-a"), mixed = CollectingSink(name: "mixed")
        var topology = PipelineTopology()
        topology.add("a", .source(ArraySource(fromA)))
        topology.add("b", .source(ArraySource(fromB)))
        topology.add("even", .transform(ClosureTransform(name: "even") { $0.pid % 2 == 0 }), inputs: ["a"])
        topology.add("tag", .transform(ClosureTransform(name: "tag") { $0.uid = 0; return true }), inputs: ["even"])
        topology.add("all", .sink(all), inputs: ["a", "b"])
        topology.add("even-a", .sink(evenA), inputs: ["tag"], bufferCapacity: 8)
        topology.add("mixed", .sink(mixed), inputs: ["tag", "b"])
        let pipeline = try Pipeline(topology: topology, configuration: .init(bufferCapacity: 16, batchSize: 7))
        try pipeline.run()

        let expectedEven = fromA.filter { $0.pid % 2 == 0 }.map { event -> FileEvent in
            var tagged = event
            tagged.uid = 0
            return tagged
        }
        // Two inputs interleave, but each input's events keep their order.
        #expect(all.events.filter { $0.type == .open } == fromA)
        #expect(all.events.filter { $0.type == .mkdir } == fromB)
        #expect(evenA.events == expectedEven)
        #expect(mixed.events.filter { $0.type == .open } == expectedEven)
        #expect(mixed.events.filter { $0.type == .mkdir } == fromB)
        #expect(all.closed && evenA.closed && mixed.closed)

        let stats = pipeline.stats
        #expect(stats.received == UInt64(2 * Self.perSource))
        #expect(stats.sources.map(\.name) == ["a", "b"])
        #expect(stats.transforms.map(\.name) == ["even", "tag"])
        #expect(stats.transforms.map(\.filtered) == [UInt64(Self.perSource / 2), 0])
        #expect(stats.sinks.map(\.delivered) == [2000, 500, 1500])
        #expect(stats.droppedTotal == 0)
        #expect(stats.source.kernelDropped == 14)  // 7 per ArraySource
    }

    /// A source that reads in rounds hands each event to its last output
    /// itself and copies it for the others: every output still gets every
    /// event, whole and in order, and the copies are independent.
    @Test func aRoundSourceFeedingThreeOutputsDeliversEveryEventToEach() throws {
        let first = CollectingSink(name: "first"), second = CollectingSink(name: "second")
        let tagged = CollectingSink(name: "tagged")
        let source = ArrayRoundSource(fromA, roundSize: 64)
        var topology = PipelineTopology()
        topology.add("a", .source(source))
        topology.add("first", .sink(first), inputs: ["a"])
        topology.add("tag", .transform(ClosureTransform(name: "tag") { $0.uid = 4242; return true }), inputs: ["a"])
        topology.add("tagged", .sink(tagged), inputs: ["tag"])
        topology.add("second", .sink(second), inputs: ["a"], bufferCapacity: 8)
        let pipeline = try Pipeline(topology: topology, configuration: .init(bufferCapacity: 16, batchSize: 7))
        try pipeline.run()

        #expect(source.rounds == (Self.perSource + 63) / 64)
        #expect(first.events == fromA)
        #expect(second.events == fromA)
        #expect(tagged.events.map(\.uid) == Array(repeating: 4242, count: Self.perSource))
        #expect(tagged.events.map(\.pid) == fromA.map(\.pid))
        #expect(pipeline.stats.sinks.map(\.delivered) == [1000, 1000, 1000])
    }

    @Test func topologiesThatCannotRunAreRefusedWithTheReason() {
        func refusal(_ build: (inout PipelineTopology) -> Void) -> String? {
            var topology = PipelineTopology()
            build(&topology)
            do {
                _ = try Pipeline(topology: topology)
                return nil
            } catch {
                return error.description
            }
        }
        let keep = ClosureTransform(name: "keep") { _ in true }
        #expect(refusal {
            $0.add("src", .source(ArraySource([])))
            $0.add("t1", .transform(keep), inputs: ["src", "t2"])
            $0.add("t2", .transform(keep), inputs: ["t1"])
            $0.add("out", .sink(CollectingSink(name: "out")), inputs: ["t2"])
        } == "cycle: t1 -> t2 -> t1")
        #expect(refusal {
            $0.add("src", .source(ArraySource([])))
            $0.add("out", .sink(CollectingSink(name: "out")), inputs: ["sorce"])
        } == "input 'sorce' of 'out' does not exist")
        #expect(refusal {
            $0.add("src", .source(ArraySource([])))
            $0.add("out", .sink(CollectingSink(name: "out")), inputs: ["src"])
            $0.add("again", .sink(CollectingSink(name: "again")), inputs: ["out"])
        } == "input 'out' of 'again' is a sink")
        #expect(refusal {
            $0.add("src", .source(ArraySource([])))
            $0.add("src", .sink(CollectingSink(name: "out")), inputs: ["src"])
        } == "component name 'src' is used twice")
        #expect(refusal { $0.add("src", .source(ArraySource([]))) } == "the pipeline has no sink")
    }

    @Test func eventsASinkReportsUndeliverableAreCountedAsSinkErrors() throws {
        let sink = LossySink(losing: 3)
        var topology = PipelineTopology()
        topology.add("src", .source(ArraySource(fromA)))
        topology.add("lossy", .sink(sink), inputs: ["src"])
        let pipeline = try Pipeline(topology: topology)
        try pipeline.run()
        let stats = pipeline.stats.sinks[0]
        #expect(stats.delivered == UInt64(Self.perSource - 3))
        #expect(stats.droppedSinkError == 3)
        #expect(pipeline.stats.dropped(.sinkError) == 3)
    }

    @Test func aPipelineFileIsBuiltThroughTheRegistryAndRuns() throws {
        let events = fromA
        let collected = CollectingSink(name: "collected")
        let registry = ComponentRegistry([
            .source("test-events", summary: "the test's events", options: []) { (_: NoOptions, _) in ArraySource(events) },
            .transform("every", summary: "keeps one event in N", options: [OptionSpec("n", .positiveInteger, "N")]) { (options: EveryOptions, _) in
                let n = UInt32(options.n)
                return ClosureTransform(name: "every") { $0.pid % n == 0 }
            },
            .sink("collect", summary: "the test's sink", options: []) { (_: NoOptions, _) in collected },
        ])
        let yaml = """
            sources:
              events: {type: test-events}
            transforms:
              tenth: {type: every, inputs: [events], n: 10, buffer_size: 3, when_full: block}
            sinks:
              out: {type: collect, inputs: [tenth]}
            """
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: [:])
        let built = try PipelineBuilder(registry: registry).build(document)
        #expect(built.components.map(\.name) == ["events", "tenth", "out"])
        let pipeline = try Pipeline(topology: built.topology)
        try pipeline.run()
        #expect(collected.events == events.filter { $0.pid % 10 == 0 })

        // A value the options struct refuses is a located problem, and nothing is built.
        let bad = PipelineDocument(file: "p.yaml", text: yaml.replacingOccurrences(of: "n: 10", with: "n: 0"), environment: [:])
        #expect(throws: PipelineBuildError.self) { try PipelineBuilder(registry: registry).build(bad) }
        let problems = PipelineValidator(registry: registry).problems(in: bad)
        #expect(problems.map(\.description) == ["p.yaml:4:42: option 'n' of 'tenth': expected a positive integer, got '0'"])
    }
}

struct NoOptions: ComponentOptionsDecodable {
    init(_ options: ComponentOptions) throws(ComponentOptionError) {}
}

struct EveryOptions: ComponentOptionsDecodable {
    var n: Int
    init(_ options: ComponentOptions) throws(ComponentOptionError) {
        n = try options.required("n", options.integer("n"))
    }
}

/// Accepts every write, then reports the last `losing` as undeliverable,
/// as a broker's delivery reports would.
final class LossySink: EventSink, Sendable {
    let name = "lossy"
    private let losing: UInt64
    private let lost = Atomic<UInt64>(0)
    init(losing: UInt64) { self.losing = losing }
    func write(_ event: FileEvent) throws {}
    func flush() throws {}
    func close() throws { lost.store(losing, ordering: .relaxed) }
    var undelivered: UInt64 { lost.load(ordering: .relaxed) }
}
