/// The three roles a pipeline component can play, and the top-level section
/// of a pipeline file that lists components of that role.
public enum ComponentRole: String, Sendable, CaseIterable {
    case source, transform, sink

    public var section: String { rawValue + "s" }
}

/// The shape of an option's value, checked without any I/O.
public enum OptionKind: Sendable, Equatable, CustomStringConvertible {
    case string
    case bool
    case positiveInteger
    case stringList
    /// One of the given words.
    case choice([String])
    /// A list of words, each one of the given ones.
    case choiceList([String])

    public var description: String {
        switch self {
        case .string: "string"
        case .bool: "true or false"
        case .positiveInteger: "positive integer"
        case .stringList: "list of strings"
        case .choice(let words): "one of " + words.joined(separator: ", ")
        case .choiceList(let words): "list of " + words.joined(separator: ", ")
        }
    }
}

public struct OptionSpec: Sendable {
    public let name: String
    public let kind: OptionKind
    public let required: Bool
    public let summary: String

    public init(_ name: String, _ kind: OptionKind, required: Bool = false, _ summary: String) {
        self.name = name
        self.kind = kind
        self.required = required
        self.summary = summary
    }
}

/// A registered component type: its name, role and options.
public struct ComponentType: Sendable {
    public let name: String
    public let role: ComponentRole
    public let summary: String
    public let options: [OptionSpec]

    public init(name: String, role: ComponentRole, summary: String, options: [OptionSpec]) {
        self.name = name
        self.role = role
        self.summary = summary
        self.options = options
    }

    public func option(named name: String) -> OptionSpec? { options.first { $0.name == name } }
}

/// Every component type a pipeline file may name. Adding a component is one
/// registration here plus its implementation.
public struct ComponentRegistry: Sendable {
    public private(set) var types: [ComponentType] = []

    public init() {}

    public mutating func register(_ type: ComponentType) {
        precondition(self.type(named: type.name) == nil, "component type \(type.name) registered twice")
        types.append(type)
    }

    public func type(named name: String) -> ComponentType? { types.first { $0.name == name } }

    /// Options every transform and sink takes: the bounded buffer in front of it.
    public static let edgeOptions = [
        OptionSpec("buffer_size", .positiveInteger, "capacity of the buffer in front of this component, in events"),
        OptionSpec("when_full", .choice(OverflowPolicy.allCases.map(\.rawValue)), "what a full buffer does: block (back-pressure) or drop_newest"),
    ]

    /// The built-in component types.
    public static let builtIn: ComponentRegistry = {
        let eventNames = EventType.allCases.map(\.name)
        var registry = ComponentRegistry()
        registry.register(ComponentType(name: "kernel", role: .source, summary: "file-system events from the kernel (eBPF)", options: [
            OptionSpec("paths", .stringList, "files and directories to watch"),
            OptionSpec("events", .choiceList(eventNames + ["all"]), "event types to report (default: all)"),
            OptionSpec("recursive", .bool, "watch directories recursively (default: true)"),
            OptionSpec("follow", .bool, "keep watching files moved out of a watched directory (default: true)"),
            OptionSpec("paths_filtering", .bool, "report only events on the watched paths (default: true)"),
            OptionSpec("backend", .choice(["auto"] + BackendKind.allCases.map(\.rawValue)), "hook backend (default: auto)"),
        ]))
        registry.register(ComponentType(name: "filter", role: .transform, summary: "keeps the events that match every given condition", options: [
            OptionSpec("event_types", .choiceList(eventNames), "keep these event types"),
            OptionSpec("path_prefix", .stringList, "keep events whose source or target path starts with one of these"),
            OptionSpec("comm", .stringList, "keep events of processes with one of these names"),
        ] + edgeOptions))
        registry.register(ComponentType(name: "stdout", role: .sink, summary: "prints events on standard output", options: [
            OptionSpec("format", .choice(["table", "json"]), "output format (default: table)"),
        ] + edgeOptions))
        registry.register(ComponentType(name: "file", role: .sink, summary: "appends JSON lines to a file created 0600", options: [
            OptionSpec("path", .string, required: true, "the file to write"),
        ] + edgeOptions))
        return registry
    }()
}
