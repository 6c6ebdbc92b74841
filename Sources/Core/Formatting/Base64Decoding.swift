/// Reads back what `appendBase64` writes (the `*_raw` fields): standard
/// base64 (RFC 4648 §4) with `=` padding, canonical only — no whitespace,
/// no URL alphabet, no stray bits in the last character — so one name has
/// one spelling and a corrupted value is refused rather than guessed at.
enum Base64Decoding {
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var index = 0
        while index < text.count {
            let last = index + 4 == text.count
            guard let a = value(text[index]), let b = value(text[index + 1]) else { return nil }
            let c3 = text[index + 2], c4 = text[index + 3]
            if last && c3 == UInt8(ascii: "=") {
                guard c4 == UInt8(ascii: "="), b & 0x0F == 0 else { return nil }
                output.append(a << 2 | b >> 4)
                break
            }
            guard let c = value(c3) else { return nil }
            if last && c4 == UInt8(ascii: "=") {
                guard c & 0x03 == 0 else { return nil }
                output.append(a << 2 | b >> 4)
                output.append(b << 4 | c >> 2)
                break
            }
            guard let d = value(c4) else { return nil }
            output.append(a << 2 | b >> 4)
            output.append(b << 4 | c >> 2)
            output.append(c << 6 | d)
            index += 4
        }
        return output
    }

    @inline(__always) private static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
