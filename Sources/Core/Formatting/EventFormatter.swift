/// How a sink renders events (`--format`).
public enum OutputFormat: String, CaseIterable, Sendable {
    /// One JSON object per line (`JSONLineEncoder`).
    case json
    /// A header, then one table line per event (`TableFormatter`).
    case table
    /// Nothing: events are counted and discarded (benchmarks, dry runs).
    case none
}

/// One formatter for any `OutputFormat`, so sinks hold a single value and do
/// not switch on the format themselves.
public struct EventFormatter: Sendable {
    public let format: OutputFormat
    private var json = JSONLineEncoder()
    private var table: TableFormatter

    public init(format: OutputFormat, clock: TableFormatter.Clock = .local) {
        self.format = format
        self.table = TableFormatter(clock: clock)
    }

    /// Appends what precedes the first event: the table header, else nothing.
    public func appendHeader(into output: inout [UInt8]) {
        if format == .table { table.appendHeader(into: &output) }
    }

    /// Appends the event's line in this format (nothing for `.none`).
    public mutating func encode(_ event: FileEvent, into output: inout [UInt8]) {
        switch format {
        case .json: json.encodeNext(event, into: &output)
        case .table: table.encode(event, into: &output)
        case .none: break
        }
    }
}
