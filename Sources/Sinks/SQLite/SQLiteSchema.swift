import FSProbeCore
import GRDB

/// The `events` table and its indexes, created and evolved by GRDB's
/// `DatabaseMigrator`, which records applied migrations in `grdb_migrations`:
/// reopening a database applies only what is missing, and a later schema
/// change is a new migration ("v2"...), never an edit of "v1".
///
/// Columns carry the JSON field names and types of `EventField.schema`
/// (see docs/sqlite.md), with these deliberate differences:
/// - `timestamp` is INTEGER nanoseconds since the epoch, not RFC 3339 text:
///   8 bytes instead of 30, exact, and time ranges are integer comparisons
///   on an index.
/// - File names and `comm` are TEXT, plus a `*_raw` BLOB holding the exact
///   bytes only when they are not valid UTF-8 (the JSON `*_raw` rule): text
///   keeps `= '/etc/passwd'`, `LIKE` and the shell readable, the BLOB keeps
///   the name lossless. The TEXT of such a name shows each invalid byte as
///   U+FFFD, as the JSON output does.
/// - `target_*` columns are NULL for events without a second path (JSON
///   writes "" and 0): NULL is SQL's "not applicable", and it keeps the
///   partial index on `target_filename` small.
/// - Only `timestamp` is NOT NULL: any other column is NULL when a `fields`
///   transform removed its field (see `EventInsert`).
enum SQLiteSchema {
    static let table = "events"

    /// Inserts `rows` events: every field of the schema
    /// (`EventField.schema`), in field order, per row; row `r`'s parameters
    /// follow row `r - 1`'s. A row whose timestamp is left NULL (unbound)
    /// inserts nothing, so one statement also serves a batch's last, shorter
    /// run of rows. (`id`, the rowid, is assigned by SQLite, in row order.)
    static func insertSQL(rows: Int) -> String {
        let columns = EventField.allCases.map(\.schema.column).joined(separator: ", ")
        let row = "(" + Array(repeating: "?", count: EventField.allCases.count).joined(separator: ", ") + ")"
        let values = Array(repeating: row, count: rows).joined(separator: ", ")
        // VALUES names its columns column1, column2...
        let timestamp = "column\(EventField.timestamp.rawValue + 1)"
        // An id already stored is a retry or a replay (every hop before is
        // at least once): the row stays as it is, the insert does nothing.
        // (The WHERE also keeps SQLite from reading ON CONFLICT as a join's.)
        return "INSERT INTO \(table) (\(columns)) SELECT * FROM (VALUES \(values)) WHERE \(timestamp) IS NOT NULL "
            + "ON CONFLICT (event_id) DO NOTHING"
    }

    /// Uses `events_by_time`; one statement, so SQLite runs it as its own transaction.
    static let retentionSQL = "DELETE FROM \(table) WHERE timestamp < ?"

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Integers are SQLite's signed 64-bit: u32 fields fit as they are;
            // an inode above 2^63-1 is stored as its bit pattern (negative).
            try db.execute(sql: """
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY,
                    event_type TEXT,
                    timestamp INTEGER NOT NULL,
                    pid INTEGER,
                    tid INTEGER,
                    uid INTEGER,
                    gid INTEGER,
                    comm TEXT,
                    comm_raw BLOB,
                    flags INTEGER,
                    mode INTEGER,
                    src_inode INTEGER,
                    src_filename TEXT,
                    src_filename_raw BLOB,
                    src_mount_id INTEGER,
                    target_inode INTEGER,
                    target_filename TEXT,
                    target_filename_raw BLOB,
                    target_mount_id INTEGER,
                    retval INTEGER,
                    error TEXT,
                    backend TEXT,
                    src_path_truncated INTEGER,
                    src_path_from_caller INTEGER,
                    target_path_truncated INTEGER,
                    target_path_from_caller INTEGER
                );
                -- "What touched PATH since T": equality on the name, range on the time.
                CREATE INDEX events_by_src_time ON events (src_filename, timestamp);
                CREATE INDEX events_by_target_time ON events (target_filename, timestamp)
                    WHERE target_filename IS NOT NULL;
                -- Time ranges alone, and the retention delete.
                CREATE INDEX events_by_time ON events (timestamp);
                """)
        }
        // The path flags and views of dentry resolution; NULL in rows stored before.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN src_path_deleted INTEGER;
                ALTER TABLE events ADD COLUMN src_path_detached INTEGER;
                ALTER TABLE events ADD COLUMN src_path_foreign_mount_ns INTEGER;
                ALTER TABLE events ADD COLUMN src_process_path TEXT;
                ALTER TABLE events ADD COLUMN target_path_deleted INTEGER;
                ALTER TABLE events ADD COLUMN target_path_detached INTEGER;
                ALTER TABLE events ADD COLUMN target_path_foreign_mount_ns INTEGER;
                ALTER TABLE events ADD COLUMN target_process_path TEXT;
                """)
        }
        // The process, container and object context; NULL in rows stored
        // before. The JSON's `user`, `group`, `euser`, `egroup` are
        // `user_name`, `group_name`, `euser_name`, `egroup_name`: GROUP is
        // an SQL keyword, and one naming rule for the four.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN ppid INTEGER;
                ALTER TABLE events ADD COLUMN process_start_time INTEGER;
                ALTER TABLE events ADD COLUMN exe TEXT;
                ALTER TABLE events ADD COLUMN exe_raw BLOB;
                ALTER TABLE events ADD COLUMN loginuid INTEGER;
                ALTER TABLE events ADD COLUMN sessionid INTEGER;
                ALTER TABLE events ADD COLUMN euid INTEGER;
                ALTER TABLE events ADD COLUMN egid INTEGER;
                ALTER TABLE events ADD COLUMN user_name TEXT;
                ALTER TABLE events ADD COLUMN group_name TEXT;
                ALTER TABLE events ADD COLUMN euser_name TEXT;
                ALTER TABLE events ADD COLUMN egroup_name TEXT;
                ALTER TABLE events ADD COLUMN cgroup_id INTEGER;
                ALTER TABLE events ADD COLUMN cgroup_path TEXT;
                ALTER TABLE events ADD COLUMN container_id TEXT;
                ALTER TABLE events ADD COLUMN container_runtime TEXT;
                ALTER TABLE events ADD COLUMN mnt_ns INTEGER;
                ALTER TABLE events ADD COLUMN pid_ns INTEGER;
                ALTER TABLE events ADD COLUMN user_ns INTEGER;
                ALTER TABLE events ADD COLUMN src_device TEXT;
                ALTER TABLE events ADD COLUMN src_file_type TEXT;
                ALTER TABLE events ADD COLUMN src_nlink INTEGER;
                ALTER TABLE events ADD COLUMN src_mount_point TEXT;
                ALTER TABLE events ADD COLUMN src_fstype TEXT;
                ALTER TABLE events ADD COLUMN target_device TEXT;
                ALTER TABLE events ADD COLUMN target_file_type TEXT;
                ALTER TABLE events ADD COLUMN target_nlink INTEGER;
                ALTER TABLE events ADD COLUMN target_mount_point TEXT;
                ALTER TABLE events ADD COLUMN target_fstype TEXT;
                ALTER TABLE events ADD COLUMN flag_names TEXT;
                ALTER TABLE events ADD COLUMN setattr TEXT;
                ALTER TABLE events ADD COLUMN modify_bytes INTEGER;
                -- "What did container C touch since T"; the host's rows ('') stay out of it.
                CREATE INDEX events_by_container_time ON events (container_id, timestamp)
                    WHERE container_id != '';
                """)
        }
        // Event identity: one row per id, whatever retried; rows stored
        // before, and events without an origin, have NULL ids, which a
        // unique index never confuses.
        migrator.registerMigration("v4") { db in
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN event_id TEXT;
                ALTER TABLE events ADD COLUMN host TEXT;
                CREATE UNIQUE INDEX events_by_event_id ON events (event_id);
                """)
        }
        return migrator
    }()

    /// Adds the column of every schema field the table lacks, as its kind
    /// says (NULL in the rows stored before), after the migrations: a field
    /// added to `EventField` needs no migration of its own. Renaming or
    /// dropping a column still does.
    static func addMissingColumns(_ db: Database) throws {
        let present = Set(try db.columns(in: table).map(\.name))
        for field in EventField.allCases where !present.contains(field.schema.column) {
            try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(field.schema.column) \(field.schema.kind.sqliteType)")
        }
    }
}
