import FSProbeCore
import FSProbeTestSupport
import Testing

@Suite struct TableFormatterTests {
    func line(_ event: FileEvent) -> [UInt8] {
        var formatter = TableFormatter(clock: .utc)
        var output: [UInt8] = []
        formatter.encode(event, into: &output)
        return output
    }

    @Test func headerHasTheOriginalColumns() {
        var output: [UInt8] = []
        TableFormatter(clock: .utc).appendHeader(into: &output)
        let header = String(decoding: output, as: UTF8.self)
        #expect(header.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            == ["EVT", "TS", "PID", "TID", "UID", "GID", "CMD", "INODE", "MOUNTID", "RET", "MODE", "FLAG", "PATH\n"])
    }

    @Test func formatsAnEvent() {
        let text = String(decoding: line(makeEvent(.open, retval: -13)), as: UTF8.self)
        let fields = text.dropLast().split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        #expect(fields == ["open", "06:45:44.123456", "1000", "2000", "1001", "1002", "cat", "131090", "28", "-13",
                           "0644", "0x8041", "/tmp/file"])
    }

    @Test func columnsAlignWithHeader() {
        var output: [UInt8] = []
        var formatter = TableFormatter(clock: .utc)
        formatter.appendHeader(into: &output)
        formatter.encode(makeEvent(), into: &output)
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        #expect(lines[0].firstRange(of: "PATH")!.lowerBound.utf16Offset(in: lines[0])
            == lines[1].firstRange(of: "/tmp/file")!.lowerBound.utf16Offset(in: lines[1]))
    }

    @Test func renameShowsBothPathsAndMarkers() {
        var event = makeEvent(.rename, path: Array("/a/old".utf8), target: Array("new".utf8))
        event.source.resolution = [.truncated]
        event.target?.resolution = [.callerSuffix, .callerTruncated]
        let text = String(decoding: line(event), as: UTF8.self)
        #expect(text.hasSuffix(" …/a/old -> new…*\n"))
    }

    @Test func anotherNamespacesPathIsMarked() {
        var event = makeEvent(.rename, path: Array("/etc/f".utf8), target: Array("/etc/g".utf8))
        event.source.resolution = [.foreignMountNamespace]
        event.target?.resolution = [.foreignMountNamespace, .truncated]
        #expect(String(decoding: line(event), as: UTF8.self).hasSuffix(" @/etc/f -> @…/etc/g\n"))
    }

    @Test func unresolvedPathShowsItsStartIsMissing() {
        var event = makeEvent(path: Array("/b/file".utf8))
        event.source.resolution = [.unresolved]
        #expect(String(decoding: line(event), as: UTF8.self).hasSuffix(" …/b/file\n"))
    }

    @Test(arguments: HostileNames.all)
    func hostileNameGivesOneVisibleLine(name: HostileNames.Case) throws {
        let event = makeEvent(.link, path: name.bytes, target: name.bytes, comm: "a b\u{1b}\n\u{7f}")
        let output = line(event)
        #expect(output.last == UInt8(ascii: "\n"))
        // No control byte (C0, DEL) anywhere but the final newline; valid UTF-8.
        #expect(!output.dropLast().contains { $0 < 0x20 || $0 == 0x7F })
        let text = try #require(String(validating: output, as: UTF8.self))
        // No C1 controls, line separators or bidi overrides either.
        #expect(!text.unicodeScalars.contains {
            (0x80...0x9F).contains($0.value) || (0x2028...0x202E).contains($0.value)
                || (0x2066...0x2069).contains($0.value)
        })
        // CMD is one whitespace-free column; PATH is "escaped -> escaped".
        let fields = text.dropLast().split(separator: " ", maxSplits: 12, omittingEmptySubsequences: true)
        #expect(fields[6] == #"a\x20b\x1b\n\x7f"#)
        let escaped = Self.unescape(String(fields[12].drop { $0 == " " }))
        #expect(escaped == name.bytes + Array(" -> ".utf8) + name.bytes)
    }

    @Test func escapesSpecificBytes() {
        let path: [UInt8] = Array("/a\\b\n\t\r".utf8) + [0x1B, 0xFF, 0x2A, 0x3E] + Array("…é".utf8)
        let text = String(decoding: line(makeEvent(path: path)), as: UTF8.self)
        #expect(text.hasSuffix(#" /a\\b\n\t\r\x1b\xff\x2a\x3e\xe2\x80\xa6é"# + "\n"))
    }

    /// Inverts the table escaping, to show it is lossless.
    static func unescape(_ text: String) -> [UInt8] {
        var result: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "\\") else {
                result.append(bytes[i])
                i += 1
                continue
            }
            switch bytes[i + 1] {
            case UInt8(ascii: "\\"): result.append(0x5C); i += 2
            case UInt8(ascii: "n"): result.append(0x0A); i += 2
            case UInt8(ascii: "t"): result.append(0x09); i += 2
            case UInt8(ascii: "r"): result.append(0x0D); i += 2
            default:
                result.append(UInt8(String(decoding: bytes[(i + 2)..<(i + 4)], as: UTF8.self), radix: 16)!)
                i += 4
            }
        }
        return result
    }
}
