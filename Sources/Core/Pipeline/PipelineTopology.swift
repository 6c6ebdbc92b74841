/// The shape of a pipeline: named sources, transforms and sinks, and for
/// each transform and sink the components it reads from (`inputs`).
///
/// One source may feed several consumers (every consumer gets every event),
/// and a consumer may read several inputs (their events interleave). Every
/// transform and sink has its own bounded buffer in front of it, sized and
/// governed by its `bufferCapacity` and `overflowPolicy`.
///
/// Pipeline files become topologies (`PipelineBuilder`); programs embedding
/// fsprobe may also build one directly.
import FSProbeCore
public struct PipelineTopology: Sendable {
    public enum Component: Sendable {
        case source(any EventSource)
        case transform(any EventTransform)
        case sink(any EventSink)

        var role: ComponentRole {
            switch self {
            case .source: .source
            case .transform: .transform
            case .sink: .sink
            }
        }
    }

    public struct Node: Sendable {
        public let name: String
        public let component: Component
        public let inputs: [String]
        /// Capacity of this node's buffer; nil means the pipeline's default.
        public let bufferCapacity: Int?
        public let overflowPolicy: OverflowPolicy
    }

    public private(set) var nodes: [Node] = []

    public init() {}

    /// Adds a component. Sources take no inputs; transforms and sinks need at least one.
    public mutating func add(_ name: String, _ component: Component, inputs: [String] = [],
                             bufferCapacity: Int? = nil, overflowPolicy: OverflowPolicy = .block) {
        var unique: [String] = []
        for input in inputs where !unique.contains(input) { unique.append(input) }
        nodes.append(Node(name: name, component: component, inputs: unique,
                          bufferCapacity: bufferCapacity, overflowPolicy: overflowPolicy))
    }

    /// Checks what the pipeline runner relies on: unique names, inputs that
    /// exist and produce events, no cycle, a sink at least. Pipeline files are
    /// checked earlier and in more detail by `PipelineValidator`.
    public func check() throws(PipelineTopologyError) {
        var roles: [String: ComponentRole] = [:]
        for node in nodes {
            guard roles.updateValue(node.component.role, forKey: node.name) == nil else {
                throw PipelineTopologyError("component name '\(node.name.lineSafe)' is used twice")
            }
        }
        for node in nodes {
            if node.component.role == .source {
                if !node.inputs.isEmpty { throw PipelineTopologyError("source '\(node.name.lineSafe)' takes no inputs") }
                continue
            }
            if node.inputs.isEmpty { throw PipelineTopologyError("'\(node.name.lineSafe)' has no inputs") }
            for input in node.inputs {
                switch roles[input] {
                case nil: throw PipelineTopologyError("input '\(input.lineSafe)' of '\(node.name.lineSafe)' does not exist")
                case .sink: throw PipelineTopologyError("input '\(input.lineSafe)' of '\(node.name.lineSafe)' is a sink")
                default: break
                }
            }
        }
        guard nodes.contains(where: { $0.component.role == .sink }) else { throw PipelineTopologyError("the pipeline has no sink") }
        if let cycle = firstCycle() { throw PipelineTopologyError("cycle: " + cycle.map(\.lineSafe).joined(separator: " -> ")) }
    }

    /// Node names in an order where every node comes after its inputs.
    func orderedByInputs() -> [Node] {
        var placed = Set<String>()
        var order: [Node] = []
        var remaining = nodes
        while !remaining.isEmpty {
            let ready = remaining.filter { $0.inputs.allSatisfy(placed.contains) }
            precondition(!ready.isEmpty, "PipelineTopology has a cycle; call check() first")
            for node in ready { placed.insert(node.name) }
            order += ready
            remaining.removeAll { placed.contains($0.name) }
        }
        return order
    }

    private func firstCycle() -> [String]? {
        let byName = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var done = Set<String>()
        func visit(_ name: String, path: [String]) -> [String]? {
            if let start = path.firstIndex(of: name) { return Array(path[start...]) + [name] }
            if done.contains(name) { return nil }
            for input in byName[name]?.inputs ?? [] {
                if let cycle = visit(input, path: path + [name]) { return cycle }
            }
            done.insert(name)
            return nil
        }
        for node in nodes {
            if let cycle = visit(node.name, path: []) { return cycle }
        }
        return nil
    }
}

/// A topology the pipeline cannot run.
public struct PipelineTopologyError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
