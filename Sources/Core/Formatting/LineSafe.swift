/// Text that is safe on one line of a terminal or a log, whatever it holds.
extension String {
    /// Control characters (C0, DEL, C1, line and paragraph separators, bidi
    /// overrides) shown as `\u{XX}`; everything else as is.
    public var lineSafe: String {
        var out = ""
        for scalar in unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7f...0x9f).contains(v) || v == 0x2028 || v == 0x2029
                || (0x202a...0x202e).contains(v) || (0x2066...0x2069).contains(v) {
                out += "\\u{" + String(v, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
