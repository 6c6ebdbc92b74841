#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a stream of events was captured: the host, and a stream number
/// drawn at random when the source started.
///
/// With an event's place in that stream (`FileEvent.sequence`) it makes
/// the event's id (`EventID`): unique across hosts and restarts without any
/// coordination, so every hop (disk buffer, Kafka, an aggregator) may retry
/// at least once and an archive still keeps one row per event.
///
/// Shared: every event of a source points to one instance, so carrying it
/// costs a reference, not a copy of the host name.
public final class EventOrigin: Sendable, Hashable {
    /// The host's name as events report it (`host`): the machine's name
    /// unless the source's options give another.
    public let host: String
    /// 64 random bits per source start: two streams share one only by a
    /// chance of about n²/2⁶⁵ among n starts.
    public let stream: UInt64

    public init(host: String, stream: UInt64) {
        self.host = host
        self.stream = stream
    }

    /// A new stream on `host` (the machine's name when nil).
    public static func starting(host: String? = nil) -> EventOrigin {
        var generator = SystemRandomNumberGenerator()
        return EventOrigin(host: host ?? machineName, stream: generator.next())
    }

    /// Whether `name` may be a host's name: 1 to 255 bytes, no control
    /// characters (it is written into every line of output).
    public static func isValidHost(_ name: String) -> Bool {
        (1...255).contains(name.utf8.count) && !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// The machine's name (`gethostname`), "localhost" when it has none.
    public static var machineName: String {
        guard let name = readMachineName(), !name.isEmpty else { return "localhost" }
        return name
    }

    /// `gethostname`, nil when it fails (`errno` says why).
    public static func readMachineName() -> String? {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return nil }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func == (lhs: EventOrigin, rhs: EventOrigin) -> Bool {
        lhs === rhs || (lhs.stream == rhs.stream && lhs.host == rhs.host)
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(stream) }
}

/// An event's identity: its stream and its place in it, written
/// `SSSSSSSSSSSSSSSS-QQQQQQQQQQQQQQQQ` (stream, then sequence, 16 lowercase
/// hexadecimal digits each), so ids of one stream sort in capture order.
public struct EventID: Sendable, Hashable, CustomStringConvertible {
    public var stream: UInt64
    public var sequence: UInt64

    /// Characters in the text form.
    public static let textLength = 33

    public init(stream: UInt64, sequence: UInt64) {
        self.stream = stream
        self.sequence = sequence
    }

    /// Parses the text form; nil for anything else (not 33 characters, not
    /// lowercase hexadecimal, no dash in the middle).
    public init?<Bytes: Collection<UInt8>>(text: Bytes) {
        guard text.count == Self.textLength else { return nil }
        var stream: UInt64 = 0, sequence: UInt64 = 0
        for (index, byte) in text.enumerated() {
            if index == 16 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            if index < 16 { stream = stream << 4 | UInt64(digit) } else { sequence = sequence << 4 | UInt64(digit) }
        }
        self.init(stream: stream, sequence: sequence)
    }

    /// Appends the text form, allocating nothing beyond `output`'s growth.
    public func append(to output: inout [UInt8]) {
        appendText(to: &output)
    }

    func appendText(to output: inout some ByteOutput) {
        Self.appendHex(stream, to: &output)
        output.append(UInt8(ascii: "-"))
        Self.appendHex(sequence, to: &output)
    }

    public var description: String {
        var output: [UInt8] = []
        append(to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// The 16 digits, written in place (an append each was a third of a
    /// JSON line's cost of numbers), a byte's two at a time from a table.
    private static func appendHex(_ value: UInt64, to output: inout some ByteOutput) {
        output.appendFixed(count: 16) { start in
            let pairs = hexPairs.utf8Start
            var rest = value
            var index = 16
            repeat {
                index &-= 2
                let pair = Int(truncatingIfNeeded: rest & 0xff) &<< 1
                start[index] = pairs[pair]
                start[index &+ 1] = pairs[pair &+ 1]
                rest >>= 8
            } while index > 0
        }
    }
}

/// "00" to "ff", the two lowercase hex digits of each byte at twice its value.
private let hexPairs: StaticString = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
