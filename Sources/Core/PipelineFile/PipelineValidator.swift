import FSProbeCore
import FSProbePipeline

/// Checks a parsed pipeline file against the component registry and checks
/// its graph, reporting every problem at once, in file order.
public struct PipelineValidator: Sendable {
    public let registry: ComponentRegistry

    public init(registry: ComponentRegistry) {
        self.registry = registry
    }

    public func problems(in document: PipelineDocument) -> [PipelineProblem] {
        var problems = document.problems
        let byName = Dictionary(document.components.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>()
        for component in document.components {
            if !seen.insert(component.name).inserted {
                problems.append(PipelineProblem(component.location, "component name '\(component.name)' is used twice"))
            }
            problems += typeProblems(component)
            problems += inputProblems(component, byName: byName)
        }
        problems += cycleProblems(document.components, byName: byName)
        problems += unconsumedProblems(document.components)
        if !document.components.contains(where: { $0.role == .sink }) && document.problems.isEmpty {
            problems.append(PipelineProblem(SourceLocation(file: document.file, line: 1, column: 1), "the pipeline has no sink"))
        }
        return problems
            .map { PipelineProblem($0.location, document.redacted($0.message)) }
            .sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
    }

    private func typeProblems(_ component: ComponentDeclaration) -> [PipelineProblem] {
        guard let typeName = component.type else { return [] }
        guard let type = registry.type(named: typeName, role: component.role) else {
            let known = registry.types.filter { $0.role == component.role }.map(\.name).joined(separator: ", ")
            return [PipelineProblem(component.typeLocation, "unknown \(component.role.rawValue) type '\(typeName)': expected one of \(known)")]
        }
        var problems: [PipelineProblem] = []
        // Options of the right name and shape, for the decoding below.
        var values = component.componentOptions.values
        for name in component.unresolvedOptions { values.removeValue(forKey: name) }
        for option in component.options {
            guard let spec = type.option(named: option.name) else {
                let known = type.options.map(\.name).joined(separator: ", ")
                problems.append(PipelineProblem(option.location, "unknown option '\(option.name)' for \(typeName): expected \(known.isEmpty ? "none" : known)"))
                values.removeValue(forKey: option.name)
                continue
            }
            if let complaint = Self.check(option.value, against: spec.kind) {
                problems.append(PipelineProblem(option.location, "option '\(option.name)' of '\(component.name)': \(complaint)"))
                values.removeValue(forKey: option.name)
            }
        }
        let missing = type.options.filter { spec in spec.required && !component.options.contains(where: { $0.name == spec.name }) }
        for spec in missing {
            problems.append(PipelineProblem(component.location, "'\(component.name)' (\(typeName)) needs option '\(spec.name)': \(spec.summary)"))
        }
        // Values of the right shape may still be wrong together or in
        // meaning (a bad glob, an out-of-range rate): the component's own
        // options decoding says so, without I/O.
        if missing.isEmpty {
            // Decoding stops at its first bad option: decode again without
            // it, for the next, so that every bad option is reported at once.
            // An error about an option that is not there (a missing one, or
            // one set aside) is reported only when nothing was set aside: it
            // could be an effect of setting the others aside.
            var setAsideAny = values.count < component.options.count
            while true {
                do {
                    let options = ComponentOptions(component: component.name, values: values)
                    try type.check(options)
                    // The buffer in front of it, decoded as the run decodes it:
                    // validate and run accept and refuse the same values.
                    if component.role != .source { _ = try EdgeOptions(options) }
                    break
                } catch {
                    let declared = component.options.first { $0.name == error.option }
                    let setAside = values.removeValue(forKey: error.option) != nil
                    if !setAside && setAsideAny { break }
                    let item = error.item.flatMap { index in component.itemLocations[error.option].flatMap { $0.indices.contains(index) ? $0[index] : nil } }
                    problems.append(PipelineProblem(item ?? declared?.location ?? component.location, "'\(component.name)' (\(typeName)): \(error)"))
                    if !setAside { break }
                    setAsideAny = true
                }
            }
        }
        return problems
    }

    /// Why value does not fit kind, or nil when it does.
    static func check(_ value: OptionValue, against kind: OptionKind) -> String? {
        switch (kind, value) {
        case (.string, .scalar):
            return nil
        case (.bool, .scalar(let text)):
            return ["true", "false"].contains(text) ? nil : "expected true or false, got '\(text)'"
        case (.positiveInteger, .scalar(let text)):
            return (Int(text).map { $0 > 0 } ?? false) ? nil : "expected a positive integer, got '\(text)'"
        case (.choice(let words), .scalar(let text)):
            return words.contains(text) ? nil : "expected one of \(words.joined(separator: ", ")), got '\(text)'"
        case (.stringList, _):
            return nil
        case (.choiceList(let words), _):
            let items: [String]
            switch value {
            case .list(let list): items = list
            case .scalar(let one): items = [one]
            }
            let wrong = items.filter { !words.contains($0) }
            return wrong.isEmpty ? nil : "unknown \(wrong.map { "'\($0)'" }.joined(separator: ", ")): expected \(words.joined(separator: ", "))"
        case (_, .list):
            return "expected a single value (\(kind)), got a list"
        }
    }

    private func inputProblems(_ component: ComponentDeclaration, byName: [String: ComponentDeclaration]) -> [PipelineProblem] {
        if component.role == .source {
            return component.inputs.map { PipelineProblem($0.location, "source '\(component.name)' takes no inputs") }
        }
        if component.inputs.isEmpty {
            return [PipelineProblem(component.location, "\(component.role.rawValue) '\(component.name)' has no inputs: name the components it reads from")]
        }
        return component.inputs.compactMap { input in
            guard let upstream = byName[input.name] else {
                let known = byName.values.filter { $0.role != .sink }.map(\.name).sorted().joined(separator: ", ")
                return PipelineProblem(input.location, "input '\(input.name)' of '\(component.name)' is not a source or transform of this pipeline (known: \(known))")
            }
            if upstream.role == .sink {
                return PipelineProblem(input.location, "input '\(input.name)' of '\(component.name)' is a sink: sinks produce nothing")
            }
            return nil
        }
    }

    /// Transforms feeding themselves, directly or not: each cycle reported once, at its first member.
    private func cycleProblems(_ components: [ComponentDeclaration], byName: [String: ComponentDeclaration]) -> [PipelineProblem] {
        var state: [String: Bool] = [:]  // false: on the current path, true: done
        var problems: [PipelineProblem] = []
        func visit(_ component: ComponentDeclaration, path: [String]) {
            if let done = state[component.name] {
                if !done, let start = path.firstIndex(of: component.name) {
                    let cycle = path[start...] + [component.name]
                    problems.append(PipelineProblem(component.location, "cycle: " + cycle.joined(separator: " -> ")))
                }
                return
            }
            state[component.name] = false
            for input in component.inputs {
                if let upstream = byName[input.name], upstream.role == .transform { visit(upstream, path: path + [component.name]) }
            }
            state[component.name] = true
        }
        for component in components where component.role == .transform { visit(component, path: []) }
        return problems
    }

    private func unconsumedProblems(_ components: [ComponentDeclaration]) -> [PipelineProblem] {
        let consumed = Set(components.flatMap { $0.inputs.map(\.name) })
        return components.filter { $0.role != .sink && !consumed.contains($0.name) }.map {
            PipelineProblem($0.location, "\($0.role.rawValue) '\($0.name)' feeds nothing: no transform or sink names it in its inputs")
        }
    }
}
