import FSProbeCore
import FSProbePipeline
import Yams

/// One component as declared: `name: {type: ..., inputs: [...], options...}`.
public struct ComponentDeclaration: Sendable {
    public let name: String
    public let role: ComponentRole
    public let location: SourceLocation
    public let type: String?
    public let typeLocation: SourceLocation
    public let inputs: [(name: String, location: SourceLocation)]
    public let options: [(name: String, value: OptionValue, location: SourceLocation)]
    /// Where each item of a list option is, by option name (a problem with
    /// one item is located at it, not at the option).
    public var itemLocations: [String: [SourceLocation]] = [:]
    /// Options whose `${…}` could not be resolved (a problem already says
    /// why): their value is unknown, so nothing else judges it.
    public var unresolvedOptions: Set<String> = []

    /// The options as the component's constructor takes them.
    public var componentOptions: ComponentOptions {
        ComponentOptions(component: name, values: Dictionary(options.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last }))
    }
}

extension ComponentDeclaration {
    /// Whether `other` declares the same component: name, role, type,
    /// inputs and option values alike (where they are written may differ).
    public func hasSameSettings(as other: ComponentDeclaration) -> Bool {
        name == other.name && role == other.role && type == other.type
            && inputs.map(\.name) == other.inputs.map(\.name)
            && componentOptions.values == other.componentOptions.values
    }
}

/// A pipeline file parsed into declarations, with every structural problem
/// found on the way. Meaning (types, options, the graph) is checked by
/// `PipelineValidator`.
public struct PipelineDocument: Sendable {
    public let file: String
    public private(set) var components: [ComponentDeclaration] = []
    public private(set) var problems: [PipelineProblem] = []
    /// Values that came from the environment, with the text they replaced
    /// (`${NAME}`): messages show that text, never the value (a secret).
    public private(set) var environmentValues: [(value: String, written: String)] = []
    /// `metrics: {address: HOST:PORT}`: where the run serves `/metrics`.
    public private(set) var metricsAddress: MetricsAddress?
    /// Set by `strings` when a `${…}` of the value it read could not be resolved.
    private var interpolationFailed = false

    /// Parses YAML text; never throws: a syntax error is a problem too.
    /// - Parameter environment: what `${NAME}` reads; nil keeps every
    ///   `${…}` as written (to draw a file without its deployment's values).
    public init(file: String, text: String, environment: [String: String]?) {
        self.file = file
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            problems.append(Self.syntaxProblem(error, file: file))
            return
        }
        guard let node, case .mapping(let top) = node else {
            problems.append(PipelineProblem(location(of: node), "a pipeline file is a mapping with sections sources, transforms and sinks"))
            return
        }
        let interpolation = environment.map { EnvironmentInterpolation(environment: $0) }
        for (key, value) in top {
            let section = key.string ?? ""
            // Test cases for `fsprobe pipeline test`; running the pipeline ignores them.
            if section == "tests" { continue }
            if section == "metrics" {
                parseMetrics(value, interpolation: interpolation)
                continue
            }
            guard let role = ComponentRole.allCases.first(where: { $0.section == section }) else {
                problems.append(PipelineProblem(location(of: key), "unknown section '\(section)': expected sources, transforms, sinks, metrics or tests"))
                continue
            }
            guard case .mapping(let members) = value else {
                problems.append(PipelineProblem(location(of: value), "section \(section) must map component names to their settings"))
                continue
            }
            for (nameNode, body) in members {
                parseComponent(name: nameNode.string ?? "", nameNode: nameNode, body: body, role: role, interpolation: interpolation)
            }
        }
    }

    /// `metrics:` holds one setting, `address`.
    private mutating func parseMetrics(_ node: Node, interpolation: EnvironmentInterpolation?) {
        guard case .mapping(let fields) = node else {
            problems.append(PipelineProblem(location(of: node), "section metrics must be a mapping: metrics: {address: HOST:PORT}"))
            return
        }
        for (keyNode, valueNode) in fields {
            guard keyNode.string == "address" else {
                problems.append(PipelineProblem(location(of: keyNode), "unknown setting '\(keyNode.string ?? "")' of metrics: expected address"))
                continue
            }
            interpolationFailed = false
            guard case .scalar = valueNode, let text = strings(valueNode, interpolation: interpolation)?.first?.0 else {
                problems.append(PipelineProblem(location(of: valueNode), "metrics address: \(MetricsAddress.expected)"))
                continue
            }
            // A `${…}` unresolved (a problem says why) or kept as written (drawing): unchecked.
            if interpolationFailed || (interpolation == nil && text.contains("${")) { continue }
            guard let address = MetricsAddress(text) else {
                problems.append(PipelineProblem(location(of: valueNode), "metrics address '\(text)': \(MetricsAddress.expected)"))
                continue
            }
            metricsAddress = address
        }
    }

    private mutating func parseComponent(name: String, nameNode: Node, body: Node, role: ComponentRole,
                                         interpolation: EnvironmentInterpolation?) {
        let here = location(of: nameNode)
        guard case .mapping(let fields) = body else {
            problems.append(PipelineProblem(location(of: body), "component '\(name)' must be a mapping with at least a type"))
            return
        }
        var type: String?
        var typeLocation = here
        var inputs: [(String, SourceLocation)] = []
        var options: [(String, OptionValue, SourceLocation)] = []
        var itemLocations: [String: [SourceLocation]] = [:]
        var unresolved: Set<String> = []
        for (keyNode, valueNode) in fields {
            let key = keyNode.string ?? ""
            switch key {
            case "type":
                type = valueNode.string
                typeLocation = location(of: valueNode)
            case "inputs":
                guard let names = strings(valueNode, interpolation: nil) else {
                    problems.append(PipelineProblem(location(of: valueNode), "inputs of '\(name)' must be a list of component names"))
                    continue
                }
                inputs += names.map { ($0.0, $0.1) }
            default:
                interpolationFailed = false
                defer { if interpolationFailed { unresolved.insert(key) } }
                if let value = optionValue(valueNode, interpolation: interpolation) {
                    options.append((key, value, location(of: keyNode)))
                    if case .sequence(let items) = valueNode { itemLocations[key] = items.map { location(of: $0) } }
                }
            }
        }
        if type == nil {
            problems.append(PipelineProblem(here, "component '\(name)' has no type"))
        }
        var declaration = ComponentDeclaration(name: name, role: role, location: here, type: type, typeLocation: typeLocation,
                                               inputs: inputs, options: options)
        declaration.itemLocations = itemLocations
        declaration.unresolvedOptions = unresolved
        components.append(declaration)
    }

    /// A scalar or a list of scalars, interpolated; nil (with a problem) otherwise.
    private mutating func optionValue(_ node: Node, interpolation: EnvironmentInterpolation?) -> OptionValue? {
        if case .scalar = node {
            return strings(node, interpolation: interpolation).map { .scalar($0[0].0) }
        }
        guard case .sequence = node else {
            problems.append(PipelineProblem(location(of: node), "an option value is a single value or a list of values"))
            return nil
        }
        guard let items = strings(node, interpolation: interpolation) else {
            problems.append(PipelineProblem(location(of: node), "a list of values holds single values, not lists or mappings"))
            return nil
        }
        return .list(items.map(\.0))
    }

    /// The scalar strings of a scalar or a sequence of scalars, with locations.
    private mutating func strings(_ node: Node, interpolation: EnvironmentInterpolation?) -> [(String, SourceLocation)]? {
        let items: [Node]
        switch node {
        case .scalar: items = [node]
        case .sequence(let sequence): items = Array(sequence)
        default: return nil
        }
        var result: [(String, SourceLocation)] = []
        for item in items {
            guard case .scalar(let scalar) = item else { return nil }
            var text = scalar.string
            if let interpolation {
                do {
                    let written = text
                    text = try interpolation.interpolate(written)
                    if text != written && !text.isEmpty { environmentValues.append((text, written)) }
                } catch {
                    problems.append(PipelineProblem(location(of: item), error.description))
                    interpolationFailed = true
                }
            }
            result.append((text, location(of: item)))
        }
        return result
    }

    /// message with every value that came from the environment shown as the
    /// text it replaced: quoted ('value') always, bare when it is long enough
    /// (6 characters) not to be mistaken for a number or a word of the message.
    public func redacted(_ message: String) -> String {
        var text = message
        for (value, written) in environmentValues.sorted(by: { $0.value.count > $1.value.count }) {
            text = text.replacing("'\(value)'", with: "'\(written)'")
            if value.count >= 6 { text = text.replacing(value, with: written) }
        }
        return text
    }

    private func location(of node: Node?) -> SourceLocation {
        SourceLocation(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }

    /// 1-based line and column of byte `offset` of `text`.
    private static func lineAndColumn(ofByte offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for byte in text.utf8.prefix(max(0, offset)) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }

    private static func syntaxProblem(_ error: Error, file: String) -> PipelineProblem {
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return PipelineProblem(SourceLocation(file: file, line: mark.line, column: mark.column), "YAML syntax: \(problem)")
        case .reader(let problem, let offset, let value, let yaml):
            // Bytes YAML does not allow (a control character, invalid UTF-8):
            // located from the offset, never quoting the line (it may hold a secret).
            let (line, column) = lineAndColumn(ofByte: offset ?? 0, in: yaml)
            return PipelineProblem(SourceLocation(file: file, line: line, column: column),
                                   "YAML: \(problem) (character U+\(String(UInt32(bitPattern: value), radix: 16, uppercase: true)))")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return PipelineProblem(SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                                   "duplicate keys: " + duplicates.joined(separator: ", "))
        default:
            return PipelineProblem(SourceLocation(file: file, line: 1, column: 1), "YAML: \(error)")
        }
    }
}
