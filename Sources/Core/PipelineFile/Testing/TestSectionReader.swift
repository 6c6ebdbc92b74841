import FSProbeCore
import FSProbePipeline
import Yams

/// Reads the `tests` section of a pipeline file into test cases, with every
/// problem located (unknown source or sink, unknown field, bad value).
struct TestSectionReader {
    let file: String
    let components: [ComponentDeclaration]
    private(set) var problems: [PipelineProblem] = []

    init(file: String, components: [ComponentDeclaration]) {
        self.file = file
        self.components = components
    }

    mutating func read(_ text: String) -> [PipelineTester.Case] {
        guard let root = try? Yams.compose(yaml: text), case .mapping(let top) = root,
              let section = top.first(where: { $0.key.string == "tests" })?.value else { return [] }
        guard case .sequence(let items) = section else {
            problems.append(PipelineProblem(location(of: section), "tests must be a list of test cases"))
            return []
        }
        return items.compactMap { readCase($0) }
    }

    private mutating func readCase(_ node: Node) -> PipelineTester.Case? {
        guard case .mapping(let fields) = node else {
            problems.append(PipelineProblem(location(of: node), "a test case is a mapping with name, inject and expect"))
            return nil
        }
        let name = fields["name"]?.string ?? "test at line \(location(of: node).line)"
        var inject: [String: [FileEvent]] = [:]
        var expect: [(sink: String, check: PipelineTester.Expectation, location: SourceLocation)] = []
        for (key, value) in fields {
            switch key.string ?? "" {
            case "name":
                continue
            case "inject":
                for (source, events) in members(value, "inject maps source names to lists of events") {
                    let sourceName = source.string ?? ""
                    guard check(source, named: sourceName, role: .source) else { continue }
                    inject[sourceName, default: []] += elements(events).enumerated().compactMap { readEvent($1, sequence: $0) }
                }
            case "expect":
                for (sink, check) in members(value, "expect maps sink names to lists of events or {count: N}") {
                    let sinkName = sink.string ?? ""
                    guard self.check(sink, named: sinkName, role: .sink) else { continue }
                    if case .mapping(let spec) = check, let count = spec["count"]?.int, count >= 0 {
                        expect.append((sinkName, .count(count), location(of: sink)))
                    } else if case .sequence = check {
                        let events = elements(check).map { pairs($0) }
                        expect.append((sinkName, .events(events), location(of: sink)))
                    } else {
                        problems.append(PipelineProblem(location(of: check), "expected events of '\(sinkName)': a list of events or {count: N}"))
                    }
                }
            case let other:
                problems.append(PipelineProblem(location(of: key), "unknown key '\(other)' in a test case: expected name, inject, expect"))
            }
        }
        if expect.isEmpty {
            problems.append(PipelineProblem(location(of: node), "test '\(name)' expects nothing: add an expect section"))
        }
        return PipelineTester.Case(name: name, location: location(of: node), inject: inject, expect: expect)
    }

    private mutating func readEvent(_ node: Node, sequence: Int) -> FileEvent? {
        var event = InjectedEvent(sequence: sequence)
        for (field, value) in pairs(node) {
            if let complaint = event.set(field, value) {
                problems.append(PipelineProblem(location(of: node), complaint))
            }
        }
        guard event.hasType else {
            problems.append(PipelineProblem(location(of: node), "an injected event needs an event_type"))
            return nil
        }
        return event.event
    }

    private mutating func check(_ node: Node, named name: String, role: ComponentRole) -> Bool {
        guard components.contains(where: { $0.name == name && $0.role == role }) else {
            let known = components.filter { $0.role == role }.map(\.name).joined(separator: ", ")
            problems.append(PipelineProblem(location(of: node), "'\(name)' is not a \(role.rawValue) of this pipeline (known: \(known))"))
            return false
        }
        return true
    }

    private mutating func members(_ node: Node, _ complaint: String) -> [(Node, Node)] {
        guard case .mapping(let mapping) = node else {
            problems.append(PipelineProblem(location(of: node), complaint))
            return []
        }
        return mapping.map { ($0.key, $0.value) }
    }

    private mutating func elements(_ node: Node) -> [Node] {
        guard case .sequence(let sequence) = node else {
            problems.append(PipelineProblem(location(of: node), "expected a list of events"))
            return []
        }
        return Array(sequence)
    }

    /// An event written as a mapping of scalar fields.
    private mutating func pairs(_ node: Node) -> [(field: String, value: String)] {
        guard case .mapping(let mapping) = node else {
            problems.append(PipelineProblem(location(of: node), "an event is a mapping of JSON field names to values"))
            return []
        }
        return mapping.compactMap { key, value in
            guard let field = key.string, let text = value.string else {
                problems.append(PipelineProblem(location(of: value), "event fields are scalars"))
                return nil
            }
            return (field, text)
        }
    }

    private func location(of node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }
}

/// An event built from the fields a test case gives, by their schema
/// names (`EventField`); the others are zero.
struct InjectedEvent {
    /// What a test case may set: the fields filters and transforms look at.
    static let settable: [EventField] = [
        .eventType, .pid, .tid, .uid, .gid, .comm, .flags, .mode, .retval,
        .srcFilename, .srcInode, .srcMountID, .targetFilename, .targetInode, .targetMountID,
        .ppid, .euid, .egid, .exe, .containerID, .host, .eventID,
    ]
    private(set) var event: FileEvent
    private(set) var hasType = false
    private let sequence: Int

    init(sequence: Int) {
        self.sequence = sequence
        // Distinct, increasing timestamps keep injected events in their order.
        event = FileEvent(type: .open, timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_700_000_000_000_000_000 + Int64(sequence)),
                          pid: 0, tid: 0, uid: 0, gid: 0, comm: ProcessName(), source: EventPath())
    }

    /// Sets one field; returns why it cannot, or nil.
    mutating func set(_ name: String, _ value: String) -> String? {
        let accepted = Self.settable.map(\.name).joined(separator: ", ")
        guard let field = EventField(name: name) else {
            return "unknown event field '\(name.lineSafe)': expected \(accepted)"
        }
        guard Self.settable.contains(field) else {
            return "event field '\(name)' cannot be injected: expected \(accepted)"
        }
        func number<T: FixedWidthInteger>(_: T.Type) -> T? { T(value) }
        let bad = "field \(name): '\(value.lineSafe)' is not a valid value"
        switch field {
        case .eventType:
            guard let type = EventType(name: value) else { return "unknown event_type '\(value.lineSafe)'" }
            event.type = type
            hasType = true
        case .pid: guard let n = number(UInt32.self) else { return bad }; event.pid = n
        case .tid: guard let n = number(UInt32.self) else { return bad }; event.tid = n
        case .uid: guard let n = number(UInt32.self) else { return bad }; event.uid = n
        case .gid: guard let n = number(UInt32.self) else { return bad }; event.gid = n
        case .flags: guard let n = number(UInt32.self) else { return bad }; event.flags = n
        case .mode: guard let n = number(UInt32.self) else { return bad }; event.mode = n
        case .retval: guard let n = number(Int64.self) else { return bad }; event.retval = n
        case .comm: event.comm = ProcessName(value)
        case .srcFilename: event.source.bytes = Array(value.utf8)
        case .srcInode: guard let n = number(UInt64.self) else { return bad }; event.source.inode = n
        case .srcMountID: guard let n = number(UInt32.self) else { return bad }; event.source.mountID = n
        case .targetFilename: event.target = event.target ?? EventPath(); event.target!.bytes = Array(value.utf8)
        case .targetInode: event.target = event.target ?? EventPath(); guard let n = number(UInt64.self) else { return bad }; event.target!.inode = n
        case .targetMountID: event.target = event.target ?? EventPath(); guard let n = number(UInt32.self) else { return bad }; event.target!.mountID = n
        case .ppid: guard let n = number(UInt32.self) else { return bad }; event.process.ppid = n
        case .euid: guard let n = number(UInt32.self) else { return bad }; event.process.euid = n
        case .egid: guard let n = number(UInt32.self) else { return bad }; event.process.egid = n
        case .exe: event.process.executable = EventPath(bytes: Array(value.utf8))
        case .containerID:
            // The container as a cgroup would name it; which runtime does not matter to a filter.
            event.process.cgroup = CgroupInfo(id: 0, path: [], containerID: value)
        case .host:
            guard EventOrigin.isValidHost(value) else { return bad }
            event.origin = EventOrigin(host: value, stream: event.origin?.stream ?? 0)
            if event.sequence == 0 { event.sequence = UInt64(sequence) + 1 }
        case .eventID:
            guard let id = EventID(text: Array(value.utf8)) else { return bad + " (expected 16 hex digits, -, 16 hex digits)" }
            event.origin = EventOrigin(host: event.origin?.host ?? "test", stream: id.stream)
            event.sequence = id.sequence
        default:
            preconditionFailure("\(field) is settable but not set")  // `settable` and this switch disagree
        }
        return nil
    }
}
