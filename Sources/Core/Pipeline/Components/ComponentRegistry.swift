/// The three roles a pipeline component can play, and the top-level section
/// of a pipeline file that lists components of that role.
import FSProbeCore
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

/// A registered component type: its name, role, options and constructor.
///
/// Made with `.source`, `.transform` or `.sink`, which tie the declared
/// options (for validation messages and `fsprobe components`) to a typed
/// options struct (checked without I/O) and to the constructor.
public struct ComponentType: Sendable {
    public let name: String
    public let role: ComponentRole
    public let summary: String
    public let options: [OptionSpec]
    private let decodeOptions: @Sendable (ComponentOptions) throws(ComponentOptionError) -> Void
    private let construct: @Sendable (ComponentOptions, ComponentContext) throws -> BuiltComponent

    private init(name: String, role: ComponentRole, summary: String, options: [OptionSpec],
                 decode: @escaping @Sendable (ComponentOptions) throws(ComponentOptionError) -> Void,
                 construct: @escaping @Sendable (ComponentOptions, ComponentContext) throws -> BuiltComponent) {
        self.name = name
        self.role = role
        self.summary = summary
        self.options = options
        self.decodeOptions = decode
        self.construct = construct
    }

    public static func source<Options: ComponentOptionsDecodable>(
        _ name: String, summary: String, options: [OptionSpec],
        make: @escaping @Sendable (Options, ComponentContext) throws -> any EventSource
    ) -> ComponentType {
        ComponentType(name: name, role: .source, summary: summary, options: options,
                      decode: { options throws(ComponentOptionError) in _ = try Options(options) },
                      construct: { .source(try make(Options($0), $1)) })
    }

    /// A transform type; the edge options (`buffer_size`, `when_full`) are added.
    public static func transform<Options: ComponentOptionsDecodable>(
        _ name: String, summary: String, options: [OptionSpec],
        make: @escaping @Sendable (Options, ComponentContext) throws -> any EventTransform
    ) -> ComponentType {
        ComponentType(name: name, role: .transform, summary: summary, options: options + ComponentRegistry.edgeOptions,
                      decode: { options throws(ComponentOptionError) in _ = try Options(options) },
                      construct: { .transform(try make(Options($0), $1)) })
    }

    /// A sink type; the edge options (`buffer_size`, `when_full`) are added.
    public static func sink<Options: ComponentOptionsDecodable>(
        _ name: String, summary: String, options: [OptionSpec],
        make: @escaping @Sendable (Options, ComponentContext) throws -> any EventSink
    ) -> ComponentType {
        ComponentType(name: name, role: .sink, summary: summary, options: options + ComponentRegistry.edgeOptions + ComponentRegistry.diskBufferOptions,
                      decode: { options throws(ComponentOptionError) in _ = try Options(options) },
                      construct: { .sink(try make(Options($0), $1)) })
    }

    public func option(named name: String) -> OptionSpec? { options.first { $0.name == name } }

    /// Decodes the options as the constructor would, without I/O.
    public func check(_ options: ComponentOptions) throws(ComponentOptionError) {
        try decodeOptions(options)
    }

    /// Builds the component (this may open files or connect).
    public func build(_ options: ComponentOptions, context: ComponentContext) throws -> BuiltComponent {
        try construct(options, context)
    }
}

/// Every component type a pipeline file may name. Adding a component is one
/// file (its options struct, its implementation and its `ComponentType`)
/// plus one `register` line where the registry is assembled.
public struct ComponentRegistry: Sendable {
    public private(set) var types: [ComponentType] = []

    public init(_ types: [ComponentType] = []) {
        for type in types { register(type) }
    }

    /// A name is unique within its role: `kafka` may be both a source (a
    /// consumer) and a sink (a producer).
    public mutating func register(_ type: ComponentType) {
        precondition(self.type(named: type.name, role: type.role) == nil, "\(type.role) type \(type.name) registered twice")
        types.append(type)
    }

    public func type(named name: String, role: ComponentRole) -> ComponentType? {
        types.first { $0.name == name && $0.role == role }
    }

    /// The first type of that name, whatever its role.
    public func type(named name: String) -> ComponentType? { types.first { $0.name == name } }

    /// Options every sink takes to keep its buffer on disk.
    public static let diskBufferOptions = [
        OptionSpec("buffer_type", .choice(["memory", "disk"]), "memory (default) or disk: events wait in buffer_path, bounded by buffer_max_bytes, and survive an outage of the sink and a restart"),
        OptionSpec("buffer_path", .string, "with buffer_type: disk, the directory of the buffer (one per sink)"),
        OptionSpec("buffer_max_bytes", .positiveInteger, "with buffer_type: disk, the most bytes kept (default 268435456); then when_full applies"),
        OptionSpec("buffer_fsync", .choice(["every_batch", "never"]), "with buffer_type: disk, fdatasync after each batch (default) or leave it to the kernel"),
        OptionSpec("buffer_drain_timeout_ms", .positiveInteger, "with buffer_type: disk, how long shutdown waits for the sink to take what is on disk (default 5000); the rest stays for the next start"),
    ]

    /// Options every transform and sink takes: the bounded buffer in front of it.
    public static let edgeOptions = [
        OptionSpec("buffer_size", .positiveInteger, "capacity of the buffer in front of this component, in events"),
        OptionSpec("when_full", .choice(OverflowPolicy.allCases.map(\.rawValue)), "what a full buffer does: block (back-pressure) or drop_newest"),
    ]
}
