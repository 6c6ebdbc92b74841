/// Calendar fields of an `EventTimestamp` in UTC, computed by hand.
///
/// Formatting runs once per event, so this avoids `DateFormatter`, `Date` and
/// `gmtime_r` (locks, allocations, time-zone files): it is pure integer
/// arithmetic, the days-to-civil algorithm from Howard Hinnant's
/// "chrono-Compatible Low-Level Date Algorithms" (proleptic Gregorian, exact
/// for every `Int64` nanosecond value, i.e. years 1677–2262).
public struct CivilTime: Sendable, Hashable {
    public var year: Int
    /// 1...12
    public var month: Int
    /// 1...31
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// 0...999_999_999
    public var nanosecond: Int

    /// Breaks `timestamp` into UTC fields. Negative timestamps (before 1970)
    /// round toward the past, as calendars do.
    public init(_ timestamp: EventTimestamp, utcOffsetSeconds: Int = 0) {
        let ns = timestamp.nanosecondsSinceEpoch
        var seconds = Int(ns / 1_000_000_000)
        var nanos = Int(ns % 1_000_000_000)
        if nanos < 0 {
            nanos += 1_000_000_000
            seconds -= 1
        }
        seconds += utcOffsetSeconds
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (y, m, d) = CivilTime.civil(fromDays: days)
        self.year = y
        self.month = m
        self.day = d
        self.hour = secondOfDay / 3600
        self.minute = (secondOfDay % 3600) / 60
        self.second = secondOfDay % 60
        self.nanosecond = nanos
    }

    /// Year, month, day of the day `days` after 1970-01-01.
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097                                   // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365  // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)             // [0, 365]
        let mp = (5 * doy + 2) / 153                                  // [0, 11], March-based
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

extension ByteOutput {
    /// Appends `2026-11-26T06:45:44.123456789Z` (RFC 3339, UTC, always nine
    /// fractional digits so lines sort and align as text).
    ///
    /// Every part has a fixed width, so the 30 bytes are written in place in
    /// one `appendFixed` (two timestamps a JSON line, each 13 appends before).
    mutating func appendRFC3339(_ timestamp: EventTimestamp) {
        let t = CivilTime(timestamp)
        appendFixed(count: 30) { p in
            var offset = 0
            func field(_ value: Int, _ width: Int, then separator: Unicode.Scalar) {
                writeDigits(UInt64(Swift.max(value, 0)), count: width, at: p + offset)
                p[offset + width] = UInt8(ascii: separator)
                offset += width + 1
            }
            field(t.year, 4, then: "-")
            field(t.month, 2, then: "-")
            field(t.day, 2, then: "T")
            field(t.hour, 2, then: ":")
            field(t.minute, 2, then: ":")
            field(t.second, 2, then: ".")
            field(t.nanosecond, 9, then: "Z")
        }
    }

    /// Appends `HH:MM:SS` followed by `.` and `fractionDigits` (0...9) digits.
    mutating func appendTimeOfDay(_ t: CivilTime, fractionDigits: Int) {
        appendDecimal(t.hour, zeroPaddedTo: 2)
        append(UInt8(ascii: ":"))
        appendDecimal(t.minute, zeroPaddedTo: 2)
        append(UInt8(ascii: ":"))
        appendDecimal(t.second, zeroPaddedTo: 2)
        guard fractionDigits > 0 else { return }
        append(UInt8(ascii: "."))
        var fraction = t.nanosecond
        for _ in fractionDigits..<9 { fraction /= 10 }
        appendDecimal(fraction, zeroPaddedTo: fractionDigits)
    }
}

extension EventTimestamp {
    /// The timestamp as RFC 3339 UTC text with nanoseconds, as in JSON output.
    public var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.appendRFC3339(self)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the RFC 3339 text to `buffer` without allocating a `String`.
    public func appendRFC3339(to buffer: inout [UInt8]) {
        buffer.appendRFC3339(self)
    }
}
