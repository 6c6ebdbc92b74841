/// Turns the path data of a kernel record into an absolute path.
///
/// The kernel writes the names it met while walking dentries *leaf first*,
/// each followed by a NUL (see `struct fsp_path` in `ebpf/fsprobe.h`): walking
/// upwards is the only order the kernel can produce cheaply. User space
/// reverses them here. For path-based syscalls seen by the tracepoint backend
/// the kernel only resolves the base directory (dirfd or cwd) and appends the
/// string the caller passed; that string is joined and normalised lexically
/// ("." dropped, ".." pops a component), and the event says so.
public enum PathAssembler {
    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")

    /// Appends to `out` the absolute path made of `fragments` (leaf-first,
    /// NUL-terminated names) followed by the normalised `caller` string.
    ///
    /// - Parameter callerIsAbsolute: the caller's string started with "/", so
    ///   no base was walked and `fragments` is empty.
    public static func assemble(
        fragments: UnsafeRawBufferPointer,
        caller: UnsafeRawBufferPointer?,
        into out: inout [UInt8]
    ) {
        out.removeAll(keepingCapacity: true)
        appendReversedFragments(fragments, into: &out)
        if let caller, !caller.isEmpty {
            appendNormalised(caller, into: &out)
        }
        if out.isEmpty { out.append(slash) }
    }

    /// Appends "/name" for each fragment, last fragment first.
    static func appendReversedFragments(_ fragments: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var end = fragments.count
        // Ignore a trailing NUL so that `end` points just past the last name.
        while end > 0 {
            if fragments[end - 1] == 0 { end -= 1 }
            var start = end
            while start > 0, fragments[start - 1] != 0 { start -= 1 }
            if start < end {
                out.append(slash)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: fragments[start..<end]))
            }
            end = start
        }
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
