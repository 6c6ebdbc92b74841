/// JSON string escaping for raw bytes (paths, `comm`) that may be hostile.
extension ByteOutput {
    /// Appends `bytes` as the contents of a JSON string (without the quotes)
    /// and returns whether `bytes` was entirely valid UTF-8.
    ///
    /// The result is always valid JSON and valid UTF-8 with no raw byte below
    /// 0x20, so a name can never split or forge a line:
    /// - `"` and `\` are escaped; `\n \r \t \b \f` use their short forms; other
    ///   C0 controls, DEL, C1 controls, U+2028/U+2029 and the bidi overrides
    ///   (see `UTF8Scanner.isInvisibleControl`) become `\uXXXX`.
    /// - Well-formed multi-byte UTF-8 is copied through unchanged.
    /// - Each byte that is not part of a well-formed sequence becomes U+FFFD.
    ///   That is lossy, so the encoder then adds a `*_raw` field with the exact
    ///   bytes (see `JSONLineEncoder`).
    @discardableResult
    mutating func appendJSONEscaped(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var valid = true
        var i = 0
        var runStart = 0
        let n = bytes.count
        while i < n {
            i = Self.endOfPlainASCII(bytes, from: i)
            if i == n { break }
            let byte = bytes[i]
            // Copy the run of plain ASCII seen so far in one go.
            if runStart < i { append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            if byte < 0x80 {
                appendJSONEscapedASCII(byte)
                i += 1
            } else {
                let length = UTF8Scanner.sequenceLength(bytes, at: i)
                if length == 0 {
                    valid = false
                    append(0xEF)  // U+FFFD REPLACEMENT CHARACTER
                    append(0xBF)
                    append(0xBD)
                    i += 1
                } else if UTF8Scanner.isInvisibleControl(bytes, at: i, length: length) {
                    appendJSONUnicodeEscape(Self.scalarValue(bytes, at: i, length: length))
                    i += length
                } else {
                    append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + length)]))
                    i += length
                }
            }
            runStart = i
        }
        if runStart < n { append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<n])) }
        return valid
    }

    /// The end of the run of bytes from `start` that a JSON string carries
    /// as they are (printable ASCII other than `"` and `\\`). Eight bytes a
    /// step while none of them needs a look: names are mostly plain.
    @inline(__always)
    private static func endOfPlainASCII(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return start }
        let n = bytes.count
        var i = start
        while i &+ 8 <= n && !mayNeedEscaping(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
            i &+= 8
        }
        while i < n {
            let byte = base[i]
            guard byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") else { break }
            i &+= 1
        }
        return i
    }

    /// Whether some byte of `word` may not be plain (see `endOfPlainASCII`):
    /// below 0x20, 0x7F or above, `"` or `\\`. Never false for such a byte;
    /// a carry between bytes may make it true for a plain word, which then
    /// only takes the byte-at-a-time path.
    @inline(__always)
    private static func mayNeedEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let control = (word &- ones &* 0x20) & ~word & highs    // a byte below 0x20
        let high = (word | (word &+ ones)) & highs                // 0x7F or above
        let quote = hasZeroByte(word ^ (ones &* UInt64(UInt8(ascii: "\""))))
        let backslash = hasZeroByte(word ^ (ones &* UInt64(UInt8(ascii: "\\"))))
        return control | high | quote | backslash != 0
    }

    private mutating func appendJSONEscapedASCII(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): appendStatic("\\\"")
        case UInt8(ascii: "\\"): appendStatic("\\\\")
        case 0x0A: appendStatic("\\n")
        case 0x0D: appendStatic("\\r")
        case 0x09: appendStatic("\\t")
        case 0x08: appendStatic("\\b")
        case 0x0C: appendStatic("\\f")
        default: appendJSONUnicodeEscape(UInt32(byte))
        }
    }

    /// Appends `\uXXXX` for a BMP scalar.
    private mutating func appendJSONUnicodeEscape(_ scalar: UInt32) {
        appendStatic("\\u")
        append(hexDigit(UInt8((scalar >> 12) & 0xF)))
        append(hexDigit(UInt8((scalar >> 8) & 0xF)))
        append(hexDigit(UInt8((scalar >> 4) & 0xF)))
        append(hexDigit(UInt8(scalar & 0xF)))
    }

    /// The scalar of a well-formed 2- or 3-byte sequence.
    private static func scalarValue(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, length: Int) -> UInt32 {
        if length == 2 {
            return UInt32(bytes[i] & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
        }
        return UInt32(bytes[i] & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
    }

    /// Appends standard base64 (RFC 4648 §4, with `=` padding) of `bytes`.
    mutating func appendBase64(_ bytes: UnsafeBufferPointer<UInt8>) {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        let table = alphabet.utf8Start
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            append(table[Int(v >> 18)])
            append(table[Int((v >> 12) & 0x3F)])
            append(table[Int((v >> 6) & 0x3F)])
            append(table[Int(v & 0x3F)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            append(table[Int(v >> 18)])
            append(table[Int((v >> 12) & 0x3F)])
            appendStatic("==")
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            append(table[Int(v >> 18)])
            append(table[Int((v >> 12) & 0x3F)])
            append(table[Int((v >> 6) & 0x3F)])
            append(UInt8(ascii: "="))
        }
    }
}
