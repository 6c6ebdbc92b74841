import FSProbeCore
import FSProbePipeline

/// `type: sqlite` in a pipeline file, decoded and checked without I/O.
public struct SQLiteSinkOptions: ComponentOptionsDecodable, Equatable {
    /// The database file (created 0600 if missing).
    public var path: String
    /// The most events one transaction holds; a full batch commits at once.
    public var batchSize: Int
    /// Events older than this are deleted; nil keeps everything.
    public var retention: Duration?
    public var synchronous: SQLiteSynchronous

    public static let defaultBatchSize = 1000
    /// Large enough for any burst, small enough that a transaction (and the
    /// WAL it grows) stays a few hundred megabytes at most.
    public static let batchSizeRange = 1...1_000_000

    public init(path: String, batchSize: Int = defaultBatchSize, retention: Duration? = nil,
                synchronous: SQLiteSynchronous = .normal) {
        self.path = path
        self.batchSize = batchSize
        self.retention = retention
        self.synchronous = synchronous
    }

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        path = try options.required("path", options.string("path"))
        guard !path.isEmpty else { throw ComponentOptionError(option: "path", "is empty: expected a file path") }
        batchSize = try options.integer("batch_size", in: Self.batchSizeRange) ?? Self.defaultBatchSize
        retention = try options.string("retention").map { text throws(ComponentOptionError) in
            guard let duration = Self.parseDuration(text) else {
                throw ComponentOptionError(option: "retention",
                                           "expected a duration like 90m, 24h or 7d (a positive number and s, m, h or d), got '\(text)'")
            }
            return duration
        }
        synchronous = try options.choice("synchronous", as: SQLiteSynchronous.self) ?? .normal
    }

    /// `<positive integer><unit>` with unit `s`, `m`, `h` or `d`; nil otherwise
    /// (including on overflow). No fractions or compound forms: one obvious
    /// spelling per value keeps pipeline files easy to read and diff.
    static func parseDuration(_ text: String) -> Duration? {
        DurationText.nanoseconds(text).map { .nanoseconds($0) }
    }
}

/// SQLite's `synchronous` setting, in WAL mode.
public enum SQLiteSynchronous: String, CaseIterable, Sendable {
    /// No fsync per commit: a kill -9 loses nothing committed, a power loss
    /// may lose the last commits (the database stays consistent).
    case normal
    /// fsync on every commit: committed events survive a power loss too.
    case full
}

extension ComponentType {
    public static let sqliteSink = ComponentType.sink(
        "sqlite", summary: "stores events in a SQLite database (WAL, batched transactions, created 0600)",
        options: [
            OptionSpec("path", .string, required: true, "the database file"),
            OptionSpec("batch_size", .positiveInteger,
                       "most events per transaction (default: \(SQLiteSinkOptions.defaultBatchSize))"),
            OptionSpec("retention", .string,
                       "delete events older than this, e.g. 90m, 24h, 7d (default: keep everything)"),
            OptionSpec("synchronous", .choice(SQLiteSynchronous.allCases.map(\.rawValue)),
                       "normal (default; survives kill -9) or full (fsync each commit; survives power loss)"),
        ]
    ) { (options: SQLiteSinkOptions, context) in
        try SQLiteSink(options: options, name: context.name)
    }
}
