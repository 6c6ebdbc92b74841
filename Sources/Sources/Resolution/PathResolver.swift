#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF

/// Puts back the paths of the directories the kernel's walks stopped at
/// (anchors), and, in perf_buffer mode, learns them from complete paths.
///
/// Paths are relative to the directory's mount root ("/a/b"): the kernel
/// walk goes on from that root itself, so a mount moving never makes one
/// stale. User space keeps them in an LRU cache keyed like the kernel's,
/// epoch included: an entry answers only the anchors of the epoch it was
/// made in (the kernel bumps the epoch around directory renames and
/// removals and watch changes), and a later epoch's entry never replaces it.
/// On a miss, fragments and single_fragment modes read the kernel's cache;
/// perf_buffer mode has nowhere else to look, which is why the kernel only
/// stops at directories user space told it it knows.
///
/// One per event source, used on its ring-buffer thread only: no locks.
final class PathResolver {
    let mode: ResolutionMode
    // Unchecked exclusivity, as in `KernelRecordDecoder`: one thread, no
    // reentrant access.
    @exclusivity(unchecked) private var cache: LRUCache<DirectoryKey, CachedDirectoryPath>
    /// perf_buffer: what the cache evicted, for the events made before.
    @exclusivity(unchecked) private var retired: RetiredDirectoryPaths
    private let maps: (any ResolutionCacheMaps)?
    /// CLOCK_BOOTTIME in nanoseconds, the clock of event timestamps.
    private let bootTime: () -> UInt64

    /// Most fragments followed for one anchor: a longer chain is a cycle
    /// (entries of different moments pointing at each other).
    static let maxChainLength = 4096
    static let slash = UInt8(ascii: "/")

    /// - Parameter maps: the kernel's caches; nil to resolve from user
    ///   space's cache only (decoding without a kernel).
    init(mode: ResolutionMode = .perfBuffer, pathCacheEntries: Int = KernelProbeOptions.defaultPathCacheEntries,
         maps: (any ResolutionCacheMaps)? = nil,
         bootTime: @escaping () -> UInt64 = { UInt64(BootClock.now(CLOCK_BOOTTIME)) }) {
        self.mode = mode
        self.cache = LRUCache(capacity: pathCacheEntries)
        self.retired = RetiredDirectoryPaths(limit: pathCacheEntries)
        self.maps = maps
        self.bootTime = bootTime
    }

    // MARK: anchors

    /// The mount-relative path of an anchor's directory, for an event made
    /// at `eventTime` (boot-time nanoseconds), or nil when no cache holds it
    /// for the anchor's epoch any more.
    func path(of anchor: Anchor, eventTime: UInt64) -> [UInt8]? {
        if let cached = cache.get(anchor.key), cached.epoch == anchor.epoch { return cached.path }
        let found: [UInt8]?
        switch mode {
        case .perfBuffer:
            // Evicted (and so removed from the kernel) after the event's
            // walk stopped there; nothing else could have told the kernel.
            guard let evicted = retired.path(of: anchor.key, eventTime: eventTime),
                  evicted.epoch == anchor.epoch else { return nil }
            return evicted.path
        case .fragments: found = fragmentChainPath(of: anchor)
        case .singleFragment: found = singleFragmentPath(of: anchor)
        }
        guard let found else { return nil }
        remember(anchor.key, CachedDirectoryPath(epoch: anchor.epoch, path: found))
        return found
    }

    /// fragments: each fragment gives a name and its parent on the same
    /// mount; every one must be of the anchor's epoch. A parent already in
    /// user space's cache ends the chain early.
    ///
    /// A chain broken above the anchor (the kernel's LRU evicted a fragment
    /// that walks no longer reach, since they stop below it) would stay
    /// broken: the fragments read are removed from the kernel, so the next
    /// walk through them goes on up and puts the whole chain back.
    private func fragmentChainPath(of anchor: Anchor) -> [UInt8]? {
        guard let maps else { return nil }
        var names: [[UInt8]] = []  // leaf first
        var prefix: [UInt8] = []
        var key = anchor.key
        var visited: [DirectoryKey] = []
        var followed = true
        while true {
            guard names.count < Self.maxChainLength else { followed = false; break }
            if !names.isEmpty, let known = cache.peek(key), known.epoch == anchor.epoch {
                prefix = known.path
                break
            }
            guard let fragment = maps.fragment(key), fragment.stamp.epoch == anchor.epoch,
                  let name = Self.name(of: fragment) else { followed = false; break }
            visited.append(key)
            names.append(name)
            if fragment.parent_inode == 0 { break }  // its parent is the mount's root
            key = DirectoryKey(inode: fragment.parent_inode, mount: key.mount, epoch: key.epoch)
        }
        guard followed else {
            for key in visited { maps.removeFragment(key) }
            return nil
        }
        var path = prefix
        for name in names.reversed() {
            path.append(Self.slash)
            path.append(contentsOf: name)
        }
        return path
    }

    private static func name(of fragment: fsp_fragment) -> [UInt8]? {
        let length = Int(fragment.name_len)
        guard length > 0, length < Int(FSP_NAME_MAX) else { return nil }
        return withUnsafeBytes(of: fragment.name) { bytes in
            let name = UnsafeRawBufferPointer(rebasing: bytes[0..<length])
            return name.contains(0) || name.contains(slash) ? nil : Array(name)
        }
    }

    /// single_fragment: one entry holds the names from the directory up to
    /// its mount's root, leaf first, each with its NUL.
    private func singleFragmentPath(of anchor: Anchor) -> [UInt8]? {
        guard let maps, let single = maps.singleFragment(anchor.key), single.stamp.epoch == anchor.epoch else {
            return nil
        }
        let length = Int(single.len)
        guard length <= Int(FSP_SINGLE_MAX) else { return nil }
        return withUnsafeBytes(of: single.path) { bytes in
            Self.rootFirst(leafFirstNames: UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
        }
    }

    /// "/a/b" from "b\0a\0"; nil unless every name is whole and plain.
    static func rootFirst(leafFirstNames names: UnsafeRawBufferPointer) -> [UInt8]? {
        guard names.isEmpty || names.last == 0 else { return nil }
        var path: [UInt8] = []
        path.reserveCapacity(names.count + 1)
        var end = names.count - 1  // at a name's NUL
        while end >= 0 {
            var start = end
            while start > 0, names[start - 1] != 0 { start -= 1 }
            guard start < end, names[start] != slash else { return nil }
            path.append(slash)
            path.append(contentsOf: UnsafeRawBufferPointer(rebasing: names[start..<end]))
            end = start - 1
        }
        return path
    }

    // MARK: learning (perf_buffer)

    /// What a walk offers to learn: the directory at item `level` of its
    /// first mount segment (`FSP_PATH_LEARNABLE`, `learn_*` in fsp_path).
    struct Learnable {
        var key: DirectoryKey
        var stamp: fsp_cache_stamp
        var level: Int
        /// Boot-time nanoseconds of the event that offers it.
        var eventTime: UInt64
    }

    /// Caches the path of `learnable`'s directory, read from a completely
    /// resolved path, and then tells the kernel, so the kernel never stops
    /// at a directory user space cannot resolve.
    ///
    /// Nothing happens when the cache already holds that very directory
    /// (same stamp) and the kernel was told after the event was made: the
    /// events of a burst in a new directory all offer it, and each would
    /// otherwise cost a syscall. An offer made after the kernel was told
    /// means the kernel's own LRU dropped the entry: it is told again.
    func learn(_ learnable: Learnable, from items: [PathItem], fragments: UnsafeRawBufferPointer) {
        guard mode == .perfBuffer else { return }
        let identity = DirectoryIdentity(learnable.stamp)
        if let known = cache.peek(learnable.key), known.learnt == identity,
           learnable.eventTime <= known.toldKernelAt {
            return
        }
        guard let path = segmentPath(ofLevel: learnable.level, items: items, fragments: fragments) else { return }
        let toldAt = bootTime()
        remember(learnable.key, CachedDirectoryPath(epoch: learnable.stamp.epoch, path: path,
                                                    learnt: identity, toldKernelAt: toldAt))
        // A failure leaves the kernel without the entry: it offers the
        // directory again, and a later offer retries.
        try? maps?.insertCachedDirectory(learnable.key, stamp: learnable.stamp)
    }

    /// The mount-relative path of the directory at item `level` of the
    /// first mount segment: the anchor ending the segment, if one does,
    /// then the segment's names from its top down to `level`. Nil when
    /// `level` is not a name of that segment or a part is unknown.
    func segmentPath(ofLevel level: Int, items: [PathItem], fragments: UnsafeRawBufferPointer) -> [UInt8]? {
        let end = items.firstIndex { if case .name = $0 { false } else { true } } ?? items.count
        guard level >= 0, level < end else { return nil }
        var path: [UInt8] = []
        if end < items.count, case .anchor(let anchor) = items[end] {
            guard let above = cache.peek(anchor.key), above.epoch == anchor.epoch else { return nil }
            path = above.path
        }
        for item in items[level..<end].reversed() {
            guard case .name(let range) = item, !range.isEmpty else { return nil }
            path.append(Self.slash)
            path.append(contentsOf: UnsafeRawBufferPointer(rebasing: fragments[range]))
        }
        return path
    }

    /// Stores an entry; in perf_buffer mode the kernel forgets what user
    /// space evicts, or it would stop at directories nobody can resolve,
    /// and the events already made that stopped there get it from `retired`.
    private func remember(_ key: DirectoryKey, _ entry: CachedDirectoryPath) {
        guard let evicted = cache.put(key, entry), mode == .perfBuffer else { return }
        maps?.removeCachedDirectory(evicted.key)
        retired.retire(evicted.key, evicted.value, removedAt: bootTime())
    }

    /// perf_buffer: an event made at `eventTime` is being read, so evicted
    /// entries no unread event can need are dropped.
    func reading(eventMadeAt eventTime: UInt64) {
        if mode == .perfBuffer { retired.expire(readingEventMadeAt: eventTime) }
    }

    // MARK: for tests

    var cachedKeysByRecency: [DirectoryKey] { cache.keysByRecency }
    var retiredCount: Int { retired.count }
    func cachedPath(_ key: DirectoryKey) -> CachedDirectoryPath? { cache.peek(key) }
}

/// One entry of user space's directory cache.
struct CachedDirectoryPath: Equatable {
    /// The cache epoch the path is valid in.
    var epoch: UInt64
    /// From the mount's root down to the directory: "/a/b".
    var path: [UInt8]
    /// perf_buffer: the directory learnt (nil when read from a kernel map).
    var learnt: DirectoryIdentity? = nil
    /// perf_buffer: when the kernel was told (boot-time nanoseconds).
    var toldKernelAt: UInt64 = 0
}

/// What tells one directory from another behind the same cache key and
/// epoch: the mount's id and root, and the inode's generation (a reused
/// inode number is another directory).
struct DirectoryIdentity: Equatable {
    var epoch: UInt64
    var mountRoot: UInt64
    var mountID: UInt32
    var generation: UInt32

    init(_ stamp: fsp_cache_stamp) {
        epoch = stamp.epoch
        mountRoot = stamp.mnt_root
        mountID = stamp.mnt_id
        generation = stamp.generation
    }
}
