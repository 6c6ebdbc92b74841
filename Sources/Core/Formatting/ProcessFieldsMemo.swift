#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process fields (`ppid` to `user_ns`) of the last JSON line an
/// encoder wrote with the standard keys, kept with the process they describe.
///
/// Consecutive events mostly come from one process, and its fields (start
/// time, executable, user names, cgroup, namespaces) are a third of the cost
/// of a line (callgrind). So `JSONLineEncoder.encodeNext` formats them once
/// and copies those bytes while the event's process stays the same: every
/// field they are written from compared (`writesSameFields`), so a process
/// that changed in any of them — a new euid, a moved cgroup, another
/// executable after exec — is formatted again.
struct ProcessFieldsMemo: Sendable {
    /// Whether what is formatted is kept: off for a one-off line, which
    /// would only pay for the copy.
    var isEnabled = false
    private var isValid = false
    private var process = ProcessContext()
    private var bytes: [UInt8] = []
    private var rawExecutable = false

    /// Appends the process fields of `process`, copied from the last line
    /// when it had the same process, else written by `format`; returns what
    /// `format` returned for them (whether `exe_raw` is due).
    @inline(__always)
    mutating func append(_ process: ProcessContext, to output: inout LineCursor,
                         format: (inout LineCursor) -> Bool) -> Bool {
        if isValid && Self.writesSameFields(self.process, process) {
            bytes.withUnsafeBufferPointer { output.append(contentsOf: $0) }
            return rawExecutable
        }
        let start = output.count
        let rawExecutable = format(&output)
        guard isEnabled else { return rawExecutable }
        // A pass that ran out of room wrote only part of them: not kept.
        isValid = output.count <= output.capacity
        if isValid {
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: UnsafeBufferPointer(start: output.base + start, count: output.count - start))
            self.process = process
            self.rawExecutable = rawExecutable
        }
        return rawExecutable
    }

    /// Whether `a` and `b` have the same values in every field the process
    /// part is written from. By hand, not `==`: the synthesized one compares
    /// what is not written (the executable's inode, mount, …), copies the
    /// optional parts to compare them (a retain and a release each), and
    /// compares names as `String`s, by canonical equivalence, which would
    /// take "é" and "e" + U+0301 for one name. The cgroup is compared by
    /// identity (the enricher shares one object per cgroup): another object
    /// with the same values costs a format, never a wrong line.
    static func writesSameFields(_ a: ProcessContext, _ b: ProcessContext) -> Bool {
        a.ppid == b.ppid && a.startTime == b.startTime && a.loginUID == b.loginUID && a.sessionID == b.sessionID
            && a.euid == b.euid && a.egid == b.egid && a.cgroupID == b.cgroupID && a.cgroup === b.cgroup
            && a.mountNamespace == b.mountNamespace && a.pidNamespace == b.pidNamespace
            && a.userNamespace == b.userNamespace
            && sameExecutable(a, b)
            && sameBytes(a.userName, b.userName) && sameBytes(a.groupName, b.groupName)
            && sameBytes(a.effectiveUserName, b.effectiveUserName)
            && sameBytes(a.effectiveGroupName, b.effectiveGroupName)
    }

    /// The executables' paths byte for byte, read in place.
    private static func sameExecutable(_ a: ProcessContext, _ b: ProcessContext) -> Bool {
        let same = a.executable?.bytes.withUnsafeBufferPointer { a in
            b.executable?.bytes.withUnsafeBufferPointer { b in
                sameBytes(UnsafeRawBufferPointer(a), UnsafeRawBufferPointer(b))
            } ?? false
        }
        if let same { return same }
        if case .none = b.executable { return true }
        return false
    }

    /// Byte for byte. Two `String`s with the same representation (a short
    /// one's bytes held inline, or one shared storage) have the same bytes,
    /// which is the usual case and a 16-byte compare; others are compared
    /// through contiguous storage (`elementsEqual` on the UTF-8 views cost
    /// more than formatting the names did).
    private static func sameBytes(_ a: String?, _ b: String?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        if withUnsafeBytes(of: a, { a in withUnsafeBytes(of: b) { b in sameBytes(a, b) } }) { return true }
        let same = a.utf8.withContiguousStorageIfAvailable { a in
            b.utf8.withContiguousStorageIfAvailable { b in
                sameBytes(UnsafeRawBufferPointer(a), UnsafeRawBufferPointer(b))
            }
        }
        return (same ?? nil) ?? a.utf8.elementsEqual(b.utf8)
    }

    private static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }
}
