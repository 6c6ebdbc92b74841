/// Turning a raw name (path or `comm`) into what the TEXT column holds.
///
/// Almost every name is valid UTF-8 and is bound as it is, without copying;
/// only a name that is not gets a repaired copy (plus its exact bytes in the
/// `*_raw` column), so the common case allocates nothing.
enum NameText {
    /// Whether every byte belongs to a well-formed UTF-8 sequence (RFC 3629:
    /// no overlong forms, no surrogates, nothing above U+10FFFF).
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        while index < bytes.count, bytes[index] < 0x80 { index += 1 }  // paths are mostly ASCII
        if index == bytes.count { return true }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = UnsafeBufferPointer(rebasing: bytes[index...]).makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The text of a name that is not valid UTF-8: well-formed sequences
    /// copied, each byte of an ill-formed one replaced by U+FFFD — byte for
    /// byte what the JSON output shows, so both outputs agree on the text.
    static func repaired(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count + 8)
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                text.append(contentsOf: encoded)
            case .error(let length):
                for _ in 0..<length { text.append(contentsOf: [0xEF, 0xBF, 0xBD]) }
            case .emptyInput:
                return text
            }
        }
    }
}
