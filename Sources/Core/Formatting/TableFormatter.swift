#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Formats events as a human-readable table: the original FSProbe's columns,
/// exactly one line per event.
///
///     EVT     TS              PID     TID     UID    GID    CMD              INODE      MOUNTID RET    MODE    FLAG       PATH
///     open    06:45:44.123456 1234    1234    1000   1000   cat              131090     28      3      0       0x8000     /etc/hosts
///
/// - TS is the time of day with microseconds, in UTC or local time (see
///   `Clock`); the date is in the JSON output.
/// - RET is the raw return value (`-2` for ENOENT); MODE is octal with a
///   leading `0` (`0644`), FLAG is hexadecimal (`0x8241`).
/// - PATH is the source path; for `rename` and `link` it is `source -> target`.
/// - A path whose beginning is missing (the kernel's walk stopped before the
///   root) starts with `…`; one whose end is missing (the caller's string was
///   longer than fsprobe copies, or unreadable) ends with `…`. A path whose tail is the
///   string the caller passed, not a kernel-resolved path, ends with `*`.
///
/// Names are escaped so that no file name or process name can break the line,
/// emit terminal escapes or imitate a marker (see `appendTableEscaped`);
/// a space in CMD is shown as `\x20` so columns split on whitespace. Columns
/// are padded to fixed minimum widths and grow when a value is wider.
/// The table is for people; programs should read the JSON output, whose
/// flags are exact.
public struct TableFormatter: Sendable {
    /// Which clock the TS column shows.
    public enum Clock: String, Sendable, CaseIterable {
        case utc
        /// The machine's local time zone (`localtime_r`).
        case local
    }

    /// Column titles, in order.
    public static let columns = ["EVT", "TS", "PID", "TID", "UID", "GID", "CMD", "INODE", "MOUNTID", "RET",
                                 "MODE", "FLAG", "PATH"]
    /// Minimum widths of every column but PATH.
    static let widths = [7, 15, 7, 7, 6, 6, 16, 10, 7, 6, 7, 10]

    public let clock: Clock
    /// Local-time offset cache: `localtime_r` costs more than the rest of a
    /// line, and the offset changes at most at a quarter-hour boundary.
    private var offsetBucket = Int.min
    private var offsetSeconds = 0

    public init(clock: Clock = .local) {
        self.clock = clock
    }

    /// Appends the header line (with its `"\n"`).
    public func appendHeader(into output: inout [UInt8]) {
        for (index, title) in Self.columns.enumerated() {
            let start = output.count
            output.append(contentsOf: title.utf8)
            if index < Self.widths.count {
                output.padColumn(from: start, to: Self.widths[index])
                output.append(UInt8(ascii: " "))
            }
        }
        output.append(UInt8(ascii: "\n"))
    }

    /// Appends the event's line (with its `"\n"`) to `output`.
    public mutating func encode(_ event: FileEvent, into output: inout [UInt8]) {
        var column = 0
        var start = output.count
        func next(_ output: inout [UInt8]) {
            output.padColumn(from: start, to: Self.widths[column])
            output.append(UInt8(ascii: " "))
            column += 1
            start = output.count
        }

        output.appendStatic(event.type.staticName)
        next(&output)
        output.appendTimeOfDay(CivilTime(event.timestamp, utcOffsetSeconds: utcOffset(for: event.timestamp)),
                               fractionDigits: 6)
        next(&output)
        output.appendDecimal(UInt64(event.pid))
        next(&output)
        output.appendDecimal(UInt64(event.tid))
        next(&output)
        output.appendDecimal(UInt64(event.uid))
        next(&output)
        output.appendDecimal(UInt64(event.gid))
        next(&output)
        event.comm.withBytes { output.appendTableEscaped($0.assumingMemoryBound(to: UInt8.self), escapeSpace: true) }
        next(&output)
        output.appendDecimal(event.source.inode)
        next(&output)
        output.appendDecimal(UInt64(event.source.mountID))
        next(&output)
        output.appendDecimal(event.retval)
        next(&output)
        if event.mode != 0 { output.append(UInt8(ascii: "0")) }
        output.appendOctal(UInt64(event.mode))
        next(&output)
        output.appendStatic("0x")
        output.appendHex(UInt64(event.flags))
        next(&output)
        appendPath(event.source, into: &output)
        if let target = event.target {
            output.appendStatic(" -> ")
            appendPath(target, into: &output)
        }
        output.append(UInt8(ascii: "\n"))
    }

    /// The event's line as a `String` (with its `"\n"`), for tests and tools.
    public mutating func line(_ event: FileEvent) -> String {
        var output: [UInt8] = []
        encode(event, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private func appendPath(_ path: EventPath, into output: inout [UInt8]) {
        // A path always starts with "/", so a leading "@" cannot be part of it.
        if path.resolution.contains(.foreignMountNamespace) { output.append(UInt8(ascii: "@")) }
        if !path.resolution.isDisjoint(with: .startMissing) { output.appendEllipsis() }
        path.bytes.withUnsafeBufferPointer { output.appendTableEscaped($0) }
        if path.resolution.contains(.callerTruncated) { output.appendEllipsis() }
        if path.resolution.contains(.callerSuffix) { output.append(UInt8(ascii: "*")) }
    }

    private mutating func utcOffset(for timestamp: EventTimestamp) -> Int {
        guard clock == .local else { return 0 }
        let seconds = Int(timestamp.nanosecondsSinceEpoch / 1_000_000_000)
        let bucket = seconds >= 0 ? seconds / 900 : (seconds - 899) / 900
        if bucket != offsetBucket {
            var time = time_t(bucket * 900)
            var fields = tm()
            offsetSeconds = localtime_r(&time, &fields) != nil ? Int(fields.tm_gmtoff) : 0
            offsetBucket = bucket
        }
        return offsetSeconds
    }
}
