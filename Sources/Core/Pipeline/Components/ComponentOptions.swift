/// The options of one declared component, as written in its pipeline file
/// (after `${VAR}` interpolation), with typed accessors.
///
/// Each component type turns these into its own options struct
/// (`ComponentOptionsDecodable`), which checks everything that can be
/// checked without I/O; the validator runs that decoding, so a bad value is
/// reported at its line before anything starts.
import FSProbeCore
public struct ComponentOptions: Sendable {
    /// The component's name in the pipeline file.
    public let component: String
    public let values: [String: OptionValue]

    public init(component: String, values: [String: OptionValue]) {
        self.component = component
        self.values = values
    }

    public func contains(_ name: String) -> Bool { values[name] != nil }

    public func string(_ name: String) throws(ComponentOptionError) -> String? {
        switch values[name] {
        case nil: return nil
        case .scalar(let text): return text
        case .list: throw ComponentOptionError(option: name, "expected a single value, got a list")
        }
    }

    /// A scalar is a list of one.
    public func strings(_ name: String) -> [String]? {
        switch values[name] {
        case nil: return nil
        case .scalar(let text): return [text]
        case .list(let items): return items
        }
    }

    public func bool(_ name: String) throws(ComponentOptionError) -> Bool? {
        guard let text = try string(name) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw ComponentOptionError(option: name, "expected true or false, got '\(text)'")
        }
    }

    public func integer(_ name: String, in range: ClosedRange<Int> = 1...Int.max) throws(ComponentOptionError) -> Int? {
        guard let text = try string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ComponentOptionError(option: name, "expected an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return value
    }

    public func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, as: Choice.Type) throws(ComponentOptionError) -> Choice?
    where Choice.RawValue == String {
        guard let text = try string(name) else { return nil }
        guard let value = Choice(rawValue: text) else {
            let words = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw ComponentOptionError(option: name, "expected one of \(words), got '\(text)'")
        }
        return value
    }

    /// The value of a required option (the validator already reported it
    /// missing; this is for constructors called without validation).
    public func required<Value>(_ name: String, _ value: Value?) throws(ComponentOptionError) -> Value {
        guard let value else { throw ComponentOptionError(option: name, "is required") }
        return value
    }
}

/// A value that does not fit its option, found while decoding options.
/// The validator places it at the option's line (or the component's, when
/// the option is missing).
public struct ComponentOptionError: Error, Sendable, CustomStringConvertible {
    public let option: String
    public let message: String
    /// The culprit's position (0-based) when the option is a list.
    public let item: Int?

    public init(option: String, item: Int? = nil, _ message: String) {
        self.option = option
        self.item = item
        self.message = message
    }

    public var description: String { "option '\(option)': \(message)" }
}

/// A component's typed options, decoded and checked without I/O.
public protocol ComponentOptionsDecodable: Sendable {
    init(_ options: ComponentOptions) throws(ComponentOptionError)
}

/// What a component needs from the pipeline that builds it.
public struct ComponentContext: Sendable {
    /// The component's name in the pipeline file (sinks report under it).
    public let name: String
    /// Shows every value that came from the environment (`${VAR}`) as the
    /// text it replaced: for messages the component prints on its own, such
    /// as a library's log lines, which may quote a secret.
    public let redact: @Sendable (String) -> String

    public init(name: String, redact: @escaping @Sendable (String) -> String = { $0 }) {
        self.name = name
        self.redact = redact
    }
}

/// A constructed component, ready to be wired into a pipeline.
public enum BuiltComponent: Sendable {
    case source(any EventSource)
    case transform(any EventTransform)
    case sink(any EventSink)
}
