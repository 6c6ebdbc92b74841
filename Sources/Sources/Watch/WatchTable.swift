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
    private struct State {
        var flags: [WatchKey: UInt32] = [:]
        var filter: WatchFilter
    }

    private let probe: KernelProbe
    private let state: Mutex<State>

    init(probe: KernelProbe, recursive: Bool) {
        self.probe = probe
        self.state = Mutex(State(filter: WatchFilter(watched: [], recursive: recursive)))
    }

    /// Watches `path` (already resolved) as `kind` (FSP_WATCH_EXPLICIT or FSP_WATCH_FOLLOWED).
    func add(_ path: WatchedPath, kind: UInt32) throws(ProbeError) {
        let key = WatchKey(device: path.device, inode: path.inode)
        let parent = Self.parentKey(of: path.resolved)
        try state.withLock { state throws(ProbeError) in
            try set(key, adding: kind, in: &state)
            if let parent { try set(parent, adding: UInt32(FSP_WATCH_PARENT), in: &state) }
            state.filter.watched.append(path)
        }
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

    private func set(_ key: WatchKey, adding flag: UInt32, in state: inout State) throws(ProbeError) {
        let merged = (state.flags[key] ?? 0) | flag
        guard merged != state.flags[key] else { return }
        try probe.setWatch(key, flags: merged)
        state.flags[key] = merged
    }

    private static func parentKey(of path: [UInt8]) -> WatchKey? {
        guard let lastSlash = path.lastIndex(of: UInt8(ascii: "/")), path.count > 1 else { return nil }
        let parent = lastSlash == 0 ? [UInt8(ascii: "/")] : Array(path[..<lastSlash])
        guard let info = fileStatus(parent, followingSymlink: true) else { return nil }
        return WatchKey(device: fsp_kernel_dev(UInt64(info.st_dev)), inode: UInt64(info.st_ino))
    }
}
