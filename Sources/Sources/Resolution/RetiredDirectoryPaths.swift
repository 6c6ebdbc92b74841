/// perf_buffer: the directories user space evicted from its cache, and so
/// removed from the kernel's, kept for the events still in the ring buffer.
///
/// An event whose walk stopped at a directory before user space removed it
/// from the kernel's map may be read after the removal: learning what an
/// earlier event offered is what evicted it. Without this, that event's
/// path would be unresolved, and with a cache smaller than the directories
/// in use (or after a burst of losses) that happens every few events.
///
/// Only an event made before the removal can have stopped there, so an
/// entry answers only those. Events are read in about the order they were
/// made; once one made `grace` after the removal is read, nothing made
/// before it is left behind it, and the entry is dropped. At most `limit`
/// entries are kept, the oldest going first.
struct RetiredDirectoryPaths {
    /// How much later than a removal an event must have been made for no
    /// event made before the removal to be still unread: far more than a
    /// walk between its timestamp and its ring-buffer reservation takes.
    static let grace: UInt64 = 2_000_000_000

    let limit: Int
    private var entries: [DirectoryKey: Retired] = [:]
    /// Keys in removal order (removal times only grow); `head` is the
    /// oldest still queued.
    private var queue: [(key: DirectoryKey, removedAt: UInt64)] = []
    private var head = 0

    private struct Retired {
        var entry: CachedDirectoryPath
        var removedAt: UInt64
    }

    init(limit: Int) {
        precondition(limit > 0, "retired directory limit \(limit)")
        self.limit = limit
    }

    var count: Int { entries.count }

    /// Keeps `entry`, removed from the kernel's map at `removedAt`.
    mutating func retire(_ key: DirectoryKey, _ entry: CachedDirectoryPath, removedAt: UInt64) {
        entries[key] = Retired(entry: entry, removedAt: removedAt)
        queue.append((key, removedAt))
        while entries.count > limit, head < queue.count { dropOldest() }
    }

    /// The path of `key`'s directory for an event made at `eventTime`, when
    /// that event may have stopped there: made before the removal.
    func path(of key: DirectoryKey, eventTime: UInt64) -> CachedDirectoryPath? {
        guard let retired = entries[key], eventTime < retired.removedAt else { return nil }
        return retired.entry
    }

    /// Drops what no event still unread can need, now that an event made at
    /// `eventTime` is being read.
    mutating func expire(readingEventMadeAt eventTime: UInt64) {
        while head < queue.count, queue[head].removedAt &+ Self.grace < eventTime { dropOldest() }
    }

    private mutating func dropOldest() {
        let (key, removedAt) = queue[head]
        head += 1
        // A key retired again later has a newer entry (and queue place).
        if entries[key]?.removedAt == removedAt { entries[key] = nil }
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }
}
