/// Turns the items of a kernel path (`PathItems`) into an absolute path.
///
/// The kernel writes what it met while walking dentries *leaf first* (see
/// `struct fsp_path` in `ebpf/fsprobe.h`): walking upwards is the only order
/// it can produce cheaply. User space reads the items from the last (nearest
/// the root) to the first: a name adds "/name", a mount crossing adds
/// nothing, an anchor adds its directory's path relative to its mount's
/// root, which the caches hold. For path-based syscalls seen by the
/// tracepoint backend the kernel only resolves the base directory (dirfd,
/// cwd, or the process root for an absolute string) and appends the string
/// the caller passed; that string is joined and normalised lexically ("."
/// dropped, ".." pops a component but never climbs above the process root,
/// as in the kernel), and the event says so.
///
/// Where the walk passed the acting process's root (a process-root item),
/// the assembler notes how many bytes of the path lie above it: the rest is
/// the path as that process sees it (chroot, container).
enum PathAssembler {
    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")

    /// What `assemble` found besides the path's bytes.
    struct Outcome {
        /// Every anchor could be resolved. When false, no path is invented:
        /// the output holds only the part below the lowest unresolved anchor
        /// (the items before it), a true suffix of the real path.
        var resolved = true
        /// Bytes of the output above the acting process's root; nil when
        /// the walk did not pass that root (or the part above it is lost).
        var processRootOffset: Int?
    }

    /// Replaces `out` with the absolute path of `items` (parsed from
    /// `fragments`) followed by the normalised `caller` string.
    ///
    /// - Parameter anchorPath: the mount-relative path ("/a/b") of an
    ///   anchor's directory, or nil when it cannot be known.
    static func assemble(
        _ items: [PathItem],
        fragments: UnsafeRawBufferPointer,
        caller: UnsafeRawBufferPointer?,
        anchorPath: (Anchor) -> [UInt8]?,
        into out: inout [UInt8]
    ) -> Outcome {
        out.removeAll(keepingCapacity: true)
        var outcome = Outcome()
        for item in items.reversed() {
            switch item {
            case .name(let range):
                // Empty names never come from a real dentry; dropping them
                // keeps "//" out of paths.
                guard !range.isEmpty else { continue }
                out.append(slash)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: fragments[range]))
            case .mount:
                continue
            case .processRoot:
                outcome.processRootOffset = out.count
            case .anchor(let anchor):
                if let path = anchorPath(anchor) {
                    out.append(contentsOf: path)
                } else {
                    out.removeAll(keepingCapacity: true)
                    outcome.resolved = false
                    outcome.processRootOffset = nil
                }
            }
        }
        if let caller, !caller.isEmpty {
            appendNormalised(caller, into: &out, root: outcome.processRootOffset ?? 0)
        }
        if out.isEmpty { out.append(slash) }
        return outcome
    }

    /// Appends the caller's path components to `out`, which holds an absolute
    /// path (or nothing, meaning "/") whose first `root` bytes lie above the
    /// process root. An absolute caller string restarts at that root, and
    /// ".." never climbs above it.
    static func appendNormalised(_ caller: UnsafeRawBufferPointer, into out: inout [UInt8], root: Int = 0) {
        if caller.first == slash { out.removeSubrange(root...) }
        var index = 0
        while index < caller.count {
            while index < caller.count, caller[index] == slash { index += 1 }
            let start = index
            while index < caller.count, caller[index] != slash { index += 1 }
            let length = index - start
            if length == 0 || (length == 1 && caller[start] == dot) { continue }
            if length == 2 && caller[start] == dot && caller[start + 1] == dot {
                // ".." never climbs above the root, as in the kernel.
                if let lastSlash = out.lastIndex(of: slash), lastSlash >= root { out.removeSubrange(lastSlash...) }
                continue
            }
            out.append(slash)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: caller[start..<index]))
        }
    }
}
