/// Durations as pipeline files and `fsprobe query` write them: a whole
/// number and one unit letter (`90s`, `30m`, `24h`, `7d`, `2w`).
enum DurationText {
    /// Nanoseconds of `text`, with its number at least `minimum`; nil when
    /// it is not one number and one of `units`, or when it overflows an
    /// Int64 of nanoseconds (what the sink and the query compare).
    static func nanoseconds(_ text: String, units: String = "smhd", minimum: Int64 = 1) -> Int64? {
        let number = text.utf8.dropLast()
        guard let unit = text.last, units.contains(unit), !number.isEmpty,
              number.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let count = Int64(text.dropLast()), count >= minimum else { return nil }
        let secondsPerUnit: Int64 = switch unit {
        case "s": 1
        case "m": 60
        case "h": 3600
        case "d": 86_400
        default: 604_800
        }
        let (nanoseconds, overflow) = count.multipliedReportingOverflow(by: secondsPerUnit * 1_000_000_000)
        return overflow ? nil : nanoseconds
    }
}
