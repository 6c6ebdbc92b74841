import Foundation
import FSProbeCore
import FSProbePipeline
import Synchronization
import Yams

/// `fsprobe pipeline test FILE`: runs the test cases of a pipeline file's
/// `tests` section through its real transforms, with the sources replaced by
/// the injected events and the sinks by collectors (no kernel, no I/O).
///
///     tests:
///       - name: only directories reach the dirs file
///         inject:
///           files:                          # a source
///             - {event_type: mkdir, src_filename: /w/d}
///             - {event_type: open, src_filename: /w/f, uid: 33}
///         expect:
///           dirs:                           # a sink: exactly these events, in order,
///             - {event_type: mkdir, src_filename: /w/d}   # compared on the fields given
///           archive: {count: 2}             # or only how many
///
/// Fields are the JSON output's names; an injected event takes any of
/// `InjectedEvent.settable`, the others default to zero or empty.
public struct PipelineTester {
    let registry: ComponentRegistry

    public init(registry: ComponentRegistry) {
        self.registry = registry
    }

    public struct Case: Sendable {
        public let name: String
        public let location: SourceLocation
        let inject: [String: [FileEvent]]
        let expect: [(sink: String, check: Expectation, location: SourceLocation)]
    }

    enum Expectation: Sendable {
        case events([[(field: String, value: String)]])
        case count(Int)
    }

    /// The file's test cases, or every problem found reading them.
    public func cases(in document: PipelineDocument, text: String) -> ([Case], [PipelineProblem]) {
        var reader = TestSectionReader(file: document.file, components: document.components)
        let cases = reader.read(text)
        return (cases, reader.problems)
    }

    /// Runs one case; returns the failures (empty when it passes).
    public func run(_ testCase: Case, document: PipelineDocument) throws -> [String] {
        let collectors = Mutex<[String: CollectorSink]>([:])
        var substitute = ComponentRegistry()
        let used = Set(document.components.compactMap { component in component.type.map { "\(component.role):\($0)" } })
        for type in registry.types where used.contains("\(type.role):\(type.name)") {
            switch type.role {
            case .source:
                substitute.register(.source(type.name, summary: type.summary, options: type.options) { (_: IgnoredOptions, context) in
                    InjectedSource(events: testCase.inject[context.name] ?? [])
                })
            case .transform:
                substitute.register(type)
            case .sink:
                substitute.register(.sink(type.name, summary: type.summary, options: type.options) { (_: IgnoredOptions, context) in
                    let sink = CollectorSink(name: context.name)
                    collectors.withLock { $0[context.name] = sink }
                    return sink
                })
            }
        }
        let built = try PipelineBuilder(registry: substitute).build(document)
        try Pipeline(topology: built.topology).run()

        var failures: [String] = []
        let encoder = JSONLineEncoder()
        for expectation in testCase.expect {
            let received = collectors.withLock { $0[expectation.sink] }?.events ?? []
            switch expectation.check {
            case .count(let count):
                if received.count != count {
                    failures.append("\(expectation.location): sink '\(expectation.sink)' received \(received.count) events, expected \(count)")
                }
            case .events(let expected):
                if received.count != expected.count {
                    failures.append("\(expectation.location): sink '\(expectation.sink)' received \(received.count) events, expected \(expected.count)")
                    continue
                }
                for (index, (event, fields)) in zip(received, expected).enumerated() {
                    let json = (try? JSONDecoder().decode([String: JSONScalar].self, from: Data(encoder.line(event).utf8))) ?? [:]
                    for (field, value) in fields {
                        let actual = json[field]?.text ?? "(absent)"
                        if actual != value {
                            failures.append("\(expectation.location): sink '\(expectation.sink)' event \(index + 1): \(field) is \(actual), expected \(value)")
                        }
                    }
                }
            }
        }
        return failures
    }
}

/// One value of fsprobe's flat JSON objects, as a pipeline file would write it.
private struct JSONScalar: Decodable {
    let text: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            text = "null"
        } else if let bool = try? container.decode(Bool.self) {
            text = bool ? "true" : "false"
        } else if let integer = try? container.decode(Int64.self) {
            text = String(integer)
        } else if let unsigned = try? container.decode(UInt64.self) {
            text = String(unsigned)
        } else {
            text = try container.decode(String.self)
        }
    }
}

/// Options of a substituted source or sink: the real type's options were
/// already checked by the validator; the stand-in needs none of them.
private struct IgnoredOptions: ComponentOptionsDecodable {
    init(_ options: ComponentOptions) throws(ComponentOptionError) {}
}

/// Emits a test case's events for one source, then ends.
private final class InjectedSource: EventSource, Sendable {
    let events: [FileEvent]
    init(events: [FileEvent]) { self.events = events }
    func run(emit: (FileEvent) -> Void) throws { events.forEach(emit) }
    func stop() {}
    var counters: SourceCounters { SourceCounters() }
}

/// Keeps what a sink would have received.
private final class CollectorSink: EventSink, Sendable {
    let name: String
    private let received = Mutex<[FileEvent]>([])
    init(name: String) { self.name = name }
    func write(_ event: FileEvent) throws { received.withLock { $0.append(event) } }
    func flush() throws {}
    func close() throws {}
    var events: [FileEvent] { received.withLock { $0 } }
}
