#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a stdout or file sink failed, as one line a user can act on.
public enum SinkError: Error, Equatable, CustomStringConvertible {
    /// `open(2)` failed: `cannot open output file '/x/y': Permission denied`.
    case cannotOpen(path: String, errno: Int32)
    /// `write(2)` failed: `cannot write to '/x/y': No space left on device`.
    case writeFailed(name: String, errno: Int32)
    /// `close(2)` failed (NFS reports deferred write errors here).
    case closeFailed(name: String, errno: Int32)

    public var description: String {
        switch self {
        case let .cannotOpen(path, code): "cannot open output file '\(path)': \(Self.message(code))"
        case let .writeFailed(name, code): "cannot write to '\(name)': \(Self.message(code))"
        case let .closeFailed(name, code): "cannot close '\(name)': \(Self.message(code))"
        }
    }

    /// The C library's text for `code` (e.g. "Permission denied").
    static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
