/// Reads back what `appendRFC3339` writes: the reverse of `CivilTime`,
/// by hand for the same reasons (no `Date`, no locale, no allocation).
///
/// Accepts RFC 3339 as fsprobe and other producers write it:
/// `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits, then `Z`
/// or a `+HH:MM`/`-HH:MM` offset. Any calendar date of years 0000–9999
/// parses; an `EventTimestamp` holds nanoseconds in an `Int64`, so only
/// 1677-09-21 to 2262-04-11 fit and later or earlier ones are out of range,
/// not wrapped. Leap seconds (`:60`) are refused: the encoder never writes
/// one, and nanoseconds since the epoch cannot tell it from the next second.
enum RFC3339Parsing {
    enum Result: Equatable {
        case time(EventTimestamp)
        case malformed
        case outOfRange
    }

    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> Result {
        @inline(__always) func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= text.count else { return nil }
            var value = 0
            for index in at..<(at + count) {
                let digit = text[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        @inline(__always) func byte(_ at: Int) -> UInt8 { at < text.count ? text[at] : 0 }

        guard let year = digits(0, 4), byte(4) == UInt8(ascii: "-"), let month = digits(5, 2), byte(7) == UInt8(ascii: "-"),
              let day = digits(8, 2), byte(10) == UInt8(ascii: "T"), let hour = digits(11, 2), byte(13) == UInt8(ascii: ":"),
              let minute = digits(14, 2), byte(16) == UInt8(ascii: ":"), let second = digits(17, 2)
        else { return .malformed }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return .malformed }

        var index = 19
        var nanosecond = 0
        if byte(index) == UInt8(ascii: ".") {
            index += 1
            var count = 0
            while case let digit = byte(index) &- UInt8(ascii: "0"), digit < 10 {
                guard count < 9 else { return .malformed }
                nanosecond = nanosecond * 10 + Int(digit)
                count += 1
                index += 1
            }
            guard count > 0 else { return .malformed }
            for _ in count..<9 { nanosecond *= 10 }
        }

        var offsetSeconds = 0
        switch byte(index) {
        case UInt8(ascii: "Z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHour = digits(index + 1, 2), byte(index + 3) == UInt8(ascii: ":"),
                  let offsetMinute = digits(index + 4, 2), offsetHour < 24, offsetMinute < 60 else { return .malformed }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (byte(index) == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return .malformed
        }
        guard index == text.count else { return .malformed }

        // Local time minus its offset is UTC. Years 0–9999 stay far inside
        // Int, so only the conversion to nanoseconds can overflow.
        var seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        if seconds < 0 && nanosecond > 0 {
            // Borrow a second so the product below stays in range at the
            // very start of Int64 (its first second is a partial one).
            seconds += 1
            nanosecond -= 1_000_000_000
        }
        let (product, overflow) = Int64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, overflow2) = product.addingReportingOverflow(Int64(nanosecond))
        guard !overflow && !overflow2 else { return .outOfRange }
        return .time(EventTimestamp(nanosecondsSinceEpoch: sum))
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the date: `days_from_civil` of the same
    /// paper `CivilTime.civil(fromDays:)` follows, so the two are inverses.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400                                          // [0, 399]
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1  // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy                  // [0, 146096]
        return era * 146_097 + doe - 719_468
    }
}
