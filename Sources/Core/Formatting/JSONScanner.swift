/// A cursor over one JSON text, for `EventJSONDecoder`: tokens are read in
/// place, and a string is only validated and located, not copied, so the
/// decoder copies each value once, into its final home.
///
/// Every read goes through `byte(at:)`, which answers 0 past the end. NUL is
/// invalid wherever JSON expects a token and inside a string, so the end of
/// the input needs no test of its own: it is reported like any wrong byte,
/// and no input can make the scanner read outside its buffer.
struct JSONScanner {
    let input: UnsafeBufferPointer<UInt8>
    var position = 0

    /// Containers an unknown value may nest, however deep: skipping keeps a
    /// bit per level in one `UInt64`, without recursion.
    static let maxSkipDepth = 64

    init(_ input: UnsafeBufferPointer<UInt8>) {
        self.input = input
    }

    @inline(__always) func byte(at index: Int) -> UInt8 {
        index < input.count ? input[index] : 0
    }

    @inline(__always) var current: UInt8 { byte(at: position) }
    var isAtEnd: Bool { position >= input.count }

    @inline(__always) mutating func skipWhitespace() {
        while true {
            switch current {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// An error at `offset` (the current position by default): `expected`
    /// and what is there instead.
    func failure(_ expected: String, at offset: Int? = nil) -> EventJSONDecodeError {
        let offset = offset ?? position
        return EventJSONDecodeError(reason: "expected \(expected), found \(describe(at: offset))", offset: offset)
    }

    /// The byte at `offset` as a person reads it; never a raw control byte.
    func describe(at offset: Int) -> String {
        guard offset < input.count else { return "the end of the input" }
        let byte = input[offset]
        if byte > 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16)
    }

    @inline(__always) mutating func expect(_ byte: UInt8, _ what: String) throws(EventJSONDecodeError) {
        guard current == byte else { throw failure(what) }
        position += 1
    }

    /// Consumes `null` if it is next.
    @inline(__always) mutating func scanNull() -> Bool {
        guard current == UInt8(ascii: "n"), byte(at: position + 1) == UInt8(ascii: "u"),
              byte(at: position + 2) == UInt8(ascii: "l"), byte(at: position + 3) == UInt8(ascii: "l") else { return false }
        position += 4
        return true
    }

    mutating func scanBool() throws(EventJSONDecodeError) -> Bool {
        if current == UInt8(ascii: "t"), byte(at: position + 1) == UInt8(ascii: "r"),
           byte(at: position + 2) == UInt8(ascii: "u"), byte(at: position + 3) == UInt8(ascii: "e") {
            position += 4
            return true
        }
        if current == UInt8(ascii: "f"), byte(at: position + 1) == UInt8(ascii: "a"), byte(at: position + 2) == UInt8(ascii: "l"),
           byte(at: position + 3) == UInt8(ascii: "s"), byte(at: position + 4) == UInt8(ascii: "e") {
            position += 5
            return false
        }
        throw failure("true or false")
    }

    // MARK: numbers

    /// A non-negative integer up to `max`, as JSON writes it (no sign, no
    /// leading zero, no fraction or exponent).
    mutating func scanUnsigned(max: UInt64, _ what: @autoclosure () -> String) throws(EventJSONDecodeError) -> UInt64 {
        let start = position
        guard let value = scanMagnitude(), value <= max else {
            throw failure(what(), at: start)
        }
        return value
    }

    /// A signed 64-bit integer.
    mutating func scanSigned(_ what: @autoclosure () -> String) throws(EventJSONDecodeError) -> Int64 {
        let start = position
        let negative = current == UInt8(ascii: "-")
        if negative { position += 1 }
        guard let magnitude = scanMagnitude() else { throw failure(what(), at: start) }
        if negative {
            guard magnitude <= Int64.min.magnitude else { throw failure(what(), at: start) }
            return magnitude == Int64.min.magnitude ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw failure(what(), at: start) }
        return Int64(magnitude)
    }

    /// Digits at the position as a `UInt64`; nil when there are none, when
    /// they overflow, start with a superfluous 0, or go on as a fraction or
    /// an exponent (not an integer).
    private mutating func scanMagnitude() -> UInt64? {
        let start = position
        var value: UInt64 = 0
        while case let digit = current &- UInt8(ascii: "0"), digit < 10 {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
            position += 1
        }
        let digits = position - start
        guard digits > 0, digits == 1 || input[start] != UInt8(ascii: "0") else { return nil }
        switch current {
        case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
        default: return value
        }
    }

    /// Any JSON number.
    private mutating func skipNumber() throws(EventJSONDecodeError) {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        func digits(_ scanner: inout JSONScanner) -> Int {
            let from = scanner.position
            while scanner.current &- UInt8(ascii: "0") < 10 { scanner.position += 1 }
            return scanner.position - from
        }
        if current == UInt8(ascii: "0") {
            position += 1
        } else if digits(&self) == 0 {
            throw failure("a number", at: start)
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw failure("a digit after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw failure("a digit in the exponent") }
        }
    }

    // MARK: strings

    /// Validates the string that starts at the position (its opening quote)
    /// and returns where its contents lie, leaving the position after it.
    ///
    /// Strict JSON: no raw control character, only the escapes JSON has,
    /// surrogates only in pairs, and the bytes valid UTF-8 (a raw byte that
    /// is not would make a name that the encoder never writes).
    mutating func scanString() throws(EventJSONDecodeError) -> JSONString {
        guard current == UInt8(ascii: "\"") else { throw failure("a string") }
        position += 1
        let start = position
        var escaped = false
        while true {
            skipPlainASCII()
            let byte = current
            if byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                position += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                let string = JSONString(start: start, end: position, hasEscapes: escaped)
                position += 1
                return string
            case UInt8(ascii: "\\"):
                escaped = true
                try scanEscape()
            case 0x80...:
                let length = UTF8Scanner.sequenceLength(input, at: position)
                guard length > 0 else {
                    throw EventJSONDecodeError(reason: "expected UTF-8 in a string, found byte 0x" + String(byte, radix: 16),
                                               offset: position)
                }
                position += length
            default:
                if isAtEnd { throw failure("'\"' closing the string") }
                throw failure("an escaped control character in a string")
            }
        }
    }

    /// Moves past bytes a string holds as they are (printable ASCII but `"`
    /// and `\`), eight at a time while no word holds another: names are
    /// mostly such runs, and this loop is most of a line's cost.
    @inline(__always) private mutating func skipPlainASCII() {
        guard let base = input.baseAddress else { return }
        let n = input.count
        var i = position
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= n {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            // A byte below 0x20, at or above 0x80, or equal to `"` or `\`
            // sets its high bit here (exact tests: no false positives).
            let control = (word &- ones &* 0x20) & ~word
            let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
            let special = (control | word | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)) & highs
            if special != 0 {
                i += special.trailingZeroBitCount >> 3
                position = i
                return
            }
            i += 8
        }
        while i < n {
            let byte = base[i]
            guard byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") else { break }
            i += 1
        }
        position = i
    }

    /// Validates one escape (the position at its backslash).
    private mutating func scanEscape() throws(EventJSONDecodeError) {
        let start = position
        switch byte(at: position + 1) {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            guard let unit = hexUnit(at: position + 2) else { throw failure("four hexadecimal digits after \\u", at: start) }
            position += 6
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw EventJSONDecodeError(reason: "expected a high surrogate before a low one, found a lone \\u" + String(unit, radix: 16),
                                           offset: start)
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard current == UInt8(ascii: "\\"), byte(at: position + 1) == UInt8(ascii: "u"),
                      let low = hexUnit(at: position + 2), low >= 0xDC00 && low <= 0xDFFF else {
                    throw EventJSONDecodeError(reason: "expected a low surrogate after \\u" + String(unit, radix: 16) + ", found none",
                                               offset: start)
                }
                position += 6
            }
        default:
            throw failure("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", at: start + 1)
        }
    }

    /// The UTF-16 unit of the four hexadecimal digits at `index`.
    func hexUnit(at index: Int) -> UInt32? {
        var unit: UInt32 = 0
        for offset in 0..<4 {
            let byte = self.byte(at: index + offset)
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            unit = unit << 4 | UInt32(digit)
        }
        return unit
    }

    /// The raw contents of `string` (escapes not decoded).
    @inline(__always) func contents(_ string: JSONString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: input[string.start..<string.end])
    }

    /// Appends the bytes `string` stands for (its escapes decoded) to
    /// `output`. Only for strings `scanString` accepted.
    func appendDecoded(_ string: JSONString, to output: inout [UInt8]) {
        guard string.hasEscapes else { return output.append(contentsOf: contents(string)) }
        var index = string.start
        var runStart = index
        while index < string.end {
            guard input[index] == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            if runStart < index { output.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<index])) }
            let letter = byte(at: index + 1)
            index += 2
            switch letter {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hexUnit(at: index) ?? 0xFFFD
                index += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF, byte(at: index) == UInt8(ascii: "\\"),
                   let low = hexUnit(at: index + 2), low >= 0xDC00 && low <= 0xDFFF {
                    scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                    index += 6
                }
                output.appendUTF8(scalar)
            default: output.append(letter)  // \" \\ \/
            }
            runStart = index
        }
        if runStart < string.end { output.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<string.end])) }
    }

    /// Whether `string` stands for exactly `text`.
    func decodedEquals(_ string: JSONString, _ text: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        if !string.hasEscapes { return contents(string).elementsEqual(expected) }
        var decoded: [UInt8] = []
        appendDecoded(string, to: &decoded)
        return decoded.elementsEqual(expected)
    }

    // MARK: skipping

    /// Skips one value of any type (an unknown key's), without recursion:
    /// one bit per open container (1: object, 0: array), at most
    /// `maxSkipDepth` deep.
    mutating func skipValue() throws(EventJSONDecodeError) {
        var objects: UInt64 = 0
        var depth = 0
        while true {
            // A value.
            skipWhitespace()
            switch current {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < Self.maxSkipDepth else { throw failure("at most \(Self.maxSkipDepth) nested containers") }
                let isObject = current == UInt8(ascii: "{")
                objects = objects << 1 | (isObject ? 1 : 0)
                depth += 1
                position += 1
                skipWhitespace()
                if current == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    position += 1
                    objects >>= 1
                    depth -= 1
                } else {
                    if isObject { try skipMemberKey() }
                    continue
                }
            case UInt8(ascii: "\""): _ = try scanString()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
            case UInt8(ascii: "n"): guard scanNull() else { throw failure("a value") }
            case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try scanBool()
            default: throw failure("a value")
            }
            // After a value: close containers, or go on to the next member.
            while true {
                guard depth > 0 else { return }
                skipWhitespace()
                let inObject = objects & 1 == 1
                if current == UInt8(ascii: ",") {
                    position += 1
                    if inObject { try skipMemberKey() }
                    break
                }
                guard current == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw failure(inObject ? "',' or '}'" : "',' or ']'")
                }
                position += 1
                objects >>= 1
                depth -= 1
            }
        }
    }

    /// A member's key and colon, inside a skipped object.
    private mutating func skipMemberKey() throws(EventJSONDecodeError) {
        skipWhitespace()
        _ = try scanString()
        skipWhitespace()
        try expect(UInt8(ascii: ":"), "':'")
    }
}

/// Where a string's contents lie in the input (without its quotes), and
/// whether they hold escapes (when not, they are the string's bytes).
struct JSONString {
    var start: Int
    var end: Int
    var hasEscapes: Bool

    static let empty = JSONString(start: 0, end: 0, hasEscapes: false)
}

extension Array where Element == UInt8 {
    /// Appends `scalar` in UTF-8 (a lone surrogate, which JSON validation
    /// has already refused, would become U+FFFD).
    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case ..<0x80:
            append(UInt8(scalar))
        case ..<0x800:
            append(UInt8(0xC0 | scalar >> 6))
            append(UInt8(0x80 | scalar & 0x3F))
        case 0xD800...0xDFFF:
            appendUTF8(0xFFFD)
        case ..<0x10000:
            append(UInt8(0xE0 | scalar >> 12))
            append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            append(UInt8(0x80 | scalar & 0x3F))
        default:
            append(UInt8(0xF0 | (scalar >> 18) & 0x07))
            append(UInt8(0x80 | (scalar >> 12) & 0x3F))
            append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
