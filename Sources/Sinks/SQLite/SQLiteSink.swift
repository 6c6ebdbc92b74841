#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore
import FSProbePipeline
import CSQLiteShim
import GRDB
import GRDBSQLite
import Synchronization

/// Stores events in a SQLite database (`type: sqlite`; schema and queries in
/// docs/sqlite.md).
///
/// `write` inserts the event into the open transaction (opening one for
/// the first event of a batch); the transaction is committed when it holds
/// `batchSize` events and on every `flush()` (which the pipeline calls
/// whenever the sink's buffer runs empty): one commit per burst, not per
/// event, and never more than `batchSize` events in a transaction. An
/// insert that fails rolls the whole open transaction back: the events
/// before it in the batch are counted as not stored with it, and the next
/// event starts a new batch.
///
/// GRDB creates and migrates the schema; the inserts go through a
/// connection of the sink's own (`WriteConnection`), because a GRDB access
/// cannot stay open between `write` calls, and batching events for one
/// access would copy every event once more.
///
/// Crash safety comes from SQLite, in WAL mode: a commit appends the batch's
/// pages to the -wal file and marks the last one as a commit. Pages written
/// without that mark (a batch interrupted by kill -9, a crash, the OOM
/// killer) are ignored by readers and discarded when the database is next
/// opened, so the file always holds exactly the committed batches: never half
/// a batch, never a corrupt database. Events not yet committed are lost with
/// the process, as with any buffered output. `synchronous: normal` skips the
/// fsync per commit (a killed process loses nothing committed, the kernel
/// still holds the pages; a power loss may lose the last commits, not
/// consistency); `full` fsyncs every commit.
///
/// WAL also lets readers (the sqlite3 shell, scripts) query while the sink
/// writes, seeing the last commit without blocking it.
///
/// Called from one thread (see `EventSink`), hence `@unchecked Sendable`
/// and no locking of its own; only its counts are read from elsewhere.
public final class SQLiteSink: EventSink, @unchecked Sendable {
    /// Wall-clock time: what retention compares event timestamps with.
    public typealias Clock = @Sendable () -> EventTimestamp

    public let name: String
    public let path: String
    public let options: SQLiteSinkOptions

    private var connection: WriteConnection?
    private var insert: EventInsert?
    /// The retention DELETE, prepared once (when there is a retention).
    private var retention: OpaquePointer?
    /// Events inserted into the open transaction, not committed yet.
    private var pending = 0
    /// Of those, events whose id the table already held.
    private var pendingDuplicates: UInt64 = 0
    private let clock: Clock
    private let retentionNanoseconds: Int64?
    /// When retention last ran (clock time); nil until it first runs.
    private var lastRetention: Int64?
    /// The first failure met inside `write`, which `flush` reports: `write`
    /// throws only for its own event, and a failed batch is many events.
    private var deferredError: SinkError?
    /// Events of the batches that failed since the last error was reported:
    /// the report says how many, not just the first batch's.
    private var notStoredSinceReport = 0
    /// Events committed, and events of batches that failed to commit.
    private let count = SinkDeliveryCount()
    private let duplicates = Atomic<UInt64>(0)

    /// Retention runs at most this often, so a busy sink does not search the
    /// time index after every batch.
    public static let retentionInterval: Duration = .seconds(60)

    /// Opens (creating if needed, mode 0600) and migrates the database.
    /// - Throws: `SinkError.cannotOpen` when the file cannot be created or
    ///   opened, `SinkError.databaseFailed` when SQLite refuses it (not a
    ///   database, written by a newer fsprobe...); both name the path.
    /// - Parameter name: how statistics and errors name the sink (default: the path).
    /// - Parameter clock: the wall clock retention uses (tests pass their own).
    public init(options: SQLiteSinkOptions, name: String? = nil, clock: @escaping Clock = SQLiteSink.systemClock) throws {
        self.options = options
        self.path = options.path
        self.name = name ?? options.path
        self.clock = clock
        self.retentionNanoseconds = options.retention.map(Self.nanoseconds)
        _ = Self.disableMemoryStatistics

        try Self.createPrivateFile(path)
        do {
            try Self.migrate(path)
            let connection = try WriteConnection(path: path, busyTimeoutMilliseconds: Self.busyTimeoutMilliseconds)
            try connection.execute(options.synchronous == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            try connection.execute(Self.tuning)
            insert = try EventInsert(connection)
            if retentionNanoseconds != nil { retention = try connection.prepare(SQLiteSchema.retentionSQL) }
            self.connection = connection
        } catch let error as SinkError {
            throw error
        } catch {
            throw SinkError.databaseFailed(path: path, action: "open", reason: Self.reason(error))
        }
    }

    deinit {
        // Statements before the connection, which rolls back an open batch.
        insert = nil
        sqlite3_finalize(retention)
    }

    /// Events of batches that failed to commit after `write` accepted them.
    public var undelivered: UInt64 { count.lost }
    /// Events committed: a batch counts once its COMMIT returned.
    public var confirmed: UInt64? { count.confirmed }
    /// Events of committed batches whose id the table already held (a
    /// replay, a retried message), left as they were: counted in
    /// `confirmed` too, since the archive holds them.
    public var duplicatesIgnored: UInt64 { duplicates.load(ordering: .relaxed) }
    /// The database file (its WAL and shared-memory files sit beside it).
    public var outputPaths: [String] { [path] }

    public func write(_ event: FileEvent) throws {
        guard let connection, let insert else {
            throw SinkError.databaseFailed(path: path, action: "write to", reason: "the sink is closed")
        }
        do {
            // Until COMMIT writes its commit frame, nothing of this batch
            // exists for readers or for the next open, whatever happens here.
            if pending == 0 { try connection.execute("BEGIN IMMEDIATE") }
            pendingDuplicates += try insert.add(event)
            pending += 1
        } catch {
            pending += 1  // this event is lost with the batch
            abandonBatch()
            deferredError = deferredError ?? Self.wrap(error, path: path, action: "write to")
            return
        }
        guard pending >= options.batchSize else { return }
        do {
            try commitBatch()
            try removeExpiredEvents()
        } catch {
            deferredError = deferredError ?? Self.wrap(error, path: path, action: "write to")
        }
    }

    /// Commits the batch, applies retention when due, and reports the first
    /// failure since the last `flush`.
    public func flush() throws {
        var failure = deferredError
        deferredError = nil
        do {
            try commitBatch()
            try removeExpiredEvents()
        } catch {
            failure = failure ?? Self.wrap(error, path: path, action: "write to")
        }
        if let failure { throw counted(failure) }
    }

    /// failure, saying how many events failed batches lost since the last report.
    private func counted(_ failure: Error) -> Error {
        defer { notStoredSinceReport = 0 }
        guard notStoredSinceReport > 0, case let .databaseFailed(path, action, reason)? = failure as? SinkError else {
            return failure
        }
        return SinkError.databaseFailed(path: path, action: action, reason: reason + " (\(notStoredSinceReport) events not stored)")
    }

    /// Commits the batch, applies retention (always, once), and closes the
    /// database; the database is closed even when the commit fails.
    public func close() throws {
        guard let connection else { return }
        var failure: Error? = deferredError
        deferredError = nil
        do {
            try commitBatch()
            try removeExpiredEvents(force: true)
        } catch {
            failure = failure ?? error
        }
        insert = nil  // finalized before the connection closes, or SQLite refuses to close
        sqlite3_finalize(retention)
        retention = nil
        self.connection = nil
        do {
            try connection.close()
        } catch {
            failure = failure ?? Self.wrap(error, path: path, action: "close")
        }
        if let failure { throw counted(failure) }
    }

    /// The value of a PRAGMA on the sink's own connection (for tests:
    /// `synchronous` is per connection).
    func pragma(_ name: String) throws -> String? {
        try connection?.pragma(name)
    }

    // MARK: - Transactions and retention

    /// Commits the open batch, counting it as confirmed, or, when the
    /// commit fails, rolls it back and counts it as undelivered.
    private func commitBatch() throws {
        guard pending > 0, let connection, let insert else { return }
        do {
            pendingDuplicates += try insert.finish()
            try connection.execute("COMMIT")
        } catch {
            abandonBatch()
            throw SinkError.databaseFailed(path: path, action: "write to", reason: Self.reason(error))
        }
        count.confirm(pending)
        if pendingDuplicates > 0 { duplicates.add(pendingDuplicates, ordering: .relaxed) }
        pending = 0
        pendingDuplicates = 0
    }

    /// Rolls the open batch back (SQLite may have done so already) and
    /// counts its events as undelivered.
    private func abandonBatch() {
        insert?.discard()
        if let connection, connection.inTransaction { try? connection.execute("ROLLBACK") }
        count.lose(pending)
        notStoredSinceReport += pending
        pending = 0
        pendingDuplicates = 0
    }

    /// Deletes events older than the retention period, in a transaction of
    /// its own (one DELETE statement) between batches, at most once per
    /// `retentionInterval` unless `force`d.
    private func removeExpiredEvents(force: Bool = false) throws {
        guard let retentionNanoseconds, let connection, let retention else { return }
        let now = clock().nanosecondsSinceEpoch
        // A clock set back (now < last) must not postpone retention for long.
        if !force, let last = lastRetention, now >= last, now - last < Self.nanoseconds(Self.retentionInterval) {
            return
        }
        lastRetention = now
        let (cutoff, overflow) = now.subtractingReportingOverflow(retentionNanoseconds)
        do {
            defer { sqlite3_reset(retention) }
            try connection.check(sqlite3_bind_int64(retention, 1, overflow ? Int64.min : cutoff))
            let stepped = sqlite3_step(retention)
            guard stepped == SQLITE_DONE else { throw connection.failure(stepped) }
        } catch {
            throw Self.wrap(error, path: path, action: "delete old events from")
        }
    }

    // MARK: - Opening

    /// Each batch dirties pages all over the path index (names arrive in no
    /// order), so the defaults (2 MiB of cache, a checkpoint every 1000
    /// pages, about every batch) spend most of the time copying pages
    /// through the kernel. A 16 MiB cache and a checkpoint every 10000 pages
    /// (a WAL of about 40 MiB, cut back to 64 MiB at most afterwards) roughly
    /// doubled the rate of 1000-event batches on a 200k-event database.
    static let tuning = """
        PRAGMA cache_size = -16384;
        PRAGMA wal_autocheckpoint = 10000;
        PRAGMA journal_size_limit = 67108864;
        """

    /// SQLite's memory statistics take a process-wide mutex around each of
    /// the allocations an insert makes (about ten a row); nothing reads
    /// them. Turned off before SQLite's first use when the first sink
    /// opens; in a process that used SQLite before, SQLite keeps them.
    private static let disableMemoryStatistics: Void = { _ = csqlite_disable_memory_statistics() }()

    /// Someone running a DELETE by hand holds the write lock briefly: wait
    /// for it rather than fail (and drop) the batch.
    static let busyTimeoutMilliseconds: Int32 = 5000

    /// Creates or migrates the schema with GRDB, in WAL mode (which the
    /// file keeps), and closes GRDB's connection.
    private static func migrate(_ path: String) throws {
        var configuration = Configuration()
        configuration.label = "fsprobe.sqlite"
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(Double(busyTimeoutMilliseconds) / 1000)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            let unknown = try SQLiteSchema.migrator.appliedIdentifiers(db)
                .subtracting(SQLiteSchema.migrator.migrations)
            guard unknown.isEmpty else {
                throw SinkError.databaseFailed(
                    path: path, action: "open",
                    reason: "its schema has migrations this fsprobe does not know (\(unknown.sorted().joined(separator: ", "))); it was written by a newer version")
            }
        }
        try SQLiteSchema.migrator.migrate(queue)
        try queue.write { try SQLiteSchema.addMissingColumns($0) }
        try queue.close()
    }

    /// Creates the file 0600 before SQLite opens it, because SQLite would
    /// create it 0644 (less the umask) and events name other users' files.
    /// SQLite gives its -wal and -shm files the mode of the database file.
    /// An existing file keeps its mode.
    private static func createPrivateFile(_ path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SinkError.cannotOpen(path: path, errno: errno) }
        _ = closeFile(fd)
    }

    public static let systemClock: Clock = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return EventTimestamp(nanosecondsSinceEpoch: Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec))
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    private static func wrap(_ error: Error, path: String, action: String) -> SinkError {
        if let error = error as? SinkError { return error }
        return .databaseFailed(path: path, action: action, reason: reason(error))
    }

    /// SQLite's own words ("database or disk is full"), without GRDB's prefix.
    private static func reason(_ error: Error) -> String {
        if let error = error as? DatabaseError, let message = error.message { return message }
        if let error = error as? SQLiteFailure { return error.description }
        return "\(error)"
    }
}

/// `close(2)`, named so the sink's own `close()` does not shadow it.
private func closeFile(_ fd: Int32) -> Int32 {
    close(fd)
}
