import FSProbeCore

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
