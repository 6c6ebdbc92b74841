/// File names (and process names) an attacker can create: newlines and
/// terminal escapes that would forge or hide a line, invalid UTF-8, SQL,
/// long paths. Every output must keep each one on one line, intact.
public enum HostileNames {
    public struct Case: Sendable {
        public let label: String
        public let bytes: [UInt8]
        public var isValidUTF8: Bool { String(validating: bytes, as: UTF8.self) != nil }

        public init(label: String, bytes: [UInt8]) {
            self.label = label
            self.bytes = bytes
        }
    }

    public static let all: [Case] = [
        Case(label: "newline", bytes: Array("/tmp/a\nopen    00:00:00.000000 1 forged".utf8)),
        Case(label: "terminal escape", bytes: Array("/tmp/\u{1b}[31mred\u{1b}[0m\u{1b}]0;title\u{07}".utf8)),
        Case(label: "invalid UTF-8 ff fe", bytes: Array("/tmp/".utf8) + [0xFF, 0xFE]),
        Case(label: "truncated sequence", bytes: Array("/tmp/é".utf8).dropLast() + [0x2F]),
        // Valid prefixes of 3- and 4-byte sequences: one U+FFFD per byte, as in JSON.
        Case(label: "truncated multi-byte", bytes: Array("/tmp/".utf8) + [0xE2, 0x82, 0x78, 0xF0, 0x9F, 0x98]),
        Case(label: "surrogate, overlong, above U+10FFFF", bytes: [0x2F, 0xED, 0xA0, 0x80, 0xC0, 0xAF, 0xF4, 0x90, 0x80, 0x80]),
        Case(label: "quotes and SQL", bytes: Array("/tmp/'; DROP TABLE events; --\"".utf8)),
        Case(label: "valid multi-byte", bytes: Array("/tmp/日本語/émoji😀".utf8)),
        Case(label: "literal U+FFFD", bytes: Array("/tmp/\u{FFFD}".utf8)),
        Case(label: "4000-byte hostile path", bytes: (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 37) | 1 }),
        Case(label: "CR and tab", bytes: Array("/tmp/a\rb\tc".utf8)),
        Case(label: "DEL and NUL-free C0", bytes: [0x2F] + Array(1...0x1F) + [0x7F]),
        Case(label: "quotes and backslashes", bytes: Array(#"/tmp/"quoted"\back\\slash\x41\u0041"#.utf8)),
        Case(label: "C1 CSI and bidi", bytes: Array("/tmp/\u{9b}31m\u{202e}fdp.exe\u{2028}".utf8)),
        Case(label: "table markers", bytes: Array("/tmp/…a* -> b>".utf8)),
        Case(label: "255-byte name", bytes: Array("/tmp/".utf8) + Array(repeating: 0xFF, count: 255)),
        Case(label: "4000-byte path", bytes: (0..<4000).map { i in i % 50 == 0 ? 0x2F : UInt8(0x20 + i % 95) }),
    ]
}
