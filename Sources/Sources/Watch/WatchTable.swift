#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF
import Synchronization

/// The set of watched objects, mirrored into the kernel's `watched_inodes`
/// map, and the user-space filter that completes the kernel's decision for
/// caller-supplied paths.
///
/// Each watched object also puts its parent directory in the map as a
/// "parent" entry: for a path-based call made from that parent (`rmdir w`,
/// `mv w x`), the kernel sees only the parent plus the caller's string, and
/// the entry lets such events through for user space to decide.
final class WatchTable: Sendable {
    /// One watch and the two map entries it holds: its own and its parent's.
    private struct Watch {
        var path: WatchedPath
        var key: WatchKey
        var kind: UInt32
        var parent: WatchKey?
    }

    private struct State {
        var watches: [Watch] = [] {
            didSet { filter.watched = watches.map(\.path) }
        }
        /// What the kernel map holds: the union of the watches' entries.
        var flags: [WatchKey: UInt32] = [:]
        var filter: WatchFilter

        /// The flags `key` should have, given the watches.
        func wanted(_ key: WatchKey) -> UInt32 {
            watches.reduce(0) { flags, watch in
                flags | (watch.key == key ? watch.kind : 0) | (watch.parent == key ? UInt32(FSP_WATCH_PARENT) : 0)
            }
        }
    }

    private let probe: KernelProbe
    private let state: Mutex<State>

    init(probe: KernelProbe, recursive: Bool) {
        self.probe = probe
        self.state = Mutex(State(filter: WatchFilter(watched: [], recursive: recursive)))
    }

    /// Watches `path` (already resolved) as `kind` (FSP_WATCH_EXPLICIT or FSP_WATCH_FOLLOWED).
    func add(_ path: WatchedPath, kind: UInt32) throws(ProbeError) {
        let watch = Watch(path: path, key: WatchKey(device: path.device, inode: path.inode), kind: kind,
                          parent: Self.parentKey(of: path.resolved))
        try state.withLock { state throws(ProbeError) in
            state.watches.append(watch)
            try sync([watch.key] + (watch.parent.map { [$0] } ?? []), in: &state)
        }
    }

    /// Stops watching what was added as `requested` (or resolves to the same
    /// path). Objects followed out of its tree stay watched. Returns false
    /// when nothing was watched under that name.
    func remove(requested: String, resolved: [UInt8]?) throws(ProbeError) -> Bool {
        try state.withLock { state throws(ProbeError) in
            let removed = state.watches.filter { Self.names($0, requested: requested, resolved: resolved) }
            guard !removed.isEmpty else { return false }
            state.watches.removeAll { Self.names($0, requested: requested, resolved: resolved) }
            try sync(removed.flatMap { [$0.key] + ($0.parent.map { [$0] } ?? []) }, in: &state)
            return true
        }
    }

    private static func names(_ watch: Watch, requested: String, resolved: [UInt8]?) -> Bool {
        watch.kind == UInt32(FSP_WATCH_EXPLICIT) && (watch.path.requested == requested || watch.path.resolved == resolved)
    }

    /// Whether a watched object with this identity is already known.
    func contains(device: UInt32, inode: UInt64) -> Bool {
        state.withLock { state in
            (state.flags[WatchKey(device: device, inode: inode)] ?? 0) & ~UInt32(FSP_WATCH_PARENT) != 0
        }
    }

    /// The user-space filter for paths the kernel could not place.
    func matches(_ path: [UInt8]) -> Bool {
        state.withLock { $0.filter.matches(path) }
    }

    /// Brings the kernel entries of `keys` in line with the watches.
    private func sync(_ keys: [WatchKey], in state: inout State) throws(ProbeError) {
        for key in Set(keys) {
            let wanted = state.wanted(key)
            guard wanted != (state.flags[key] ?? 0) else { continue }
            var flags = state.flags
            flags[key] = wanted == 0 ? nil : wanted
            // Cached directories and discarders carry the filter's verdict:
            // the change must end the epoch they were made in.
            // The kernel skips its watch-map lookup for an inode whose bit is
            // clear, so the bits cover the map's watches at every moment: the
            // old and new watches' bits before the change, the new ones after.
            let before = Self.watchedInodeBits(state.flags)
            let after = Self.watchedInodeBits(flags)
            try probe.withEpochBump { () throws(ProbeError) in
                probe.setWatchedInodeBits(zip(before, after).map { $0 | $1 })
                if wanted == 0 { probe.removeWatch(key) } else { try probe.setWatch(key, flags: wanted) }
                probe.setWatchedInodeBits(after)
            }
            state.flags = flags
        }
    }

    /// The kernel's "may be a watch" set: bit `inode % FSP_WATCH_BITS` for
    /// every entry that is a watch (not only a watch's parent).
    static func watchedInodeBits(_ flags: [WatchKey: UInt32]) -> [UInt64] {
        var bits = [UInt64](repeating: 0, count: Int(FSP_WATCH_BITS) / 64)
        for (key, value) in flags where value & ~UInt32(FSP_WATCH_PARENT) != 0 {
            let bit = Int(key.inode % UInt64(FSP_WATCH_BITS))
            bits[bit / 64] |= 1 << UInt64(bit % 64)
        }
        return bits
    }

    private static func parentKey(of path: [UInt8]) -> WatchKey? {
        guard let lastSlash = path.lastIndex(of: UInt8(ascii: "/")), path.count > 1 else { return nil }
        let parent = lastSlash == 0 ? [UInt8(ascii: "/")] : Array(path[..<lastSlash])
        guard let info = fileStatus(parent, followingSymlink: true) else { return nil }
        return WatchKey(device: fsp_kernel_dev(UInt64(info.st_dev)), inode: UInt64(info.st_ino))
    }
}
