/// Escaping of raw names for the human-readable table.
extension Array where Element == UInt8 {
    /// Appends `bytes` so that a terminal shows every byte for what it is and
    /// nothing can break the line, move the cursor or forge a column:
    /// - `\` becomes `\\`; newline, tab and CR become `\n`, `\t`, `\r`;
    ///   other C0 controls (ESC included) and DEL become `\xHH`.
    /// - Bytes that are not well-formed UTF-8 become `\xHH`, one per byte.
    /// - Well-formed characters that act as controls (C1, U+2028/9, bidi
    ///   overrides; see `UTF8Scanner.isInvisibleControl`) become `\xHH` per byte.
    /// - The table's own markers — `*`, `>` and `…` (U+2026) — are escaped
    ///   too (`\x2a`, `\x3e`, `\xe2\x80\xa6`), so a name can never imitate a
    ///   truncation or caller mark or the ` -> ` of a rename.
    /// - With `escapeSpace`, a space becomes `\x20`: used for columns before
    ///   the last, so the table still splits on whitespace.
    /// Everything else, including ordinary non-ASCII text, is copied as is.
    /// The escaping is reversible: `\\` and `\x` never come from a name itself.
    mutating func appendTableEscaped(_ bytes: UnsafeBufferPointer<UInt8>, escapeSpace: Bool = false) {
        var i = 0
        var runStart = 0
        let n = bytes.count
        while i < n {
            let byte = bytes[i]
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "*")
                && byte != UInt8(ascii: ">") || (byte == 0x20 && !escapeSpace) {
                i += 1
                continue
            }
            if runStart < i { append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            if byte < 0x80 {
                switch byte {
                case UInt8(ascii: "\\"): appendStatic("\\\\")
                case 0x0A: appendStatic("\\n")
                case 0x09: appendStatic("\\t")
                case 0x0D: appendStatic("\\r")
                default: appendEscapedByte(byte)
                }
                i += 1
            } else {
                let length = UTF8Scanner.sequenceLength(bytes, at: i)
                if length == 0 {
                    appendEscapedByte(byte)
                    i += 1
                } else {
                    let isEllipsis = length == 3 && bytes[i] == 0xE2 && bytes[i + 1] == 0x80 && bytes[i + 2] == 0xA6
                    if isEllipsis || UTF8Scanner.isInvisibleControl(bytes, at: i, length: length) {
                        for k in i..<(i + length) { appendEscapedByte(bytes[k]) }
                    } else {
                        append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + length)]))
                    }
                    i += length
                }
            }
            runStart = i
        }
        if runStart < n { append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<n])) }
    }

    private mutating func appendEscapedByte(_ byte: UInt8) {
        appendStatic("\\x")
        appendHexByte(byte)
    }

    /// Appends `…` (U+2026), the table's truncation mark.
    mutating func appendEllipsis() {
        append(0xE2)
        append(0x80)
        append(0xA6)
    }
}

extension String {
    /// Raw bytes (a path, a name) for a one-line message, escaped as in the
    /// table (`appendTableEscaped`): no name can break the line, forge
    /// another, or send escape sequences to a terminal.
    public init(lineEscaping bytes: [UInt8]) {
        var escaped: [UInt8] = []
        escaped.reserveCapacity(bytes.count)
        bytes.withUnsafeBufferPointer { escaped.appendTableEscaped($0) }
        self.init(decoding: escaped, as: UTF8.self)
    }
}
