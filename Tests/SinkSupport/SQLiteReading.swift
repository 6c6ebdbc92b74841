import FSProbeCore
import FSProbeSinks
import GRDB

/// A second, independent connection to a sink's database, as a user's
/// query tool would open it.
public func openReader(_ path: String) throws -> DatabaseQueue {
    try DatabaseQueue(path: path)
}

/// The one integer `sql` returns (-1 for none): by default, the rows archived.
public func count(_ reader: DatabaseQueue, _ sql: String = "SELECT count(*) FROM events") throws -> Int {
    try reader.read { try Int.fetchOne($0, sql: sql) ?? -1 }
}

/// A database at `path` holding `events`, written by the real sqlite sink
/// (created and migrated as a running fsprobe would), then closed.
public func writeArchive(_ path: String, _ events: [FileEvent]) throws {
    let sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
    for event in events { try sink.write(event) }
    try sink.flush()
    try sink.close()
}

/// The real sqlite sink kept open, as a running fsprobe keeps it: each
/// `commit` writes events and commits them.
public final class ArchiveWriter {
    private let sink: SQLiteSink

    public init(_ path: String) throws {
        sink = try SQLiteSink(options: SQLiteSinkOptions(path: path))
    }

    public func commit(_ events: [FileEvent]) throws {
        for event in events { try sink.write(event) }
        try sink.flush()
    }

    public func close() throws {
        try sink.close()
    }
}
