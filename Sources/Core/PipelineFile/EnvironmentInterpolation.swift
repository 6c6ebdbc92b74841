import FSProbeCore

/// `${NAME}` in option values is replaced by the environment variable NAME,
/// so secrets stay out of pipeline files. Values are never echoed in
/// messages: a problem names the variable only. `$$` is a literal `$`.
public struct EnvironmentInterpolation: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unset(String)
        case unterminated
        case emptyName

        public var description: String {
            switch self {
            case .unset(let name): "environment variable \(name.lineSafe) is not set"
            case .unterminated: "'${' without a closing '}'"
            case .emptyName: "'${}' names no variable: expected ${NAME}"
            }
        }
    }

    public func interpolate(_ text: String) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest.index(after: dollar)
            if after < rest.endIndex, rest[after] == "$" {
                result += "$"
                rest = rest[rest.index(after: after)...]
            } else if after < rest.endIndex, rest[after] == "{" {
                guard let close = rest[after...].firstIndex(of: "}") else { throw .unterminated }
                let name = String(rest[rest.index(after: after)..<close])
                guard !name.isEmpty else { throw .emptyName }
                guard let value = environment[name] else { throw .unset(name) }
                result += value
                rest = rest[rest.index(after: close)...]
            } else {
                result += "$"
                rest = rest[after...]
            }
        }
        return result + rest
    }
}
