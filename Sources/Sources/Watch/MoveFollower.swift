#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF
import FSProbeCore

/// Keeps the watch table in step with objects moved out of the watch
/// (`--follow`), from the rename records the kernel passes up (reported or
/// not: `RenameFollowMarks.unselected`).
///
/// On the VFS backends the kernel decides, at the rename itself and before
/// anything moves (`ebpf/lib/follow.bpf.h`); its marks say what it began to
/// watch, and this only records it, so that the table (its user-space
/// filter, its next map updates) knows the watch. On the tracepoint backend,
/// whose paths are the caller's strings placed after the move, the decision
/// is user space's, made here from the event: events on the object between
/// the move and this are not reported.
struct MoveFollower {
    let watches: WatchTable
    /// Whether the kernel follows (the VFS backends) or user space does.
    let kernelDecides: Bool

    /// What one rename changed in user space: objects it began to watch
    /// (the tracepoint backend; the kernel counts its own), and those that
    /// could not be watched or recorded.
    struct Outcome: Equatable {
        var followed = 0
        var failed = 0
    }

    /// Call for a successful rename.
    func follow(_ rename: FileEvent, marks: RenameFollowMarks) -> Outcome {
        var outcome = Outcome()
        for moved in kernelDecides ? followedByKernel(rename, marks) : leftTheWatch(rename) {
            switch record(moved) {
            case .known: break
            case .added: if !kernelDecides { outcome.followed += 1 }
            case .failed: outcome.failed += 1
            }
        }
        return outcome
    }

    /// What the kernel's marks say it began to watch, where it now is.
    private func followedByKernel(_ rename: FileEvent, _ marks: RenameFollowMarks) -> [WatchedPath] {
        guard let target = rename.target else { return [] }
        var moved: [WatchedPath] = []
        if marks.contains(.followedSource) {
            // The object the source path named: its identity is the
            // kernel's, its place now the target path.
            moved.append(WatchedPath(requested: String(decoding: target.bytes, as: UTF8.self), resolved: target.bytes,
                                     device: rename.source.device, inode: rename.source.inode,
                                     isDirectory: rename.source.mode & UInt32(S_IFMT) == UInt32(S_IFDIR)))
        }
        if marks.contains(.followedTarget), let exchanged = WatchResolver.identify(reported: rename.source.bytes) {
            moved.append(exchanged)
        }
        return moved
    }

    /// The objects a rename took out of the watch, as user space sees it
    /// after the move: the one now at the target path, and with an exchange
    /// the one now at the source path, unless the watch covers that place.
    private func leftTheWatch(_ rename: FileEvent) -> [WatchedPath] {
        guard let target = rename.target else { return [] }
        let exchanged = rename.flags & Self.renameExchange != 0
        return (exchanged ? [target.bytes, rename.source.bytes] : [target.bytes])
            .filter { !watches.matches($0) }
            .compactMap { WatchResolver.identify(reported: $0) }
    }

    /// RENAME_EXCHANGE of renameat2(2).
    static let renameExchange: UInt32 = 1 << 1

    private enum Recorded { case known, added, failed }

    private func record(_ moved: WatchedPath) -> Recorded {
        guard !watches.contains(device: moved.device, inode: moved.inode) else { return .known }
        do {
            try watches.add(moved, kind: UInt32(FSP_WATCH_FOLLOWED))
            return .added
        } catch {
            return .failed
        }
    }
}
