/// A directory or file whose subtree a path must be in (the `path_prefix`
/// condition of `filter`), compared as raw bytes.
///
/// The match ends on a component boundary: `/etc` matches `/etc` and
/// `/etc/hosts`, not `/etcetera`. Trailing slashes are dropped when it is
/// built (`/etc/` is `/etc`), and `/` matches every absolute path.
import FSProbeCore
public struct PathPrefix: Sendable, Hashable {
    /// Why a prefix was rejected.
    public struct InvalidPrefix: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public let bytes: [UInt8]

    public init(_ text: String) throws(InvalidPrefix) {
        var bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "/") else {
            throw InvalidPrefix(message: "is not an absolute path: paths in events always are")
        }
        while bytes.count > 1 && bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        self.bytes = bytes
    }

    public func matches(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { prefix in
            guard path.count >= prefix.count, path.starts(with: prefix) else { return false }
            // `/` ends with a slash already; any other prefix must end the path or a component.
            return path.count == prefix.count || prefix.count == 1 || path[prefix.count] == UInt8(ascii: "/")
        }
    }

    public func matches(_ path: [UInt8]) -> Bool {
        path.withUnsafeBufferPointer { matches($0) }
    }
}
