import FSProbeCore
import Testing

@Suite struct TimestampTests {
    static let known: [(Int64, String)] = [
        (0, "1970-01-01T00:00:00.000000000Z"),
        (1, "1970-01-01T00:00:00.000000001Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (951_782_400_000_000_000, "2000-02-29T00:00:00.000000000Z"),      // leap day, century divisible by 400
        (1_709_251_199_999_999_999, "2024-02-29T23:59:59.999999999Z"),    // end of a leap day
        (4_107_542_400_000_000_000, "2100-03-01T00:00:00.000000000Z"),    // 2100 is not a leap year
        (1_798_761_599_999_999_999, "2026-12-31T23:59:59.999999999Z"),    // end of year
        (1_798_761_600_000_000_000, "2027-01-01T00:00:00.000000000Z"),
        (1_795_675_544_123_456_789, "2026-11-26T06:45:44.123456789Z"),
        (Int64.max, "2262-04-11T23:47:16.854775807Z"),
        (Int64.min, "1677-09-21T00:12:43.145224192Z"),
    ]

    @Test(arguments: known)
    func formatsKnownDates(nanoseconds: Int64, expected: String) {
        #expect(EventTimestamp(nanosecondsSinceEpoch: nanoseconds).rfc3339 == expected)
    }

    @Test func civilFieldsMatchEveryDayFor800Years() {
        // Walk day by day from 1600 and compare with a naive calendar.
        var (year, month, day) = (1600, 1, 1)
        let daysBefore1970 = -135_140
        for days in daysBefore1970..<(daysBefore1970 + 800 * 366) where year < 2400 {
            let t = CivilTime(EventTimestamp(nanosecondsSinceEpoch: 0), utcOffsetSeconds: days * 86_400)
            #expect(t.year == year && t.month == month && t.day == day)
            if t.year != year || t.month != month || t.day != day { return }
            day += 1
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let length = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            if day > length { day = 1; month += 1 }
            if month > 12 { month = 1; year += 1 }
        }
    }
}

@Suite struct ErrnoNameTests {
    @Test func namesCommonErrnos() {
        #expect(ErrnoName.name(1) == "EPERM")
        #expect(ErrnoName.name(2) == "ENOENT")
        #expect(ErrnoName.name(13) == "EACCES")
        #expect(ErrnoName.name(17) == "EEXIST")
        #expect(ErrnoName.name(36) == "ENAMETOOLONG")
        #expect(ErrnoName.name(39) == "ENOTEMPTY")
        #expect(ErrnoName.name(95) == "EOPNOTSUPP")
        #expect(ErrnoName.name(122) == "EDQUOT")
        #expect(ErrnoName.name(133) == "EHWPOISON")
        #expect(ErrnoName.name(512) == "ERESTARTSYS")
        #expect(ErrnoName.name(524) == "ENOTSUPP")
    }

    @Test func fallsBackToNumber() {
        #expect(ErrnoName.name(41) == "E41")
        #expect(ErrnoName.name(0) == "E0")
        #expect(ErrnoName.name(134) == "E134")
        #expect(ErrnoName.name(520) == "E520")
        #expect(ErrnoName.name(4095) == "E4095")
    }
}
