#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF
import FSProbeCore

/// A watched path the user asked for, resolved and identified the way the
/// kernel identifies it (superblock device + inode).
public struct WatchedPath: Sendable, Hashable {
    /// The path as given on the command line or to the library.
    public let requested: String
    /// Absolute, symlink-free path (`realpath`).
    public let resolved: [UInt8]
    public let device: UInt32
    public let inode: UInt64
    public let isDirectory: Bool
}

/// Why a path cannot be watched.
public struct WatchError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "cannot watch '\(path.lineSafe)': \(reason)" }
}

public enum WatchResolver {
    /// Resolves `path` (relative paths against the current directory,
    /// symlinks followed) and reads its identity.
    public static func resolve(_ path: String) throws(WatchError) -> WatchedPath {
        guard let real = realpath(path, nil) else {
            throw WatchError(path: path, reason: errnoDescription(errno) + expectedHint)
        }
        defer { free(real) }
        let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(real).assumingMemoryBound(to: UInt8.self), count: strlen(real)))
        guard let info = fileStatus(bytes, followingSymlink: true) else {
            throw WatchError(path: path, reason: errnoDescription(errno) + expectedHint)
        }
        return watchedPath(requested: path, resolved: bytes, info)
    }

    static let expectedHint = " (expected an existing file or directory)"

    /// user space's dev_t (glibc encoding) → the kernel's internal dev_t
    /// (`MKDEV`: major << 20 | minor), which is what `sb->s_dev` holds.
    public static func kernelDevice(fromUserSpace dev: UInt64) -> UInt32 {
        fsp_kernel_dev(dev)
    }

    /// Identifies a path the kernel reported (already absolute and
    /// normalised) without following a final symlink: the object itself is
    /// what moved.
    static func identify(reported path: [UInt8]) -> WatchedPath? {
        fileStatus(path, followingSymlink: false).map {
            watchedPath(requested: String(decoding: path, as: UTF8.self), resolved: path, $0)
        }
    }

    private static func watchedPath(requested: String, resolved: [UInt8], _ info: stat) -> WatchedPath {
        WatchedPath(
            requested: requested, resolved: resolved,
            device: kernelDevice(fromUserSpace: UInt64(info.st_dev)), inode: UInt64(info.st_ino),
            isDirectory: (info.st_mode & S_IFMT) == S_IFDIR)
    }
}

/// stat(2) or lstat(2) of a path held as raw bytes (names need not be UTF-8).
func fileStatus(_ path: [UInt8], followingSymlink: Bool) -> stat? {
    var info = stat()
    let ok = (path + [0]).withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) {
            (followingSymlink ? stat($0.baseAddress!, &info) : lstat($0.baseAddress!, &info)) == 0
        }
    }
    return ok ? info : nil
}

/// User-space half of path filtering, for the events whose path the kernel
/// could not place (tracepoint backend: a caller's string that is absolute or
/// climbs with "..", or a non-recursive watch below a caller-supplied base).
/// Paths are compared component-wise against the resolved watched paths.
public struct WatchFilter: Sendable {
    public var watched: [WatchedPath]
    public var recursive: Bool

    public init(watched: [WatchedPath], recursive: Bool) {
        self.watched = watched
        self.recursive = recursive
    }

    /// Whether `path` (absolute, normalised) is a watched object, or lies
    /// below a watched directory (only immediately below when not recursive).
    public func matches(_ path: [UInt8]) -> Bool {
        watched.contains { watch in
            Self.relation(of: path, to: watch.resolved).map { depth in
                depth == 0 || (watch.isDirectory && (recursive || depth == 1))
            } ?? false
        }
    }

    /// Number of components `path` lies below `ancestor`, or nil when it is not below it.
    static func relation(of path: [UInt8], to ancestor: [UInt8]) -> Int? {
        let slash = UInt8(ascii: "/")
        let root = ancestor == [slash]
        if !root {
            guard path.count >= ancestor.count, path.starts(with: ancestor) else { return nil }
            if path.count == ancestor.count { return 0 }
            guard path[ancestor.count] == slash else { return nil }
        }
        let rest = path[(root ? 0 : ancestor.count)...]
        return rest.split(separator: slash).count
    }
}

func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}
