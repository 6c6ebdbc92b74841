/// Validates UTF-8 one sequence at a time, for the escapers.
///
/// File names and `comm` are raw bytes chosen by whoever created them, so the
/// formatters must decide byte by byte what is a well-formed character (copied
/// through) and what is not (escaped). This follows the well-formed byte
/// sequences of RFC 3629 §4 / Unicode Table 3-7: no overlong forms, no UTF-16
/// surrogates, nothing above U+10FFFF.
package enum UTF8Scanner {
    /// Length (2...4) of the well-formed multi-byte sequence starting at
    /// `bytes[index]`, or 0 when the byte there does not start one.
    /// Callers handle ASCII (`< 0x80`) before calling this.
    package static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        let remaining = bytes.count - index
        @inline(__always) func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            offset < remaining && bytes[index + offset] >= low && bytes[index + offset] <= high
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : 0
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }

    /// Whether every byte belongs to a well-formed sequence.
    package static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < bytes.count {
            if bytes[i] < 0x80 {
                i += 1
                continue
            }
            let length = sequenceLength(bytes, at: i)
            if length == 0 { return false }
            i += length
        }
        return true
    }

    /// Whether the well-formed sequence at `index` (of `length` bytes) is a
    /// character that some consumer treats as a control even though it is
    /// valid text: C1 controls U+0080–U+009F (U+009B is CSI on terminals that
    /// honour 8-bit controls), the line/paragraph separators U+2028/U+2029
    /// (line breaks for JavaScript and some editors), and the bidirectional
    /// overrides U+202A–U+202E and U+2066–U+2069 (they reorder what a
    /// terminal shows, so a name could visually forge another).
    package static func isInvisibleControl(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, length: Int) -> Bool {
        let lead = bytes[index]
        if length == 2 { return lead == 0xC2 && bytes[index + 1] <= 0x9F }
        if length == 3 && lead == 0xE2 {
            let b1 = bytes[index + 1], b2 = bytes[index + 2]
            if b1 == 0x80 { return b2 >= 0xA8 && b2 <= 0xAE }  // U+2028...U+202E
            if b1 == 0x81 { return b2 >= 0xA6 && b2 <= 0xA9 }  // U+2066...U+2069
        }
        return false
    }
}
