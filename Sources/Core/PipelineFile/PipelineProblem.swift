/// Where something is in a pipeline file, for messages like `file:3:5: ...`.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One thing wrong with a pipeline file. Validation collects all of them
/// rather than stopping at the first.
public struct PipelineProblem: Sendable, Hashable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    /// One line whatever the file contains: names and values quoted in the
    /// message cannot break it or send control sequences to a terminal.
    public var description: String { "\(location.file.lineSafe):\(location.line):\(location.column): \(message.lineSafe)" }
}

extension String {
    /// Control characters (C0, DEL, C1, line and paragraph separators, bidi
    /// overrides) shown as `\u{XX}`; everything else as is.
    public var lineSafe: String {
        var out = ""
        for scalar in unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7f...0x9f).contains(v) || v == 0x2028 || v == 0x2029
                || (0x202a...0x202e).contains(v) || (0x2066...0x2069).contains(v) {
                out += "\\u{" + String(v, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
