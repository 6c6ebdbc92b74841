#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// User and group names of the ids events carry, for display.
///
/// Names come from the system's account database (getpwuid_r, getgrgid_r:
/// /etc/passwd, or NSS modules such as LDAP or sssd, which can be slow), so
/// answers are cached in bounded LRUs, "no such id" included. Every answer
/// expires after `timeToLive`: a user created, renamed or removed later is
/// seen then. A failing database (NSS server down) is cached as "no name"
/// too, so that it is not asked again on every event.
///
/// The names are whatever the database holds, chosen by whoever can write
/// it: display them only, through formatters that escape them; never use
/// them to decide anything.
///
/// Not thread-safe: one per event source, used on its thread. A hit
/// allocates nothing.
public final class AccountNames {
    public static let defaultCapacity = 1024
    public static let defaultTimeToLive: Duration = .seconds(60)

    /// Calls to `userName` and `groupName`.
    public private(set) var lookups: UInt64 = 0
    /// Lookups answered from the cache.
    public private(set) var hits: UInt64 = 0

    private var users: ExpiringNames
    private var groups: ExpiringNames
    private var database = AccountDatabase()
    private let now: () -> UInt64

    /// - Parameter capacity: ids kept, for users and for groups each.
    public convenience init(capacity: Int = AccountNames.defaultCapacity,
                            timeToLive: Duration = AccountNames.defaultTimeToLive) {
        let (seconds, attoseconds) = timeToLive.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        self.init(capacity: capacity, timeToLiveNanoseconds: UInt64(clamping: nanoseconds))
    }

    /// - Parameter now: a monotonic clock, in nanoseconds.
    init(capacity: Int, timeToLiveNanoseconds: UInt64,
         now: @escaping () -> UInt64 = { UInt64(BootClock.now(CLOCK_MONOTONIC)) }) {
        users = ExpiringNames(capacity: capacity, timeToLive: timeToLiveNanoseconds)
        groups = ExpiringNames(capacity: capacity, timeToLive: timeToLiveNanoseconds)
        self.now = now
    }

    /// The name of user `uid`; nil if there is none.
    public func userName(_ uid: UInt32) -> String? {
        name(of: uid, in: &users) { $0.userName($1) }
    }

    /// The name of group `gid`; nil if there is none.
    public func groupName(_ gid: UInt32) -> String? {
        name(of: gid, in: &groups) { $0.groupName($1) }
    }

    private func name(of id: UInt32, in cache: inout ExpiringNames,
                      _ query: (inout AccountDatabase, UInt32) -> String?) -> String? {
        lookups &+= 1
        let time = now()
        if let cached = cache.cached(id, at: time) {
            hits &+= 1
            return cached.name
        }
        let name = query(&database, id)
        cache.store(name, for: id, at: time)
        return name
    }
}

/// Names by id, each forgotten `timeToLive` after it was looked up.
private struct ExpiringNames {
    struct Entry {
        /// nil: the database has no such id.
        var name: String?
        var expires: UInt64
    }

    let timeToLive: UInt64
    private var cache: LRUCache<UInt32, Entry>

    init(capacity: Int, timeToLive: UInt64) {
        self.timeToLive = timeToLive
        cache = LRUCache(capacity: capacity)
    }

    /// The entry for `id`, if there is one that has not expired.
    mutating func cached(_ id: UInt32, at time: UInt64) -> Entry? {
        guard let entry = cache.get(id), time < entry.expires else { return nil }
        return entry
    }

    mutating func store(_ name: String?, for id: UInt32, at time: UInt64) {
        let (expires, overflow) = time.addingReportingOverflow(timeToLive)
        cache.put(id, Entry(name: name, expires: overflow ? .max : expires))
    }
}

/// getpwuid_r and getgrgid_r with one buffer kept between calls, grown
/// while the database says a record does not fit (ERANGE).
private struct AccountDatabase {
    /// A record larger than this (a group with very many members) is
    /// treated as absent rather than grown for without end.
    static let maxBufferSize = 1 << 20
    private var buffer = [CChar](repeating: 0, count: 1024)

    mutating func userName(_ uid: UInt32) -> String? {
        name(of: uid_t(uid), in: passwd(), getpwuid_r) { $0.pw_name }
    }

    mutating func groupName(_ gid: UInt32) -> String? {
        name(of: gid_t(gid), in: group(), getgrgid_r) { $0.gr_name }
    }

    /// The name in the record `lookup` (getpwuid_r, getgrgid_r) finds for `id`.
    private mutating func name<ID, Record>(
        of id: ID, in empty: Record,
        _ lookup: (ID, UnsafeMutablePointer<Record>, UnsafeMutablePointer<CChar>, Int,
                   UnsafeMutablePointer<UnsafeMutablePointer<Record>?>) -> Int32,
        _ field: (Record) -> UnsafeMutablePointer<CChar>?
    ) -> String? {
        lookUp { buffer, size, name in
            var record = empty
            var found: UnsafeMutablePointer<Record>?
            let status = lookup(id, &record, buffer, size, &found)
            if status == 0, let found, let text = field(found.pointee) { name = String(cString: text) }
            return status
        }
    }

    /// Runs `query` (which copies the name out while the record, pointing
    /// into the buffer, is valid) until it does not need a larger buffer.
    /// Not found (0 with no record, or ENOENT and the like) and errors are
    /// both nil.
    private mutating func lookUp(
        _ query: (UnsafeMutablePointer<CChar>, Int, inout String?) -> Int32
    ) -> String? {
        while true {
            var name: String?
            let status = buffer.withUnsafeMutableBufferPointer { query($0.baseAddress!, $0.count, &name) }
            switch status {
            case 0:
                return name
            case EINTR:
                continue
            case ERANGE where buffer.count < Self.maxBufferSize:
                buffer = [CChar](repeating: 0, count: buffer.count * 2)
            default:
                return nil
            }
        }
    }
}
