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
