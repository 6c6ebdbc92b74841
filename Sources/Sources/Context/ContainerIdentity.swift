import FSProbeCore

/// Reads the container a cgroup v2 path names, from the naming conventions
/// of the common runtimes.
///
/// The path is walked from its last component up, and the first (so the
/// innermost) component naming a container wins: a container nested in
/// another (podman in docker, docker in an nspawn machine) is reported as
/// itself, and a process in a sub-cgroup of a container (podman's
/// `…/libpod-<id>.scope/container`, a container's own systemd) as that
/// container.
///
/// Names are chosen by whoever creates the cgroup, so they are hostile
/// input: an id is only ever made of the alphabet its runtime uses (64
/// lowercase hex digits; for machine names `[A-Za-z0-9._-]`, at most 64),
/// never of arbitrary bytes. Parsing allocates nothing but the returned id.
public enum ContainerIdentity {
    /// Docker, containerd, CRI-O and podman name containers by 64 hex digits.
    static let hexIDLength = 64
    /// systemd's limit on machine names (HOST_NAME_MAX).
    static let maxMachineNameLength = 64

    /// The `<prefix>-<id>[.scope]` names runc and crun give container
    /// cgroups, systemd driver (`.scope`) or cgroupfs driver (bare). The
    /// prefixes end with `-`, so `crio-conmon-<id>` and `libpod-conmon-<id>`
    /// (the monitors, which are not in the container) are not ids.
    private static let scopePrefixes: [(prefix: StaticString, runtime: ContainerRuntime)] = [
        ("docker-", .docker),
        ("cri-containerd-", .containerd),
        ("crio-", .crio),
        ("libpod-", .podman),
    ]

    /// The same prefixes in the systemd driver's `<slice>:<prefix>:<id>`
    /// form, which appears as such when the cgroup was made without runc's
    /// conversion to a `.scope` name.
    private static let colonPrefixes: [(prefix: StaticString, runtime: ContainerRuntime)] = [
        ("docker", .docker),
        ("cri-containerd", .containerd),
        ("crio", .crio),
        ("libpod", .podman),
    ]

    /// The runtime and container id `cgroupPath` names, nil when it names
    /// none (a host slice, service or session).
    public static func parse(cgroupPath path: UnsafeBufferPointer<UInt8>) -> (runtime: ContainerRuntime, id: String)? {
        var current = lastComponent(of: path, endingAt: path.count)
        while let name = current {
            let parent = lastComponent(of: path, endingAt: name.lowerBound)
            let parentName = parent.map { UnsafeBufferPointer(rebasing: path[$0]) }
            if let found = identify(UnsafeBufferPointer(rebasing: path[name]), parent: parentName) {
                return found
            }
            current = parent
        }
        return nil
    }

    /// Convenience for paths held in an array.
    public static func parse(cgroupPath path: [UInt8]) -> (runtime: ContainerRuntime, id: String)? {
        path.withUnsafeBufferPointer { parse(cgroupPath: $0) }
    }

    // MARK: one component

    private static func identify(_ name: UnsafeBufferPointer<UInt8>,
                                 parent: UnsafeBufferPointer<UInt8>?) -> (runtime: ContainerRuntime, id: String)? {
        let stem = name.droppingSuffix(".scope") ?? name[...]
        for (prefix, runtime) in scopePrefixes {
            if let id = stem.droppingPrefix(prefix), let hex = hexID(id) { return (runtime, hex) }
        }
        if let found = colonForm(name) { return found }
        if let parent, isHexID(name[...]) {
            // cgroupfs driver: docker's `/docker/<id>`, and the kubelet's
            // `/kubepods/<qos>/pod<uid>/<id>`, which has no runtime in it:
            // containerd is the usual runtime there (CRI-O names its own).
            if parent.elementsEqual(utf8Of: "docker") { return (.docker, String(decoding: name, as: UTF8.self)) }
            if parent.count > 3, parent[...].droppingPrefix("pod") != nil {
                return (.containerd, String(decoding: name, as: UTF8.self))
            }
        }
        if let instance = name[...].droppingPrefix("systemd-nspawn@"), let machine = instance.droppingSuffix(".service"),
           let id = machineName(machine) {
            return (.nspawn, id)
        }
        // machined's registration of a machine started outside a unit. Only
        // under machine.slice: `machine-` alone is too common a word.
        if let parent, parent.elementsEqual(utf8Of: "machine.slice"),
           let scope = name.droppingSuffix(".scope"), let machine = scope.droppingPrefix("machine-"),
           let id = machineName(machine) {
            return (.nspawn, id)
        }
        return nil
    }

    /// `<slice>:<prefix>:<id>`, the systemd cgroup driver's cgroupsPath.
    private static func colonForm(_ name: UnsafeBufferPointer<UInt8>) -> (runtime: ContainerRuntime, id: String)? {
        guard name.count > hexIDLength + 2 else { return nil }
        let idStart = name.count - hexIDLength
        guard name[idStart - 1] == colon, isHexID(name[idStart...]) else { return nil }
        var prefixStart = idStart - 1
        while prefixStart > 0 && name[prefixStart - 1] != colon { prefixStart -= 1 }
        guard prefixStart > 0 else { return nil }  // no `<slice>:` before the prefix
        let prefix = name[prefixStart..<(idStart - 1)]
        for (known, runtime) in colonPrefixes where prefix.elementsEqual(utf8Of: known) {
            return (runtime, String(decoding: name[idStart...], as: UTF8.self))
        }
        return nil
    }

    // MARK: ids

    private static let colon = UInt8(ascii: ":")
    private static let slash = UInt8(ascii: "/")
    private static let backslash = UInt8(ascii: "\\")

    /// `bytes` as an id when they are exactly 64 lowercase hex digits:
    /// uppercase is not what any runtime writes, so it is not an id either.
    private static func hexID(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
        isHexID(bytes) ? String(decoding: bytes, as: UTF8.self) : nil
    }

    /// Checked before an id is made, where what else the name needs is
    /// not known yet: the String is only made for a match.
    private static func isHexID(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        bytes.count == hexIDLength && bytes.allSatisfy(isLowercaseHexDigit)
    }

    private static func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    private static func isMachineNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// A machine name from a unit name, systemd's `\xHH` escapes undone
    /// (systemd escapes `-` as `\x2d` there, since `-` means `/` in unit
    /// names). Decoded twice, to check and then to build, rather than into
    /// a scratch buffer: nothing is allocated but the name.
    private static func machineName(_ escaped: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
        var length = 0
        let valid = forEachUnescapedByte(escaped) { byte in
            length += 1
            return length <= maxMachineNameLength && isMachineNameByte(byte)
        }
        guard valid, length > 0 else { return nil }
        return String(unsafeUninitializedCapacity: length) { buffer in
            var written = 0
            _ = forEachUnescapedByte(escaped) { byte in
                buffer[written] = byte
                written += 1
                return true
            }
            return written
        }
    }

    /// Calls `body` with each byte `escaped` stands for, while it returns
    /// true. False when `body` stopped it, or at a backslash that is not a
    /// `\xHH` escape.
    private static func forEachUnescapedByte(_ escaped: Slice<UnsafeBufferPointer<UInt8>>,
                                             _ body: (UInt8) -> Bool) -> Bool {
        var index = escaped.startIndex
        while index < escaped.endIndex {
            let byte = escaped[index]
            guard byte == backslash else {
                guard body(byte) else { return false }
                index += 1
                continue
            }
            guard escaped.endIndex - index >= 4, escaped[index + 1] == UInt8(ascii: "x"),
                  let high = hexValue(escaped[index + 2]), let low = hexValue(escaped[index + 3]),
                  body(high << 4 | low) else { return false }
            index += 4
        }
        return true
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    // MARK: path components

    /// The range of the last non-empty component of `path[..<end]`.
    private static func lastComponent(of path: UnsafeBufferPointer<UInt8>, endingAt end: Int) -> Range<Int>? {
        var end = end
        while end > 0 && path[end - 1] == slash { end -= 1 }
        guard end > 0 else { return nil }
        var start = end
        while start > 0 && path[start - 1] != slash { start -= 1 }
        return start..<end
    }
}

// Byte comparisons against literals, without making Strings of either.
extension Slice where Base == UnsafeBufferPointer<UInt8> {
    fileprivate func droppingPrefix(_ prefix: StaticString) -> Self? {
        let length = prefix.utf8CodeUnitCount
        guard count >= length, self[startIndex..<(startIndex + length)].elementsEqual(utf8Of: prefix) else { return nil }
        return self[(startIndex + length)...]
    }

    fileprivate func droppingSuffix(_ suffix: StaticString) -> Self? {
        let length = suffix.utf8CodeUnitCount
        guard count >= length, self[(endIndex - length)...].elementsEqual(utf8Of: suffix) else { return nil }
        return self[..<(endIndex - length)]
    }

    fileprivate func elementsEqual(utf8Of literal: StaticString) -> Bool {
        literal.withUTF8Buffer { elementsEqual($0) }
    }
}

extension UnsafeBufferPointer<UInt8> {
    fileprivate func droppingSuffix(_ suffix: StaticString) -> Slice<Self>? { self[...].droppingSuffix(suffix) }

    fileprivate func elementsEqual(utf8Of literal: StaticString) -> Bool { self[...].elementsEqual(utf8Of: literal) }
}
