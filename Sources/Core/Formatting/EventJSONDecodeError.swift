/// Why `EventJSONDecoder` refused an input, and where.
public struct EventJSONDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, starting with the key it concerns (line-safe: a
    /// hostile key cannot forge a log line) and what was expected there.
    public var reason: String
    /// The byte offset in the input where it went wrong.
    public var offset: Int
    /// Whether `reason` already starts with a key, so an enclosing key is
    /// joined to it with a dot (`setattr.xattr.op: …`).
    private var keyed = false

    public init(reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    /// The error inside the value of `key`.
    func inside(key: String) -> EventJSONDecodeError {
        var error = self
        error.reason = key.lineSafe + (keyed ? "." : ": ") + reason
        error.keyed = true
        return error
    }

    public var description: String { "offset \(offset): \(reason)" }

    public static func == (lhs: EventJSONDecodeError, rhs: EventJSONDecodeError) -> Bool {
        lhs.reason == rhs.reason && lhs.offset == rhs.offset
    }
}
