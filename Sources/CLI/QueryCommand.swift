import ArgumentParser
import Foundation
import FSProbeCore
import FSProbeSinks

/// `fsprobe query DB`: the events a sqlite sink archived, filtered, printed
/// as fsprobe prints them live, then a resume cursor on stderr.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Print the events a sqlite sink archived, filtered by time, path, type and process.",
        discussion: """
            Reads the database read-only, so a running fsprobe may be writing it. \
            Events print in id order, in the format fsprobe prints them live. \
            Then stderr gets the resume cursor, the last id printed: pass it as \
            --after to get only the events archived since.
            Example: fsprobe query events.db --path /etc/passwd --since 1h
            """
    )

    @Argument(help: "The sqlite sink's database file.")
    var database: String

    @Option(name: .customLong("since"),
            help: "Events at or after this time: a duration ago (90s, 30m, 1h, 7d, 2w) or an RFC 3339 time.")
    var since: String?

    @Option(name: .customLong("until"), help: "Events before this time (same forms as --since).")
    var until: String?

    @Option(name: .customLong("path"), help: "Events whose source or target path is exactly this path.")
    var path: String?

    @Option(name: .customLong("glob"),
            help: "Events whose source or target path matches this SQLite GLOB pattern (*, ?, [...]; case-sensitive).")
    var glob: String?

    @Option(name: [.customShort("t"), .customLong("type")],
            help: "Event types (repeatable, or comma-separated).")
    var types: [EventTypeList] = []

    @Option(name: .customLong("comm"), help: "Events of processes named exactly this (comm).")
    var comm: String?

    @Option(name: .customLong("host"), help: "Events of this host (its `host` field: an archive of a fleet's events).")
    var host: String?

    @Option(name: .customLong("after"), help: "Events whose id is greater than this cursor (from a previous query).")
    var after: Int64 = 0

    @Option(name: .customLong("limit"), help: "At most this many events.")
    var limit: Int?

    @Option(name: [.short, .customLong("format")], help: "Output format: table or json.")
    var format: QueryFormat = .table

    enum QueryFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func validate() throws {
        if path != nil, glob != nil {
            throw ValidationError("--path and --glob exclude each other: give one (--path for an exact path, --glob for a pattern)")
        }
        if after < 0 { throw ValidationError("invalid --after \(after): expected a cursor, 0 or more") }
        if let limit, limit < 1 { throw ValidationError("invalid --limit \(limit): expected 1 or more events") }
        if let glob, glob.isEmpty { throw ValidationError("invalid --glob '': expected a pattern such as '/etc/*'") }
    }

    /// The query the flags describe, times taken relative to `now`.
    func query(now: Int64) throws -> ArchiveQuery {
        func instant(_ text: String?, _ flag: String) throws -> Int64? {
            guard let text else { return nil }
            guard let value = ArchiveQuery.instant(text, now: now) else {
                throw ValidationError("invalid \(flag) '\(text.lineSafe)': expected \(ArchiveQuery.acceptedInstants)")
            }
            return value
        }
        let pathMatch: ArchiveQuery.PathMatch? = if let path { .exact(path) } else if let glob { .glob(glob) } else { nil }
        return ArchiveQuery(since: try instant(since, "--since"), until: try instant(until, "--until"), path: pathMatch,
                            types: types.flatMap(\.types), comm: comm, host: host, after: after, limit: limit)
    }

    func run() throws {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let query = try query(now: Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec))
        let database = try ArchiveQuery.open(self.database)

        let sink = StdoutSink(format: format == .json ? .json : .table)
        var cursor = after
        var pending = 0
        try database.read { db in
            try query.run(db) { id, event in
                try sink.write(event)
                cursor = id
                pending += 1
                if pending == 1024 {
                    try sink.flush()
                    pending = 0
                }
            }
        }
        try sink.flush()
        FileHandleStderr.write("cursor: \(cursor) (next: \(nextCommand(cursor)))\n")
    }

    /// This command again, from `cursor` on, its words quoted for the shell.
    func nextCommand(_ cursor: Int64) -> String {
        var words = ["fsprobe", "query", database]
        if let since { words += ["--since", since] }
        if let until { words += ["--until", until] }
        if let path { words += ["--path", path] }
        if let glob { words += ["--glob", glob] }
        let typeNames = types.flatMap(\.types).map(\.name)
        if !typeNames.isEmpty { words += ["--type", typeNames.joined(separator: ",")] }
        if let comm { words += ["--comm", comm] }
        if let host { words += ["--host", host] }
        words += ["--after", String(cursor)]
        if let limit { words += ["--limit", String(limit)] }
        if format != .table { words += ["-f", format.rawValue] }
        return words.map(Self.shellQuoted).joined(separator: " ").lineSafe
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._-=:,+@%".contains($0)) }
        if plain, !word.isEmpty { return word }
        return "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
