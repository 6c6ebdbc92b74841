import Foundation
@testable import FSProbeCore
import FSProbePipeline
import FSProbeTestSupport
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
        for flag in ["src_path_deleted", "src_path_detached", "target_path_deleted", "target_path_detached",
                     "src_path_foreign_mount_ns", "target_path_foreign_mount_ns"] {
            #expect(json[flag] as? Bool == false, "\(flag)")
        }
        #expect(json["src_process_path"] is NSNull && json["target_process_path"] is NSNull)
        #expect(json["src_filename_raw"] == nil)
        #expect(json["schema_version"] as? Int == JSONLineEncoder.schemaVersion && JSONLineEncoder.schemaVersion == 1)
        #expect(json.count == 64, "schema_version, then every field but the four *_raw companions")
        #expect(json["event_id"] is NSNull && json["host"] is NSNull, "an event no source stamped has no id")
    }

    /// `event_id` is the stream then the sequence, 16 lowercase hex digits
    /// each, and parses back; `host` is escaped like any hostile name.
    @Test func eventIDAndHostAreWritten() throws {
        var event = makeEvent()
        event.origin = EventOrigin(host: "web-1\n{\"forged\":1}", stream: 0x0123_4567_89ab_cdef)
        event.sequence = 0x2a
        let line = encode(event)
        let json = try parseJSONLine(line)
        #expect(json["event_id"] as? String == "0123456789abcdef-000000000000002a")
        #expect(json["host"] as? String == "web-1\n{\"forged\":1}")
        #expect(line.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        let id = try #require(EventID(text: Array("0123456789abcdef-000000000000002a".utf8)))
        #expect(id == event.id)
        for bad in ["0123456789abcdef_000000000000002a", "0123456789ABCDEF-000000000000002a", "0123456789abcdef-2a", ""] {
            #expect(EventID(text: Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func contextFieldsAreWritten() throws {
        var event = makeEvent(.rename, path: Array("/srv/a".utf8), target: Array("/srv/b".utf8), retval: 0)
        let mount = MountInfo(mountID: 28, device: 259 << 20 | 3, mountPoint: Array("/srv".utf8), fsType: "xfs")
        event.source.device = 259 << 20 | 3
        event.source.mode = 0o100644
        event.source.linkCount = 2
        event.source.mount = mount
        event.target?.mode = 0o040755
        event.target?.mount = mount
        event.process = ProcessContext(
            ppid: 1, startTime: EventTimestamp(nanosecondsSinceEpoch: 1_795_675_000_000_000_001), loginUID: 1000,
            sessionID: nil, euid: 0, egid: 4242,
            executable: EventPath(bytes: Array("/usr/bin/m\u{1b}[1mv".utf8) + [0xff]),
            cgroupID: 9876,
            cgroup: CgroupInfo(id: 9876, path: Array("/system.slice/docker-\(String(repeating: "ab", count: 32)).scope".utf8),
                               containerID: String(repeating: "ab", count: 32), runtime: .docker),
            mountNamespace: 4026531840, pidNamespace: 4026531836, userNamespace: 4026531837,
            userName: "alice", groupName: nil, effectiveUserName: "root", effectiveGroupName: "op\"s")
        let line = encode(event)
        #expect(line.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        let json = try parseJSONLine(line)
        #expect(json["ppid"] as? Int == 1)
        #expect(json["process_start_time"] as? String == "2026-11-26T06:36:40.000000001Z")
        #expect(json["exe"] as? String == "/usr/bin/m\u{1b}[1mv\u{FFFD}")
        #expect(json["exe_raw"] as? String == Data(Array("/usr/bin/m\u{1b}[1mv".utf8) + [0xff]).base64EncodedString())
        #expect(json["loginuid"] as? Int == 1000 && json["sessionid"] is NSNull)
        #expect(json["euid"] as? Int == 0 && json["egid"] as? Int == 4242)
        #expect(json["user"] as? String == "alice" && json["group"] is NSNull)
        #expect(json["euser"] as? String == "root" && json["egroup"] as? String == "op\"s")
        #expect(json["cgroup_id"] as? Int == 9876)
        #expect(json["cgroup_path"] as? String == "/system.slice/docker-\(String(repeating: "ab", count: 32)).scope")
        #expect(json["container_id"] as? String == String(repeating: "ab", count: 32))
        #expect(json["container_runtime"] as? String == "docker")
        #expect(json["mnt_ns"] as? Int == 4026531840 && json["pid_ns"] as? Int == 4026531836
            && json["user_ns"] as? Int == 4026531837)
        #expect(json["src_device"] as? String == "259:3" && json["target_device"] is NSNull)
        #expect(json["src_file_type"] as? String == "file" && json["target_file_type"] as? String == "directory")
        #expect(json["src_nlink"] as? Int == 2 && json["target_nlink"] as? Int == 0)
        #expect(json["src_mount_point"] as? String == "/srv" && json["target_mount_point"] as? String == "/srv")
        #expect(json["src_fstype"] as? String == "xfs" && json["target_fstype"] as? String == "xfs")
        #expect(json.count == 65, "schema_version and every field, with exe_raw")

        // The host: an empty container id, no runtime; a kernel thread: no exe.
        event.process.cgroup = CgroupInfo(id: 1, path: Array("/".utf8))
        event.process.executable = nil
        let host = try parseJSONLine(encode(event))
        #expect(host["container_id"] as? String == "" && host["container_runtime"] is NSNull)
        #expect(host["exe"] is NSNull && host["exe_raw"] == nil)

        // What user space could not learn: no cgroup, no mounts.
        event.process.cgroup = nil
        event.source.mount = nil
        event.target?.mount = nil
        let unknown = try parseJSONLine(encode(event))
        #expect(unknown["cgroup_path"] is NSNull && unknown["container_id"] as? String == "")
        #expect(unknown["src_mount_point"] is NSNull && unknown["target_mount_point"] is NSNull)
        #expect(unknown["src_fstype"] is NSNull && unknown["target_fstype"] is NSNull)
    }

    @Test func flagNamesSetattrValuesAndBytesWritten() throws {
        func json(_ event: FileEvent) throws -> [String: Any] { try parseJSONLine(encode(event)) }
        var open = makeEvent(.open, path: Array("/a".utf8))
        open.flags = 0o4010000 | 0o2000000 | 0o1000 | 0o100 | 0o1 | 0o40000000  // O_SYNC|O_CLOEXEC|O_TRUNC|O_CREAT|O_WRONLY, an unknown bit
        #expect(try json(open)["flag_names"] as? String == "O_WRONLY|O_SYNC|O_CREAT|O_TRUNC|O_CLOEXEC|0x800000")
        open.flags = 0o20200000 | 0o2
        #expect(try json(open)["flag_names"] as? String == "O_RDWR|O_TMPFILE")
        open.flags = 0
        #expect(try json(open)["flag_names"] as? String == "O_RDONLY")
        #expect(try json(open)["setattr"] is NSNull && json(open)["modify_bytes"] is NSNull)

        var rename = makeEvent(.rename, path: Array("/a".utf8), target: Array("/b".utf8), retval: 0)
        rename.flags = 2
        #expect(try json(rename)["flag_names"] as? String == "RENAME_EXCHANGE")
        rename.flags = 0
        #expect(try json(rename)["flag_names"] as? String == "")
        var rmdir = makeEvent(.rmdir, path: Array("/d".utf8), retval: 0)
        rmdir.flags = 0x200
        #expect(try json(rmdir)["flag_names"] as? String == "AT_REMOVEDIR")

        var setattr = makeEvent(.setattr, path: Array("/a".utf8), retval: 0)
        setattr.flags = 2 | 8
        setattr.attributes = AttributeChange(uid: 1000, gid: nil, accessTime: .now,
                                             modificationTime: .at(EventTimestamp(nanosecondsSinceEpoch: 1_795_675_544_000_000_007)))
        let values = try json(setattr)
        #expect(values["flag_names"] as? String == "owner|times")
        let change = try #require(values["setattr"] as? [String: Any])
        #expect(change.count == 7 && change["xattr"] is NSNull)
        #expect(change["mode"] is NSNull && change["gid"] is NSNull && change["size"] is NSNull)
        #expect(change["uid"] as? Int == 1000)
        #expect(change["atime"] as? String == "now")
        #expect(change["mtime"] as? String == "2026-11-26T06:45:44.000000007Z")

        // An extended attribute: its name, with the exact bytes when they are not UTF-8.
        var xattr = makeEvent(.setattr, path: Array("/a".utf8), retval: 0)
        xattr.flags = 16 | 64
        xattr.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: Array("user.origin".utf8)))
        let set = try json(xattr)
        #expect(set["flag_names"] as? String == "xattr|XATTR_CREATE")
        let setChange = try #require(set["setattr"] as? [String: Any])
        #expect(setChange["mode"] is NSNull)
        #expect(setChange["xattr"] as? [String: String] == ["op": "set", "name": "user.origin"])
        xattr.flags = 32
        let hostile = Array("user.\u{1b}]0;x\u{07}\n".utf8) + [0xc3]
        xattr.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.remove, name: hostile))
        let line = encode(xattr)
        #expect(line.firstIndex(of: UInt8(ascii: "\n")) == line.count - 1 && !line.contains(0x1b) && !line.contains(0x07))
        let removed = try #require(try parseJSONLine(line)["setattr"] as? [String: Any])
        #expect(removed["xattr"] as? [String: String] == [
            "op": "remove", "name": "user.\u{1b}]0;x\u{07}\n\u{FFFD}", "name_raw": Data(hostile).base64EncodedString(),
        ])

        var modify = makeEvent(.modify, path: Array("/a".utf8), retval: 4096)
        modify.bytesWritten = 4096
        #expect(try json(modify)["modify_bytes"] as? Int == 4096)
    }

    @Test func pathFlagsEachHaveTheirField() throws {
        var event = makeEvent(.rename, path: Array("/a".utf8), target: Array("/b".utf8), retval: 0)
        event.source.resolution = [.deleted]
        event.target?.resolution = [.detached, .unresolved]
        let json = try parseJSONLine(encode(event))
        #expect(json["src_path_deleted"] as? Bool == true)
        #expect(json["src_path_detached"] as? Bool == false)
        #expect(json["src_path_truncated"] as? Bool == false)
        #expect(json["target_path_deleted"] as? Bool == false)
        #expect(json["target_path_detached"] as? Bool == true)
        #expect(json["target_path_truncated"] as? Bool == true, "an unresolved path lacks its start")
    }

    /// What the public initializers take is what the event holds: a
    /// process root offset within the bytes (at their end: the root itself),
    /// none beyond them or below 0, and the sequence that makes the id.
    @Test func initializersKeepWhatTheyAreGiven() {
        let bytes = Array("/jail/x".utf8)
        #expect(EventPath(bytes: bytes, processRootOffset: 5).processPath == "/x")
        #expect(EventPath(bytes: bytes, processRootOffset: 7).processPath == "/")
        #expect(EventPath(bytes: bytes, processRootOffset: 8).processRootOffset == nil)
        #expect(EventPath(bytes: bytes, processRootOffset: -1).processRootOffset == nil)
        let path = EventPath(bytes: bytes, inode: 7, mountID: 3, device: 8, mode: 0o100644, resolution: [.deleted],
                             processRootOffset: 5, linkCount: 2)
        #expect(path.inode == 7 && path.mountID == 3 && path.device == 8 && path.mode == 0o100644
            && path.resolution == [.deleted] && path.linkCount == 2)
        let origin = EventOrigin(host: "h", stream: 1)
        let event = FileEvent(type: .open, timestamp: EventTimestamp(nanosecondsSinceEpoch: 5), pid: 1, tid: 2, uid: 3,
                              gid: 4, comm: ProcessName("c"), source: path, origin: origin, sequence: 42)
        #expect(event.sequence == 42 && event.id == EventID(stream: 1, sequence: 42) && event.source == path)
    }

    @Test func foreignNamespaceAndProcessPathHaveTheirFields() throws {
        var event = makeEvent(.rename, path: Array("/srv/jail/etc/x\n".utf8), target: Array("/srv/jail".utf8), retval: 0)
        event.source.processRootOffset = 9
        event.target?.processRootOffset = 9
        event.target?.resolution = [.foreignMountNamespace]
        let json = try parseJSONLine(encode(event))
        #expect(json["src_process_path"] as? String == "/etc/x\n", "the part below the process root, escaped")
        #expect(json["target_process_path"] as? String == "/", "the process root itself")
        #expect(json["src_path_foreign_mount_ns"] as? Bool == false)
        #expect(json["target_path_foreign_mount_ns"] as? Bool == true)
        let unlink = makeEvent(.unlink, path: Array("/srv/jail/f".utf8))
        let plain = try parseJSONLine(encode(unlink))
        #expect(plain["src_process_path"] is NSNull, "unknown: the walk never met the process root")
        #expect(plain["target_process_path"] is NSNull)
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
        let keys = ["schema_version", "event_type", "timestamp", "pid", "tid", "uid", "gid", "comm", "flags", "mode", "src_inode",
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

    /// Control bytes escape to six bytes each (`\u001b`), three times what
    /// the encoder makes room for at first: the line is written a second
    /// time with the room the first pass measured. Whole, after what the
    /// buffer held, and the same as each other when encoded again.
    @Test func lineLongerThanItsFirstRoomIsWrittenWhole() throws {
        let escaped = [UInt8](repeating: 0x1B, count: 4000)
        let event = makeEvent(.rename, path: escaped, target: escaped + [0xFF])
        var output = Array("prefix\n".utf8)
        encoder.encode(event, into: &output)
        #expect(output.starts(with: Array("prefix\n{".utf8)))
        let line = Array(output.dropFirst("prefix\n".utf8.count))
        #expect(line.count > JSONLineEncoder.estimatedLength(event))
        let json = try parseJSONLine(line)
        #expect(json["src_filename"] as? String == String(repeating: "\u{1b}", count: 4000))
        #expect(json["target_filename_raw"] as? String == Data(escaped + [0xFF]).base64EncodedString())
        #expect(json["host"] != nil && json["event_id"] != nil)
        encoder.encode(event, into: &output)
        #expect(Array(output.suffix(line.count)) == line)
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

    /// Names are scanned eight bytes at a time: each byte that needs a look,
    /// and each plain byte at the edges of the ranges, at every place of a
    /// name longer than two words, between fillers at those edges too.
    @Test func everyByteNeedingALookIsFoundAtEveryPlace() {
        let special: [([UInt8], String, Bool)] = [
            ([0x00], "\\u0000", true), ([0x1F], "\\u001f", true), ([0x22], "\\\"", true),
            ([0x5C], "\\\\", true), ([0x7F], "\\u007f", true), ([0xFF], "\u{FFFD}", false),
            ([0xC3, 0xA9], "\u{E9}", true), ([0xE2, 0x80, 0xA8], "\\u2028", true),
            ([0x20], " ", true), ([0x21], "!", true), ([0x23], "#", true),
            ([0x5B], "[", true), ([0x5D], "]", true), ([0x7E], "~", true),
        ]
        for filler in [UInt8(ascii: "a"), 0x20, 0x7E] {
            let fill = String(UnicodeScalar(filler))
            for (bytes, escaped, valid) in special {
                for place in 0...20 {
                    let name = [UInt8](repeating: filler, count: place) + bytes
                        + [UInt8](repeating: filler, count: 20 - place)
                    var output: [UInt8] = []
                    let wasValid = name.withUnsafeBufferPointer { output.appendJSONEscaped($0) }
                    let expected = String(repeating: fill, count: place) + escaped
                        + String(repeating: fill, count: 20 - place)
                    #expect(String(decoding: output, as: UTF8.self) == expected, "\(bytes) at \(place)")
                    #expect(wasValid == valid)
                }
            }
        }
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

    /// Every number of digits, at both of its ends, written the same into a
    /// line's room (`LineCursor`) and into a growing array; without room,
    /// counted but not written.
    @Test func decimalsAtEveryDigitCount() throws {
        var values: [UInt64] = [0, 1, 9, UInt64.max]
        var power: UInt64 = 10
        for _ in 1...19 {
            values += [power - 1, power]
            power = power &* 10
        }
        for value in values {
            var event = makeEvent()
            event.source.inode = value
            let json = try parseJSONLine(encode(event))
            #expect((json["src_inode"] as? NSNumber)?.uint64Value == value, "\(value)")
            var bytes: [UInt8] = [UInt8(ascii: "x")]
            bytes.appendDecimal(value)
            #expect(bytes == Array("x\(value)".utf8))
        }
        var padded: [UInt8] = []
        padded.appendDecimal(42, zeroPaddedTo: 5)
        padded.appendDecimal(123_456, zeroPaddedTo: 3)
        padded.appendDecimal(-7, zeroPaddedTo: 2)
        #expect(padded == Array(("00042" + "456" + "00").utf8), "the last digits of a wider value; below 0, zeros")

        var room = [UInt8](repeating: 0, count: 3)
        let written = room.withUnsafeMutableBufferPointer { buffer in
            var cursor = LineCursor(base: buffer.baseAddress!, capacity: 3)
            cursor.appendDecimal(UInt64(12_345))
            return cursor.count
        }
        #expect(written == 5 && room == [0, 0, 0], "counted, not written, without the room")
    }

    // MARK: a stream of lines (`encodeNext`)

    /// `encodeNext` copies the process fields of the previous line when the
    /// process is the same: every line must still be the one `encode` writes
    /// alone. Each event below changes one thing the copy would get wrong.
    @Test func encodeNextWritesWhatEncodeWrites() throws {
        var process = ProcessContext(ppid: 1, startTime: EventTimestamp(nanosecondsSinceEpoch: testEventTime),
                                     euid: 1001, egid: 1002, executable: EventPath("/usr/bin/cat"),
                                     cgroupID: 9, cgroup: CgroupInfo(id: 9, path: Array("/a".utf8)),
                                     userName: "alice", groupName: "staff",
                                     effectiveUserName: "alice", effectiveGroupName: "staff")
        var events: [FileEvent] = []
        func add(_ seq: Int) {
            var event = makeEvent(seq: seq)
            event.process = process
            events.append(event)
        }
        add(0)
        add(1)  // the same process: copied
        process.euid = 0
        add(2)
        process.effectiveUserName = "root"
        add(3)
        // Canonically equivalent to "é" but other bytes: equal as Strings.
        process.userName = "\u{E9}"
        add(4)
        process.userName = "e\u{301}"
        add(5)
        process.cgroup = CgroupInfo(id: 9, path: Array("/b".utf8))
        add(6)
        process.executable = EventPath(bytes: [0x2F, 0xFF])  // not UTF-8: exe_raw is due
        add(7)
        add(8)  // copied, exe_raw with it
        process.executable = nil
        add(9)
        events.append(try withLayout(events[9], ["remove": .list(["ppid", "user"])]))
        add(10)  // after a layout line, the standard one again

        var streaming = JSONLineEncoder()
        var lines: [[UInt8]] = []
        for (index, event) in events.enumerated() {
            var line: [UInt8] = []
            streaming.encodeNext(event, into: &line)
            // Bytes, not Strings: String equality is canonical equivalence.
            #expect(line == encode(event), "event \(index)")
            lines.append(line)
        }
        let decomposed = Array(#""user":"e\#u{301}""#.utf8)
        #expect(lines[5].firstRange(of: decomposed) != nil && lines[4].firstRange(of: decomposed) == nil,
                "each spelling is written as it is")
        #expect(try parseJSONLine(Array(encoder.line(events[8]).utf8))["exe_raw"] as? String == "L/8=")
    }

    /// `ProcessFieldsMemo.writesSameFields` compares, by hand, each field
    /// the process part is written from: a field added to `ProcessContext`
    /// and not compared there would be repeated from the previous line.
    @Test func theMemoKnowsEveryProcessField() {
        let fields = Mirror(reflecting: ProcessContext()).children.compactMap(\.label)
        #expect(fields == ["ppid", "startTime", "loginUID", "sessionID", "euid", "egid", "executable", "cgroupID",
                           "cgroup", "mountNamespace", "pidNamespace", "userNamespace", "userName", "groupName",
                           "effectiveUserName", "effectiveGroupName"],
                "a new field: compare it in ProcessFieldsMemo.writesSameFields, then list it here")
    }

    // MARK: field layouts (the `fields` transform)

    func withLayout(_ event: FileEvent, _ values: [String: OptionValue]) throws -> FileEvent {
        let options = try FieldsOptions(ComponentOptions(component: "f", values: values))
        var changed = event
        _ = try FieldsTransform(name: "f", options: options).apply(&changed)
        return changed
    }

    @Test func layoutRenamesOmitsAndAppendsInPlace() throws {
        let event = try withLayout(makeEvent(.unlink, retval: -2), [
            "remove": .list(["event_type", "timestamp", "tid", "flags", "mode", "src_inode", "src_mount_id",
                             "target_inode", "target_mount_id", "backend", "src_path_from_caller",
                             "target_path_truncated", "target_path_from_caller", "src_path_deleted",
                             "src_path_detached", "target_path_deleted", "target_path_detached",
                             "src_path_foreign_mount_ns", "target_path_foreign_mount_ns",
                             "src_process_path", "target_process_path"]
                             + EventField.allCases.filter { $0.rawValue >= EventField.ppid.rawValue && $0.companionOf == nil }
                                .map(\.name)),
            "rename": .list(["pid=process", "error=errno", "src_path_truncated=partial"]),
            "add": .list(["site=paris", "empty="]),
        ])
        // schema_version first, whatever the layout; renamed fields keep their place.
        #expect(String(decoding: encode(event), as: UTF8.self) == #"""
            {"schema_version":1,"process":1000,"uid":1001,"gid":1002,"comm":"cat","src_filename":"/tmp/file","target_filename":"","retval":-2,"errno":"ENOENT","partial":false,"site":"paris","empty":""}

            """#)
    }

    @Test func layoutWithEveryFieldRemovedIsStillAnObject() throws {
        let all = OptionValue.list(EventField.allCases.map(\.name))
        let hostile = makeEvent(path: [0x2F, 0xFF], comm: "\u{1b}")
        #expect(encode(try withLayout(hostile, ["remove": all])) == Array(#"{"schema_version":1}"#.utf8) + [0x0A])
        #expect(encode(try withLayout(hostile, ["remove": all, "add": .scalar("x=1")]))
            == Array(#"{"schema_version":1,"x":"1"}"#.utf8) + [0x0A])
    }

    @Test func standardLayoutWritesTheStandardLine() throws {
        var event = makeEvent(.rename, path: [0x2F, 0xFF], target: Array("/b".utf8))
        let plain = encode(event)
        event.fields = .standard
        #expect(encode(event) == plain)
        // A change that leaves every key as it was gives the standard schema
        // (nil, the encoder's constant keys), not a copy of it; a swap does not.
        #expect(try withLayout(makeEvent(), ["rename": .scalar("pid=pid")]).fields == nil)
        #expect(try withLayout(makeEvent(), ["rename": .list(["pid=tid", "tid=pid"])]).fields != nil)
    }

    @Test func layoutKeysAndValuesAreEscaped() throws {
        let event = try withLayout(makeEvent(), ["rename": .scalar(#"comm=a"b\c"#), "add": .scalar("k=\u{2028}\"\n")])
        let line = encode(event)
        #expect(!line.dropLast().contains { $0 < 0x20 || $0 == 0x7F })
        #expect(String(decoding: line, as: UTF8.self).contains(#""a\"b\\c":"cat""#))
        let json = try parseJSONLine(line)
        #expect(json[#"a"b\c"#] as? String == "cat")
        #expect(json["k"] as? String == "\u{2028}\"\n")
    }
}
