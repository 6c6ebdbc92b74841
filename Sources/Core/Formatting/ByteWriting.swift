/// Low-level appenders shared by the formatters.
///
/// The formatters run once per event on the hot path, so they write digits and
/// constant text straight into the output (`ByteOutput`) instead of building
/// `String`s: the only allocation is the output buffer's own growth.
extension ByteOutput {
    /// Appends the bytes of a compile-time constant (no copy into a `String`).
    mutating func appendStatic(_ text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `value` in decimal.
    mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            append(UInt8(truncatingIfNeeded: value) &+ 0x30)
            return
        }
        let count = decimalDigitCount(value)
        appendFixed(count: count) { start in writeDigits(value, count: count, at: start) }
    }

    /// Appends `value` in decimal, with a leading `-` when negative.
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(value.magnitude)
        } else {
            appendDecimal(UInt64(value))
        }
    }

    /// Appends non-negative `value` in decimal, left-padded with zeros to
    /// `width` digits (timestamps); a wider value keeps its last `width`
    /// digits. Digits are written right to left with constant `/ 10` (a
    /// multiply), not with a variable divisor: division by a variable made
    /// timestamp formatting most of a JSON line's cost.
    mutating func appendDecimal(_ value: Int, zeroPaddedTo width: Int) {
        let width = Swift.min(Swift.max(width, 0), 20)
        guard width > 0 else { return }
        appendFixed(count: width) { start in writeDigits(UInt64(Swift.max(value, 0)), count: width, at: start) }
    }

    /// Appends `value` in lowercase hexadecimal without a prefix.
    mutating func appendHex(_ value: UInt64) {
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            append(hexDigit(UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 0xF))
            shift -= 4
        }
    }

    /// Appends `value` in octal without a prefix.
    mutating func appendOctal(_ value: UInt64) {
        var shift = 63
        while shift > 0 && (value >> UInt64(shift)) & 0x7 == 0 { shift -= 3 }
        while shift >= 0 {
            append(UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0x7) &+ 0x30)
            shift -= 3
        }
    }

    /// Appends one byte as two lowercase hex digits.
    mutating func appendHexByte(_ byte: UInt8) {
        append(hexDigit(byte >> 4))
        append(hexDigit(byte & 0xF))
    }
}

/// How many decimal digits `value` has (1 for 0): four digits a step,
/// each `/ 10_000` a multiply, then at most two comparisons.
@inline(__always)
func decimalDigitCount(_ value: UInt64) -> Int {
    var count = 1
    var rest = value
    while rest >= 10_000 {
        rest /= 10_000
        count &+= 4
    }
    if rest >= 100 {
        count &+= 2
        rest /= 100
    }
    return rest >= 10 ? count &+ 1 : count
}

/// "00" to "99", the two digits of each number below 100 at twice its offset.
private let digitPairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

/// Writes the last `count` decimal digits of `value` at `start`, right to
/// left (`count` at least 1), two at a time: one `/ 100` (a multiply) and
/// two copied bytes per pair, where a digit at a time halves the divisions'
/// work but doubles their number.
@inline(__always)
func writeDigits(_ value: UInt64, count: Int, at start: UnsafeMutablePointer<UInt8>) {
    let pairs = digitPairs.utf8Start
    var rest = value
    var index = count
    while index >= 2 {
        let quotient = rest / 100
        let pair = Int(truncatingIfNeeded: rest &- quotient &* 100) &<< 1
        rest = quotient
        index &-= 2
        start[index] = pairs[pair]
        start[index &+ 1] = pairs[pair &+ 1]
    }
    if index == 1 {
        start[0] = UInt8(truncatingIfNeeded: rest % 10) &+ 0x30
    }
}

func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? nibble &+ 0x30 : nibble &+ 0x57
}

extension Array where Element == UInt8 {
    /// Appends spaces until the text since `start` is at least `width` bytes wide.
    mutating func padColumn(from start: Int, to width: Int) {
        var written = count - start
        while written < width {
            append(UInt8(ascii: " "))
            written += 1
        }
    }
}
