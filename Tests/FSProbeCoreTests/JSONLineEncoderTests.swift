import Foundation
import FSProbeCore
import Testing

@Suite struct JSONLineEncoderTests {
    let encoder = JSONLineEncoder()

    func encode(_ event: FileEvent) -> [UInt8] {
        var output: [UInt8] = []
        encoder.encode(event, into: &output)
        return output
    }

    @Test func roundTripsEveryField() throws {
        var event = makeEvent(.rename, path: Array("/home/a.txt".utf8), target: Array("/home/b.txt".utf8), retval: 0)
        event.source.resolution = [.truncated]
        event.target?.resolution = [.callerSuffix]
        event.backend = .fentry
        let line = encode(event)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.filter { $0 == UInt8(ascii: "\n") }.count == 1)

        let json = try parseJSONLine(line)
        #expect(json["event_type"] as? String == "rename")
        #expect(json["timestamp"] as? String == "2026-11-26T06:45:44.123456789Z")
        #expect(json["pid"] as? Int == 1000)
        #expect(json["tid"] as? Int == 2000)
        #expect(json["uid"] as? Int == 1001)
        #expect(json["gid"] as? Int == 1002)
        #expect(json["comm"] as? String == "cat")
        #expect(json["flags"] as? Int == 0o100101)
        #expect(json["mode"] as? Int == 0o644)
        #expect(json["src_inode"] as? Int == 131_090)
        #expect(json["src_filename"] as? String == "/home/a.txt")
        #expect(json["src_mount_id"] as? Int == 28)
        #expect(json["target_inode"] as? Int == 77)
        #expect(json["target_filename"] as? String == "/home/b.txt")
        #expect(json["target_mount_id"] as? Int == 29)
        #expect(json["retval"] as? Int == 0)
        #expect(json["error"] is NSNull)
        #expect(json["backend"] as? String == "fentry")
        #expect(json["src_path_truncated"] as? Bool == true)
        #expect(json["src_path_from_caller"] as? Bool == false)
        #expect(json["target_path_truncated"] as? Bool == false)
        #expect(json["target_path_from_caller"] as? Bool == true)
        #expect(json["src_filename_raw"] == nil)
        #expect(json.count == 22)
    }

    @Test func eventWithoutTargetHasEmptyTarget() throws {
        let json = try parseJSONLine(encode(makeEvent(.unlink, retval: -2)))
        #expect(json["target_filename"] as? String == "")
        #expect(json["target_inode"] as? Int == 0)
        #expect(json["target_mount_id"] as? Int == 0)
        #expect(json["retval"] as? Int == -2)
        #expect(json["error"] as? String == "ENOENT")
    }

    @Test func keepsFieldOrder() {
        let text = String(decoding: encode(makeEvent()), as: UTF8.self)
        let keys = ["event_type", "timestamp", "pid", "tid", "uid", "gid", "comm", "flags", "mode", "src_inode",
                    "src_filename", "src_mount_id", "target_inode", "target_filename", "target_mount_id", "retval",
                    "error", "backend"]
        let positions = keys.map { text.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test func appendsWithoutClearing() {
        var output = Array("prefix\n".utf8)
        encoder.encode(makeEvent(), into: &output)
        encoder.encode(makeEvent(), into: &output)
        #expect(output.starts(with: Array("prefix\n{".utf8)))
        #expect(output.filter { $0 == UInt8(ascii: "\n") }.count == 3)
    }

    @Test(arguments: HostileNames.all)
    func hostileNameGivesOneValidLine(name: HostileNames.Case) throws {
        let event = makeEvent(.rename, path: name.bytes, target: name.bytes, comm: "x\u{1b}[31m\n\"\\")
        let line = encode(event)
        // Exactly one line, no raw control bytes, valid UTF-8, valid JSON.
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(!line.dropLast().contains { $0 < 0x20 || $0 == 0x7F })
        #expect(String(validating: line, as: UTF8.self) != nil)
        let json = try parseJSONLine(line)
        #expect(json["comm"] as? String == "x\u{1b}[31m\n\"\\")

        // The exact bytes come back: from the string when valid UTF-8, else from *_raw.
        for prefix in ["src", "target"] {
            let recovered: [UInt8]
            if let raw = json["\(prefix)_filename_raw"] as? String {
                #expect(!name.isValidUTF8)
                recovered = Array(Data(base64Encoded: raw)!)
                #expect((json["\(prefix)_filename"] as? String)?.contains("\u{FFFD}") == true)
            } else {
                #expect(name.isValidUTF8)
                recovered = Array((json["\(prefix)_filename"] as! String).utf8)
            }
            #expect(recovered == name.bytes)
        }
    }

    @Test func escapesControlsAsExpected() {
        let event = makeEvent(path: Array("a\"b\\c\nd\te\u{7f}f\u{1b}g\u{2028}h\u{202e}i\u{9b}j".utf8))
        let text = String(decoding: encode(event), as: UTF8.self)
        #expect(text.contains(#""src_filename":"a\"b\\c\nd\te\u007ff\u001bg\u2028h\u202ei\u009bj""#))
    }

    @Test func invalidUTF8ByteBecomesReplacementAndRawField() throws {
        let bytes: [UInt8] = Array("/tmp/".utf8) + [0xFF, 0xFE] + Array("x".utf8)
        let json = try parseJSONLine(encode(makeEvent(path: bytes)))
        #expect(json["src_filename"] as? String == "/tmp/\u{FFFD}\u{FFFD}x")
        #expect(json["src_filename_raw"] as? String == Data(bytes).base64EncodedString())
        #expect(json["target_filename_raw"] == nil)
    }

    @Test func invalidCommGetsRawField() throws {
        var event = makeEvent()
        event.comm = ([0x61, 0xC3, 0x28] as [UInt8]).withUnsafeBytes { ProcessName(bytes: $0) }
        let json = try parseJSONLine(encode(event))
        #expect(json["comm"] as? String == "a\u{FFFD}(")
        #expect(json["comm_raw"] as? String == Data([0x61, 0xC3, 0x28]).base64EncodedString())
    }

    @Test func base64MatchesFoundationForAllTailLengths() throws {
        for length in 0..<8 {
            let bytes = (0..<length).map { UInt8(0xF8 + $0 % 8) }
            let json = try parseJSONLine(encode(makeEvent(path: bytes)))
            if length == 0 {
                #expect(json["src_filename_raw"] == nil)
            } else {
                #expect(json["src_filename_raw"] as? String == Data(bytes).base64EncodedString())
            }
        }
    }

    @Test func extremeNumbers() throws {
        var event = makeEvent(retval: Int64.min)
        event.pid = .max
        event.source.inode = .max
        let json = try parseJSONLine(encode(event))
        #expect(json["pid"] as? Int == Int(UInt32.max))
        #expect((json["src_inode"] as? NSNumber)?.uint64Value == UInt64.max)
        #expect((json["retval"] as? NSNumber)?.int64Value == Int64.min)
    }
}
