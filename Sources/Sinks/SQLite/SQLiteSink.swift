#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore
import FSProbePipeline
import GRDB
import Synchronization

/// Stores events in a SQLite database (`type: sqlite`; schema and queries in
/// docs/sqlite.md).
///
/// `write` appends the event to the batch in memory; the batch is inserted
/// and committed as one transaction when it holds `batchSize` events and on
/// every `flush()` (which the pipeline calls whenever the sink's buffer runs
/// empty): one commit per burst, not per event, and never more than
/// `batchSize` events in a transaction. The INSERTs of a batch run in one
/// GRDB access rather than one per `write`, because each access hops through
/// a dispatch queue, which on Linux allocates; the transaction holds the
/// same events either way.
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

    private var database: DatabaseQueue?
    private var insert: EventInsert?
    /// Events accepted since the last commit, in order. Its capacity is kept,
    /// so appending copies the event (and retains its names) without allocating.
    private var batch: [FileEvent] = []
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
        // Not all of a huge batch_size up front: the array grows to what
        // bursts need once, then keeps that capacity.
        batch.reserveCapacity(min(options.batchSize, 4096))

        try Self.createPrivateFile(path)
        do {
            let queue = try DatabaseQueue(path: path, configuration: Self.configuration())
            try queue.writeWithoutTransaction { db in
                // After GRDB's WAL setup, which sets synchronous NORMAL itself.
                try db.execute(sql: options.synchronous == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                try db.execute(sql: Self.tuning)
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
            insert = try queue.writeWithoutTransaction { try EventInsert($0) }
            database = queue
        } catch let error as SinkError {
            throw error
        } catch {
            throw SinkError.databaseFailed(path: path, action: "open", reason: Self.reason(error))
        }
    }

    deinit {
        // An unfinalized statement would keep the connection from closing.
        insert = nil
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
        guard database != nil else {
            throw SinkError.databaseFailed(path: path, action: "write to", reason: "the sink is closed")
        }
        batch.append(event)
        guard batch.count >= options.batchSize else { return }
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
        guard let database else { return }
        var failure: Error? = deferredError
        deferredError = nil
        do {
            try commitBatch()
            try removeExpiredEvents(force: true)
        } catch {
            failure = failure ?? error
        }
        insert = nil  // finalized before the connection closes, or SQLite refuses to close
        self.database = nil
        do {
            try database.close()
        } catch {
            failure = failure ?? Self.wrap(error, path: path, action: "close")
        }
        if let failure { throw counted(failure) }
    }

    /// The value of a PRAGMA on the sink's own connection (for tests:
    /// `synchronous` is per connection).
    func pragma(_ name: String) throws -> String? {
        try database?.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA \(name)") }
    }

    // MARK: - Transactions and retention

    /// Inserts the batch in one transaction (BEGIN IMMEDIATE ... COMMIT;
    /// rolled back whole if anything fails) and empties it either way,
    /// counting a failed batch as undelivered.
    private func commitBatch() throws {
        guard !batch.isEmpty, let database, let insert else { return }
        defer { batch.removeAll(keepingCapacity: true) }
        var ignored: UInt64 = 0
        do {
            try database.writeWithoutTransaction { db in
                // Until COMMIT writes its commit frame, nothing of this batch
                // exists for readers or for the next open, whatever happens here.
                try db.inTransaction(.immediate) {
                    for index in batch.indices where try !insert.run(batch[index]) { ignored += 1 }
                    return .commit
                }
            }
            count.confirm(batch.count)
            if ignored > 0 { duplicates.add(ignored, ordering: .relaxed) }
        } catch {
            count.lose(batch.count)
            notStoredSinceReport += batch.count
            throw SinkError.databaseFailed(path: path, action: "write to", reason: Self.reason(error))
        }
    }

    /// Deletes events older than the retention period, in a transaction of
    /// its own (one DELETE statement) between batches, at most once per
    /// `retentionInterval` unless `force`d.
    private func removeExpiredEvents(force: Bool = false) throws {
        guard let retentionNanoseconds, let database else { return }
        let now = clock().nanosecondsSinceEpoch
        // A clock set back (now < last) must not postpone retention for long.
        if !force, let last = lastRetention, now >= last, now - last < Self.nanoseconds(Self.retentionInterval) {
            return
        }
        lastRetention = now
        let (cutoff, overflow) = now.subtractingReportingOverflow(retentionNanoseconds)
        do {
            try database.writeWithoutTransaction { db in
                try db.cachedStatement(sql: SQLiteSchema.retentionSQL).execute(arguments: [overflow ? Int64.min : cutoff])
            }
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

    private static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.label = "fsprobe.sqlite"
        configuration.journalMode = .wal
        // Someone running a DELETE by hand holds the write lock briefly: wait
        // for it rather than fail (and drop) the batch.
        configuration.busyMode = .timeout(5)
        return configuration
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
        return "\(error)"
    }
}

/// `close(2)`, named so the sink's own `close()` does not shadow it.
private func closeFile(_ fd: Int32) -> Int32 {
    close(fd)
}
