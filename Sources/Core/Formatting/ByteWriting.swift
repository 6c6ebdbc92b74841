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

/// How many decimal digits `value` has (1 for 0).
@inline(__always)
func decimalDigitCount(_ value: UInt64) -> Int {
    var count = 1
    var bound: UInt64 = 10
    while count < 20 && value >= bound {
        count &+= 1
        bound = bound &* 10
    }
    return count
}

/// Writes the last `count` decimal digits of `value` at `start`, right to
/// left (`count` at least 1).
@inline(__always)
func writeDigits(_ value: UInt64, count: Int, at start: UnsafeMutablePointer<UInt8>) {
    var v = value
    var index = count
    repeat {
        index &-= 1
        start[index] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
        v /= 10
    } while index > 0
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
