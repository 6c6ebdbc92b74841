import FSProbeCore

/// `${NAME}` in option values is replaced by the environment variable NAME,
/// so secrets stay out of pipeline files. Values are never echoed in
/// messages: a problem names the variable only. `$$` is a literal `$`.
///
/// As in the shell, a default or a requirement can follow the name:
/// - `${NAME:-default}`: `default` when NAME is unset or empty
///   (`${NAME-default}`: only when unset);
/// - `${NAME:?message}`: refused with `message` when NAME is unset or empty
///   (`${NAME?message}`: only when unset).
/// The default and the message are the file's own text, taken as written
/// up to the closing `}`.
public struct EnvironmentInterpolation: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unset(String)
        /// `${NAME:?message}` (or `?`) with NAME unset (or empty).
        case required(String, message: String)
        case unterminated
        case emptyName
        case badName(String)

        public var description: String {
            switch self {
            case .unset(let name):
                "environment variable \(name.lineSafe) is not set (give it a default with ${\(name.lineSafe):-value})"
            case .required(let name, let message):
                "environment variable \(name.lineSafe) is required: " + (message.isEmpty ? "it is not set" : message.lineSafe)
            case .unterminated: "'${' without a closing '}'"
            case .emptyName: "'${}' names no variable: expected ${NAME}"
            case .badName(let text):
                "'${\(text.lineSafe)}' is not a variable: expected ${NAME}, ${NAME:-default} or ${NAME:?message} (NAME: letters, digits, _)"
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
                result += try expand(rest[rest.index(after: after)..<close])
                rest = rest[rest.index(after: close)...]
            } else {
                result += "$"
                rest = rest[after...]
            }
        }
        return result + rest
    }

    /// The text between `${` and `}`: a name, then maybe `:-`, `-`, `:?` or
    /// `?` and the word after it.
    private func expand(_ body: Substring) throws(Failure) -> String {
        let nameEnd = body.firstIndex { !($0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber)) } ?? body.endIndex
        let name = String(body[..<nameEnd])
        guard !body.isEmpty else { throw .emptyName }
        guard !name.isEmpty, !name.first!.isNumber else { throw .badName(String(body)) }
        var rest = body[nameEnd...]
        let value = environment[name]
        guard let first = rest.first else {
            guard let value else { throw .unset(name) }
            return value
        }
        let orEmpty = first == ":"
        if orEmpty { rest = rest.dropFirst() }
        let missing = value == nil || (orEmpty && value!.isEmpty)
        switch rest.first {
        case "-":
            return missing ? String(rest.dropFirst()) : value!
        case "?":
            if missing { throw .required(name, message: String(rest.dropFirst())) }
            return value!
        default:
            throw .badName(String(body))
        }
    }
}
