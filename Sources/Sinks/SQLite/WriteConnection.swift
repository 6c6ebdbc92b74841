import GRDBSQLite

/// The sink's own SQLite connection, used for inserts, commits and
/// retention once GRDB has created or migrated the schema.
///
/// GRDB serializes each access through a dispatch queue and installs
/// commit hooks of its own; the sink inserts from one thread, event by
/// event, into a transaction that stays open between `write` calls, which
/// GRDB's accesses cannot express without copying each event into a batch
/// first. So the hot path talks to SQLite directly, in multi-thread mode
/// (no mutex per call: one thread uses the connection).
final class WriteConnection {
    let handle: OpaquePointer
    private var isOpen = true

    /// Opens an existing database (GRDB created it) read-write.
    init(path: String, busyTimeoutMilliseconds: Int32) throws(SQLiteFailure) {
        var opened: OpaquePointer?
        let code = sqlite3_open_v2(path, &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let opened else {
            let failure = SQLiteFailure(code: code, message: opened.map { String(cString: sqlite3_errmsg($0)) })
            sqlite3_close(opened)
            throw failure
        }
        handle = opened
        // A person running a DELETE by hand holds the write lock briefly:
        // wait for it rather than fail (and drop) the batch.
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        // An open transaction is rolled back, as a crash would leave it.
        if isOpen { sqlite3_close_v2(handle) }
    }

    /// Closes the connection; every statement must be finalized before.
    func close() throws(SQLiteFailure) {
        guard isOpen else { return }
        try check(sqlite3_close(handle))
        isOpen = false
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SQLiteFailure) {
        try check(sqlite3_exec(handle, sql, nil, nil, nil))
    }

    /// Whether a transaction is open (SQLite rolls one back by itself after some errors).
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// A prepared statement, kept for the connection's life; the caller finalizes it.
    func prepare(_ sql: String) throws(SQLiteFailure) -> OpaquePointer {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw failure(code) }
        return statement
    }

    /// The value of `PRAGMA name` as text.
    func pragma(_ name: String) throws(SQLiteFailure) -> String? {
        let statement = try prepare("PRAGMA \(name)")
        defer { sqlite3_finalize(statement) }
        let stepped = sqlite3_step(statement)
        guard stepped == SQLITE_ROW else {
            if stepped == SQLITE_DONE { return nil }
            throw failure(stepped)
        }
        return sqlite3_column_text(statement, 0).map { String(cString: $0) }
    }

    func check(_ code: Int32) throws(SQLiteFailure) {
        guard code == SQLITE_OK else { throw failure(code) }
    }

    /// The connection's last error, in SQLite's own words.
    func failure(_ code: Int32) -> SQLiteFailure {
        SQLiteFailure(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }
}

/// A result code SQLite returned, and its message ("database or disk is full").
struct SQLiteFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String?
    var description: String { message ?? String(cString: sqlite3_errstr(code)) }
}
