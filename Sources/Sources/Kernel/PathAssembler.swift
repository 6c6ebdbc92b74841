/// Turns the items of a kernel path (`PathItems`) into an absolute path.
///
/// The kernel writes what it met while walking dentries *leaf first* (see
/// `struct fsp_path` in `ebpf/fsprobe.h`): walking upwards is the only order
/// it can produce cheaply. User space reads the items from the last (nearest
/// the root) to the first: a name adds "/name", a mount crossing adds
/// nothing, an anchor adds its directory's path relative to its mount's
/// root, which the caches hold. For path-based syscalls seen by the
/// tracepoint backend the kernel only resolves the base directory (dirfd or
/// cwd) and appends the string the caller passed; that string is joined and
/// normalised lexically ("." dropped, ".." pops a component), and the event
/// says so.
enum PathAssembler {
    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")

    /// Replaces `out` with the absolute path of `items` (parsed from
    /// `fragments`) followed by the normalised `caller` string.
    ///
    /// - Parameter anchorPath: the mount-relative path ("/a/b") of an
    ///   anchor's directory, or nil when it cannot be known.
    /// - Returns: false when an anchor could not be resolved. No path is
    ///   invented then: `out` holds only the part below the lowest such
    ///   anchor (the items before it), a true suffix of the real path.
    static func assemble(
        _ items: [PathItem],
        fragments: UnsafeRawBufferPointer,
        caller: UnsafeRawBufferPointer?,
        anchorPath: (Anchor) -> [UInt8]?,
        into out: inout [UInt8]
    ) -> Bool {
        out.removeAll(keepingCapacity: true)
        var resolved = true
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
            case .anchor(let anchor):
                if let path = anchorPath(anchor) {
                    out.append(contentsOf: path)
                } else {
                    out.removeAll(keepingCapacity: true)
                    resolved = false
                }
            }
        }
        if let caller, !caller.isEmpty {
            appendNormalised(caller, into: &out)
        }
        if out.isEmpty { out.append(slash) }
        return resolved
    }

    /// Appends the caller's path components to `out`, which holds an absolute
    /// path (or nothing, meaning "/"). An absolute caller string restarts at
    /// the root.
    static func appendNormalised(_ caller: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        if caller.first == slash { out.removeAll(keepingCapacity: true) }
        var index = 0
        while index < caller.count {
            while index < caller.count, caller[index] == slash { index += 1 }
            let start = index
            while index < caller.count, caller[index] != slash { index += 1 }
            let length = index - start
            if length == 0 || (length == 1 && caller[start] == dot) { continue }
            if length == 2 && caller[start] == dot && caller[start + 1] == dot {
                // ".." never climbs above the root, as in the kernel.
                if let lastSlash = out.lastIndex(of: slash) { out.removeSubrange(lastSlash...) }
                continue
            }
            out.append(slash)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: caller[start..<index]))
        }
    }
}
