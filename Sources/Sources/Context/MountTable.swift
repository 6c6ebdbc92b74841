#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import FSProbeCore

/// Finds the mount an event's mount id names, from the kernel's mount
/// tables (`/proc/PID/mountinfo`).
///
/// Mount ids are global, but a mount belongs to one mount namespace and is
/// listed only in that namespace's table. Events of processes in fsprobe's
/// own namespace are answered from `/proc/self/mountinfo`, kept whole in a
/// dictionary; events of processes elsewhere (containers) from their
/// `/proc/PID/mountinfo`, whose entries go into a bounded LRU keyed by mount
/// id, since the pids that let us read a namespace's table die.
///
/// The tables are reread lazily, on a lookup they cannot answer: an id they
/// do not hold, or one they hold for another device (the kernel frees ids
/// and gives them to new mounts). Rereads are bounded, so that a stream of
/// events on a mount in no table (lazily unmounted) does not reread per
/// event:
///
/// - Our own table is reread only when the kernel says it changed. An open
///   `/proc/self/mountinfo` polls POLLPRI|POLLERR once the namespace's mount
///   table changed since the last poll (proc_pid_mountinfo(5)): one cheap
///   syscall tells whether rereading could give another answer, so a miss
///   costs a poll, never a reread, while nothing changed, and a new mount is
///   found on its first event, never after a delay. (A timer per missing id
///   would do both worse.) A hit polls too, at most once per
///   `changeCheckInterval`: an id and a device can both be reused (both
///   come from "lowest free" allocators), which only the table tells.
/// - Another namespace's table cannot be polled without an open file per
///   namespace, so there time bounds it: at most one read per (pid, mount
///   id) per 100 ms, at most `maxForeignReadsPerSecond` in all (a process
///   in its own user and mount namespaces can make mounts, and so misses,
///   as fast as it likes), and entries older than `foreignEntryLifetime`
///   are checked against the table again.
///
/// Not thread-safe: one per event source, used on its thread. A hit
/// allocates nothing.
public final class MountTable {
    /// Calls to `info`.
    public private(set) var lookups: UInt64 = 0
    /// Mount tables read to answer a lookup (the first read, at init, is
    /// not counted).
    public private(set) var rereads: UInt64 = 0
    /// Lookups answered nil.
    public private(set) var misses: UInt64 = 0

    public static let defaultForeignCapacity = 4096
    static let defaultChangeCheckInterval: UInt64 = 1_000_000_000
    static let foreignRetryInterval: UInt64 = 100_000_000
    static let foreignEntryLifetime: UInt64 = 5_000_000_000
    static let maxForeignReadsPerSecond = 100

    private let procRoot: String
    private let now: () -> UInt64
    private let changeCheckInterval: UInt64
    private var reader = TableReader()

    private var local: [UInt32: MountInfo] = [:]
    private var localFile: ChangeSignallingFile
    /// Monotonic time from which a hit checks the table for changes again.
    private var nextChangeCheck: UInt64 = 0

    private var foreign: LRUCache<UInt32, ForeignEntry>
    private var foreignAttempts: LRUCache<ForeignAttempt, UInt64>
    private var foreignBudget = ReadBudget(perSecond: MountTable.maxForeignReadsPerSecond)

    /// Reads fsprobe's own mount table now, so that a later mount is found
    /// by a reread.
    public convenience init(foreignCapacity: Int = MountTable.defaultForeignCapacity) {
        self.init(procRoot: "/proc", foreignCapacity: foreignCapacity)
    }

    /// - Parameters:
    ///   - procRoot: where `self/mountinfo` and `PID/mountinfo` are (tests
    ///     point it at plain files, which never signal a change).
    ///   - changeCheckInterval: nanoseconds between a hit's checks for a
    ///     changed table (0: every hit).
    ///   - now: a monotonic clock, in nanoseconds.
    init(procRoot: String, foreignCapacity: Int = MountTable.defaultForeignCapacity,
         changeCheckInterval: UInt64 = MountTable.defaultChangeCheckInterval,
         now: @escaping () -> UInt64 = { UInt64(BootClock.now(CLOCK_MONOTONIC)) }) {
        self.procRoot = procRoot
        self.now = now
        self.changeCheckInterval = changeCheckInterval
        self.foreign = LRUCache(capacity: foreignCapacity)
        self.foreignAttempts = LRUCache(capacity: min(foreignCapacity, 1024))
        // Opened before the first read: a change after it is signalled.
        self.localFile = ChangeSignallingFile(path: procRoot + "/self/mountinfo")
        if readLocal() { nextChangeCheck = now() &+ changeCheckInterval }
    }

    deinit { localFile.closeDescriptor() }

    /// The mount `mountID` names.
    ///
    /// - Parameters:
    ///   - device: the event's superblock device (kernel encoding); 0 if
    ///     unknown, which any entry matches.
    ///   - pid: the event's process, whose table is read when
    ///     `foreignNamespace` is true.
    ///   - foreignNamespace: the process is in another mount namespace than
    ///     fsprobe.
    /// - Returns: nil when no table lists the id (for that device), when
    ///   the process exited before its table could be read, or when another
    ///   namespace's table may not be read again yet (see the type's notes).
    public func info(mountID: UInt32, device: UInt32, pid: UInt32, foreignNamespace: Bool) -> MountInfo? {
        lookups &+= 1
        let found = foreignNamespace
            ? foreignInfo(mountID: mountID, device: device, pid: pid)
            : localInfo(mountID: mountID, device: device)
        if found == nil { misses &+= 1 }
        return found
    }

    // MARK: fsprobe's own namespace

    private func localInfo(mountID: UInt32, device: UInt32) -> MountInfo? {
        let time = now()
        if let cached = local[mountID], cached.matches(device) {
            guard time >= nextChangeCheck else { return cached }
            nextChangeCheck = time &+ changeCheckInterval
            guard localFile.hasChanged() else { return cached }
        } else {
            // Absent, or the id now names another mount: a reread helps
            // only if the table changed since it was read.
            guard localFile.hasChanged() else { return nil }
            nextChangeCheck = time &+ changeCheckInterval
        }
        rereads &+= 1
        _ = readLocal()
        return local[mountID].flatMap { $0.matches(device) ? $0 : nil }
    }

    /// Replaces the local table with the file's contents; keeps it, and
    /// marks the file changed so the next miss tries again, on failure.
    private func readLocal() -> Bool {
        guard let fd = localFile.rewound() else {
            localFile.markChanged()
            return false
        }
        let previous = local
        var fresh: [UInt32: MountInfo] = [:]
        fresh.reserveCapacity(previous.count)
        let read = reader.readAll(fd) { contents in
            Self.parseTable(contents) { line in
                fresh[line.mountID] = line.sharedInfo(reusing: previous[line.mountID])
            }
        }
        guard read else {
            localFile.markChanged()
            return false
        }
        local = fresh
        return true
    }

    // MARK: other namespaces

    private struct ForeignEntry {
        var info: MountInfo
        /// When a table last listed it (monotonic nanoseconds).
        var confirmed: UInt64
    }

    private struct ForeignAttempt: Hashable {
        var pid: UInt32
        var mountID: UInt32
    }

    private func foreignInfo(mountID: UInt32, device: UInt32, pid: UInt32) -> MountInfo? {
        let time = now()
        let cached = foreign.get(mountID)
        // An aged entry is still the best answer when its table cannot be
        // read again now (throttled, or the process is gone).
        let fallback = cached.flatMap { $0.info.matches(device) ? $0.info : nil }
        if let fallback, let cached, time &- cached.confirmed < Self.foreignEntryLifetime { return fallback }

        let attempt = ForeignAttempt(pid: pid, mountID: mountID)
        if let last = foreignAttempts.peek(attempt), time &- last < Self.foreignRetryInterval { return fallback }
        guard foreignBudget.take(at: time) else { return fallback }
        foreignAttempts.put(attempt, time)
        guard readForeign(pid: pid, wanting: mountID, at: time) else { return fallback }
        rereads &+= 1
        return foreign.peek(mountID).flatMap { $0.info.matches(device) ? $0.info : nil }
    }

    /// Puts every mount of `pid`'s table in the foreign cache, `wanted`
    /// last so that a table larger than the cache cannot evict it.
    private func readForeign(pid: UInt32, wanting wanted: UInt32, at time: UInt64) -> Bool {
        let fd = open(procRoot + "/\(pid)/mountinfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var wantedEntry: ForeignEntry?
        let read = reader.readAll(fd) { contents in
            Self.parseTable(contents) { line in
                let entry = ForeignEntry(info: line.sharedInfo(reusing: foreign.peek(line.mountID)?.info),
                                         confirmed: time)
                if line.mountID == wanted { wantedEntry = entry } else { foreign.put(line.mountID, entry) }
            }
        }
        if let wantedEntry { foreign.put(wanted, wantedEntry) }
        return read
    }

    /// At most `perSecond` reads in any one-second window.
    private struct ReadBudget {
        let perSecond: Int
        private var windowStart: UInt64 = 0
        private var used = 0

        init(perSecond: Int) { self.perSecond = perSecond }

        mutating func take(at time: UInt64) -> Bool {
            if time &- windowStart >= 1_000_000_000 {
                windowStart = time
                used = 0
            }
            guard used < perSecond else { return false }
            used += 1
            return true
        }
    }
}

extension MountInfo {
    /// Whether it can be the mount of an event on `device` (0: unknown).
    fileprivate func matches(_ device: UInt32) -> Bool {
        device == 0 || device == self.device
    }
}

// MARK: - Reading tables

extension MountTable {
    /// An open mount table whose poll(2) tells that the table changed.
    private struct ChangeSignallingFile {
        let path: String
        private var fd: Int32
        /// A change seen (or a read failed) and not yet followed by a reread.
        private var pendingChange = false

        init(path: String) {
            self.path = path
            fd = open(path, O_RDONLY | O_CLOEXEC)
        }

        /// Whether the table changed since this was last asked (or opened).
        /// Asking consumes the kernel's signal: read the table after.
        mutating func hasChanged() -> Bool {
            if pendingChange { return true }
            guard fd >= 0 else {
                // Never opened (no /proc yet?): opening it is the change.
                fd = open(path, O_RDONLY | O_CLOEXEC)
                return fd >= 0
            }
            var request = pollfd(fd: fd, events: Int16(POLLPRI), revents: 0)
            guard poll(&request, 1, 0) >= 0 else { return true }
            return request.revents & Int16(POLLPRI | POLLERR | POLLNVAL) != 0
        }

        mutating func markChanged() { pendingChange = true }

        /// The descriptor, at the start of the table, for a reread.
        mutating func rewound() -> Int32? {
            guard fd >= 0, lseek(fd, 0, SEEK_SET) == 0 else { return nil }
            pendingChange = false
            return fd
        }

        mutating func closeDescriptor() {
            if fd >= 0 { _ = close(fd) }
            fd = -1
        }
    }

    /// Reads whole files with read(2) into one buffer kept between reads:
    /// /proc files have no size to ask, and tables with thousands of
    /// mounts are hundreds of kilobytes.
    struct TableReader {
        /// Beyond this a table is cut at its last whole line: a namespace's
        /// owner decides how many mounts it has (up to fs.mount-max).
        static let maxBytes = 16 << 20
        private var buffer = [UInt8](repeating: 0, count: 64 << 10)

        /// Calls `body` with everything from `fd`'s offset to its end.
        /// False, without calling it, if a read fails.
        mutating func readAll(_ fd: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
            var used = 0
            var truncated = false
            while true {
                if used == buffer.count {
                    guard buffer.count < Self.maxBytes else {
                        truncated = true
                        break
                    }
                    buffer.append(contentsOf: repeatElement(0, count: buffer.count))
                }
                let count = buffer.withUnsafeMutableBytes { bytes in
                    read(fd, bytes.baseAddress! + used, bytes.count - used)
                }
                if count > 0 {
                    used += count
                } else if count == 0 {
                    break
                } else if errno != EINTR {
                    return false
                }
            }
            buffer.withUnsafeBufferPointer { all in
                var end = used
                if truncated { end = all[..<used].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0 }
                body(UnsafeBufferPointer(rebasing: all[..<end]))
            }
            return true
        }
    }
}

// MARK: - Parsing mountinfo

extension MountTable {
    /// What fsprobe keeps of one mountinfo line.
    struct Line: Equatable {
        var mountID: UInt32
        /// Kernel encoding (major << 20 | minor).
        var device: UInt32
        /// Unescaped, raw bytes.
        var mountPoint: [UInt8]
        var fsType: String
        /// Whether it mounts its file system's root (root field `/`), not
        /// a directory inside it (a bind mount of a part).
        var mountsFileSystemRoot: Bool

        /// `previous` if it describes the same mount, so events keep
        /// sharing one instance across rereads; a new MountInfo otherwise.
        func sharedInfo(reusing previous: MountInfo?) -> MountInfo {
            if let previous, previous.mountID == mountID, previous.device == device,
               previous.fsType == fsType, previous.mountPoint == mountPoint {
                return previous
            }
            return MountInfo(mountID: mountID, device: device, mountPoint: mountPoint, fsType: fsType)
        }
    }

    /// Calls `body` with each well-formed line of a mountinfo table;
    /// malformed lines are skipped.
    static func parseTable(_ table: UnsafeBufferPointer<UInt8>, _ body: (Line) -> Void) {
        var start = 0
        while start < table.count {
            let end = table[start...].firstIndex(of: UInt8(ascii: "\n")) ?? table.count
            if let line = parseLine(UnsafeBufferPointer(rebasing: table[start..<end])) { body(line) }
            start = end + 1
        }
    }

    static func parseTable(_ table: [UInt8]) -> [Line] {
        var lines: [Line] = []
        table.withUnsafeBufferPointer { parseTable($0) { lines.append($0) } }
        return lines
    }

    /// One line, without its newline:
    /// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
    /// (mount id, parent id, major:minor, root, mount point, options,
    /// optional fields up to a lone "-", fs type, source, superblock options).
    static func parseLine(_ line: UnsafeBufferPointer<UInt8>) -> Line? {
        var fields = Fields(line)
        guard let mountID = fields.next().flatMap(decimal),
              fields.next().flatMap(decimal) != nil,  // parent id
              let device = fields.next().flatMap(device),
              let root = fields.next(),  // root of the mount within its file system
              let mountPoint = fields.next(), !mountPoint.isEmpty,
              fields.next() != nil  // mount options
        else { return nil }
        while true {  // optional fields (shared:N, master:N…), ended by "-"
            guard let field = fields.next() else { return nil }
            if field.count == 1 && field.first == UInt8(ascii: "-") { break }
        }
        guard let fsType = fields.next(), !fsType.isEmpty else { return nil }
        return Line(mountID: mountID, device: device, mountPoint: unescape(mountPoint),
                    fsType: String(decoding: unescape(fsType), as: UTF8.self),
                    mountsFileSystemRoot: root.count == 1 && root.first == UInt8(ascii: "/"))
    }

    /// Space-separated fields (the kernel escapes spaces inside them).
    private struct Fields {
        let line: UnsafeBufferPointer<UInt8>
        var position = 0

        init(_ line: UnsafeBufferPointer<UInt8>) { self.line = line }

        mutating func next() -> Slice<UnsafeBufferPointer<UInt8>>? {
            guard position < line.count else { return nil }
            let end = line[position...].firstIndex(of: UInt8(ascii: " ")) ?? line.count
            defer { position = end + 1 }
            return line[position..<end]
        }
    }

    private static func decimal(_ field: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32? {
        guard !field.isEmpty else { return nil }
        var value: UInt32 = 0
        for byte in field {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt32(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// "major:minor" → major << 20 | minor.
    private static func device(_ field: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32? {
        guard let colon = field.firstIndex(of: UInt8(ascii: ":")),
              let major = decimal(field[..<colon]),
              let minor = decimal(field[(colon + 1)...])
        else { return nil }
        return DeviceNumber.make(major: major, minor: minor)
    }

    /// Undoes the kernel's escaping (seq_escape: `\ooo`, three octal
    /// digits, for space, tab, newline and backslash). Anything else is
    /// kept as it is, bytes that are not UTF-8 included.
    static func unescape(_ field: Slice<UnsafeBufferPointer<UInt8>>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(field.count)
        var index = field.startIndex
        while index < field.endIndex {
            if field[index] == UInt8(ascii: "\\"), field.endIndex - index >= 4,
               let value = octalByte(field[index + 1], field[index + 2], field[index + 3]) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(field[index])
                index += 1
            }
        }
        return bytes
    }

    private static func octalByte(_ high: UInt8, _ middle: UInt8, _ low: UInt8) -> UInt8? {
        let zero = UInt8(ascii: "0")
        guard (zero...zero + 3).contains(high), (zero...zero + 7).contains(middle), (zero...zero + 7).contains(low)
        else { return nil }
        return (high - zero) << 6 | (middle - zero) << 3 | (low - zero)
    }
}
