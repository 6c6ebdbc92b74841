import Foundation
import FSProbeCore
import FSProbeTestSupport
import Testing

/// Reading fsprobe's JSON lines back: every event the encoder writes comes
/// back to the same line, hostile names to their exact bytes, and every
/// input that is not such a line to an error, never a trap.
@Suite struct EventJSONDecoderTests {
    /// The line of `event` without its "\n", as a Kafka message holds it.
    func line(_ event: FileEvent) -> [UInt8] {
        var output: [UInt8] = []
        JSONLineEncoder().encode(event, into: &output)
        output.removeLast()
        return output
    }

    func decode(_ bytes: [UInt8], with decoder: inout EventJSONDecoder) throws(EventJSONDecodeError) -> FileEvent {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(EventJSONDecodeError) -> FileEvent in try decoder.decode(raw) }
        }
        return try result.get()
    }

    func decode(_ bytes: [UInt8]) throws(EventJSONDecodeError) -> FileEvent {
        var decoder = EventJSONDecoder()
        return try decode(bytes, with: &decoder)
    }

    func decode(_ text: String) throws(EventJSONDecodeError) -> FileEvent { try decode(Array(text.utf8)) }

    /// The error decoding `text` gives (a failed expectation if none).
    func failure(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> EventJSONDecodeError? {
        do {
            let event = try decode(text)
            Issue.record("decoded \(event.type) from \(text)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// Decodes `event`'s line and checks it writes the same line again.
    @discardableResult
    func roundTrip(_ event: FileEvent, sourceLocation: SourceLocation = #_sourceLocation) throws -> FileEvent {
        let written = line(event)
        let decoded = try decode(written)
        #expect(line(decoded) == written, "\(String(decoding: written, as: UTF8.self))", sourceLocation: sourceLocation)
        return decoded
    }

    /// A line of a plain event with `key`'s value text replaced by `value`.
    func replacing(_ key: String, with value: String, in event: FileEvent = makeEvent()) -> String {
        let text = String(decoding: line(event), as: UTF8.self)
        let marker = "\"\(key)\":"
        guard let keyRange = text.range(of: marker) else { return text }
        // The value ends at the next top-level comma (every replaced value here is flat).
        var end = keyRange.upperBound
        var inString = false, escaped = false
        while end < text.endIndex {
            let c = text[end]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "," || c == "}" {
                break
            }
            end = text.index(after: end)
        }
        return text.replacingCharacters(in: keyRange.upperBound..<end, with: value)
    }

    static var originEvents: [FileEvent] {
        let origin = EventOrigin(host: "web-1.example", stream: 0xDEAD_BEEF_0123_4567)
        var first = makeEvent(.open, seq: 1)
        first.origin = origin
        first.sequence = 1
        var last = makeEvent(.rename, seq: 2, target: Array("/tmp/x".utf8))
        last.origin = EventOrigin(host: "h\u{1b}\"ö", stream: .max)
        last.sequence = .max
        return [first, last]
    }

    // MARK: round trips

    @Test func everyCatalogueEventWritesTheSameLineAgain() throws {
        let events = EventCatalogue.all + Self.originEvents
        #expect(events.count > 35)
        var seenTypes = Set<EventType>()
        for event in events {
            let decoded = try roundTrip(event)
            seenTypes.insert(decoded.type)
        }
        #expect(seenTypes == Set(EventType.allCases))
    }

    @Test func plainEventsDecodeToThemselves() throws {
        for type in EventType.allCases {
            let event = makeEvent(type, seq: Int(type.rawValue), target: type.hasTarget ? Array("/tmp/new".utf8) : nil)
            #expect(try decode(line(event)) == event, "\(type)")
        }
        for name in HostileNames.all {
            let event = makeEvent(.unlink, path: name.bytes, target: nil)
            #expect(try decode(line(event)) == event, "\(name.label)")
        }
    }

    @Test func everyFieldComesBack() throws {
        let catalogue = EventCatalogue.all
        // The hostile rename: every path flag, process paths, raw comm.
        let rename = try #require(catalogue.first { $0.type == .rename && $0.source.resolution.contains(.deleted) })
        let r = try decode(line(rename))
        #expect(r.source.bytes == rename.source.bytes && r.target?.bytes == rename.target?.bytes)
        #expect(r.source.resolution == [.truncated, .deleted, .detached])
        #expect(r.target?.resolution == [.truncated, .callerSuffix, .foreignMountNamespace])  // callerTruncated reads as truncated
        #expect(r.source.processRootOffset == 5 && r.target?.processRootOffset == 4)
        #expect(r.target?.inode == .max && r.backend == .fentry && r.flags == 1)
        #expect(r.comm == rename.comm && r.comm.count > 0)

        // Full context.
        let full = try #require(catalogue.first { $0.process.executable != nil && $0.process.sessionID == nil })
        let f = try decode(line(full))
        #expect(f.process.ppid == 1 && f.process.startTime == full.process.startTime)
        #expect(f.process.loginUID == 1000 && f.process.sessionID == nil && f.process.egid == 0)
        #expect(f.process.executable?.bytes == full.process.executable?.bytes)
        #expect(f.process.cgroupID == .max && f.process.cgroup?.path == full.process.cgroup?.path)
        #expect(f.process.cgroup?.containerID == "" && f.process.cgroup?.runtime == nil)
        #expect(f.process.mountNamespace == 4026531840 && f.process.pidNamespace == 4026531836 && f.process.userNamespace == .max)
        #expect(f.process.userName == "alice" && f.process.groupName == nil)
        #expect(f.process.effectiveUserName == full.process.effectiveUserName && f.process.effectiveGroupName == "g\n")
        #expect(f.source.device == 259 << 20 | 3 && f.source.mode == 0o100000 && f.source.linkCount == 2)
        #expect(f.source.mount == MountInfo(mountID: 28, device: 259 << 20 | 3, mountPoint: full.source.mount!.mountPoint, fsType: "ext4"))
        #expect(f.target?.device == 8 << 20 | 1 && f.target?.mode == 0o040000 && f.target?.linkCount == 3)
        #expect(f.target?.mount == MountInfo(mountID: 29, device: 8 << 20 | 1, mountPoint: Array("/".utf8), fsType: "xfs"))
        let podman = try #require(catalogue.first { $0.process.cgroup?.runtime == .podman })
        let p = try decode(line(podman))
        #expect(p.process.cgroup?.runtime == .podman && p.process.cgroup?.containerID == podman.process.containerID)
        #expect(p.process.sessionID == 3 && p.process.groupName == "staff")

        let write = try #require(catalogue.first { $0.bytesWritten != nil })
        #expect(try decode(line(write)).bytesWritten == 512)
        let failed = try #require(catalogue.first { $0.retval == -2 })
        let d = try decode(line(failed))
        #expect(d.retval == -2 && d.backend == .kprobe)
    }

    @Test func targetIsNilOnlyForEventsWithoutASecondPath() throws {
        #expect(try decode(line(makeEvent(.open))).target == nil)
        #expect(try decode(line(makeEvent(.rename, target: []))).target == EventPath(bytes: [], inode: 77, mountID: 29))
        var link = makeEvent(.link)
        link.target = nil  // written as "" and zeros: a link still has a (blank) second path
        #expect(try decode(line(link)).target == EventPath())
        var odd = makeEvent(.open)
        odd.target = EventPath(bytes: [], inode: 0, mountID: 9)
        #expect(try roundTrip(odd).target?.mountID == 9)
    }

    // MARK: names

    static let hostileNames: [[UInt8]] = HostileNames.all.map(\.bytes) + [
        Array("/tmp/line\nbreak".utf8), [0x2F, 0x1B, 0x5B, 0x33, 0x31, 0x6D], [0x2F, 0xFF, 0xC3], Array("/tmp/\"q\"\\".utf8),
        Array("/tmp/\u{2028}sep".utf8), Array("/tmp/😀".utf8), [0x2F, 0xC3],
        (0..<4096).map { UInt8(truncatingIfNeeded: $0 % 255 + 1) },  // 4096 bytes, no NUL, every other byte value
    ]

    @Test(arguments: hostileNames)
    func hostileNamesComeBackExactly(name: [UInt8]) throws {
        var event = makeEvent(.rename, path: name, target: name)
        event.process.executable = EventPath(bytes: name)
        event.process.cgroup = CgroupInfo(id: 1, path: name)
        event.source.mount = MountInfo(mountID: 28, device: 0, mountPoint: name, fsType: "tmpfs")
        event.source.processRootOffset = name.count / 2
        event.target?.processRootOffset = 0
        let decoded = try roundTrip(event)
        #expect(decoded.source.bytes == name)
        #expect(decoded.target?.bytes == name)
        #expect(decoded.process.executable?.bytes == name)
        #expect(decoded.target?.processRootOffset == 0)
        var xattr = makeEvent(.setattr)
        xattr.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.remove, name: name))
        #expect(try roundTrip(xattr).attributes?.extendedAttribute?.name == name)
    }

    /// The scanner skips plain bytes eight at a time: a byte it must stop at
    /// is found wherever it lies in a word.
    @Test func specialBytesAreFoundAtEveryPlaceInAWord() throws {
        let specials: [[UInt8]] = [[0x22], [0x5C], [0x0A], [0x1F], [0x7F], [0xC3, 0xA9], [0xFF], [0xE2, 0x80, 0xA8]]
        for special in specials {
            for place in 0..<17 {
                let name = [0x2F] + Array(repeating: UInt8(ascii: "a"), count: place) + special + Array("bcdefghijklmnop".utf8)
                let decoded = try roundTrip(makeEvent(path: name))
                #expect(decoded.source.bytes == name, "\(special) at \(place)")
            }
        }
    }

    @Test func garbageCommOfSixteenBytesComesBackExactly() throws {
        let garbage: [UInt8] = [0xFF, 0xC3, 0x1B, 0x0A, 0x22, 0x5C, 0xE2, 0x80, 0xA8, 0x80, 0xF0, 0x9F, 0x98, 0x01, 0x7F, 0xFE]
        var event = makeEvent()
        event.comm = garbage.withUnsafeBytes { ProcessName(bytes: $0) }
        #expect(event.comm.count == 16)
        let text = String(decoding: line(event), as: UTF8.self)
        #expect(text.contains("\"comm_raw\":"))
        let decoded = try roundTrip(event)
        #expect(decoded.comm == event.comm)
        #expect(decoded.comm.withBytes { Array($0) } == garbage)
    }

    @Test func rawCompanionIsTheSourceOfTruth() throws {
        let name: [UInt8] = Array("/tmp/".utf8) + [0xFF, 0xC3, 0x41]
        let text = String(decoding: line(makeEvent(path: name)), as: UTF8.self)
        #expect(text.contains("\"src_filename\":\"/tmp/\u{FFFD}\u{FFFD}A\""))
        #expect(try decode(text).source.bytes == name)
        // Without the companion only the lossy string is left: U+FFFD bytes.
        let lossy = text.replacingOccurrences(of: ",\"src_filename_raw\":\"L3RtcC//w0E=\"", with: "")
        #expect(lossy != text)
        #expect(try decode(lossy).source.bytes == Array("/tmp/\u{FFFD}\u{FFFD}A".utf8))
        // A companion that disagrees with the string still wins: it is the exact one.
        #expect(try decode(replacing("src_filename", with: "\"/x\",\"src_filename_raw\":\"L2E=\"")).source.bytes == Array("/a".utf8))
        #expect(failure(replacing("src_filename", with: "\"/x\",\"src_filename_raw\":\"L2E\"")).map(\.reason)
            == "src_filename_raw: expected standard base64")
        #expect(failure(replacing("src_filename", with: "\"/x\",\"src_filename_raw\":\"L2F=\"")) != nil)  // stray bits
    }

    @Test func escapesDecode() throws {
        let cases: [(String, [UInt8])] = [
            (#""\n\t\r\b\f\/\\\"""#, [0x0A, 0x09, 0x0D, 0x08, 0x0C, 0x2F, 0x5C, 0x22]),
            (#""\u001b\u0000\u007f""#, [0x1B, 0x00, 0x7F]),
            (#""\u2028\u00e9\u00E9""#, Array("\u{2028}éé".utf8)),
            (#""\ud83d\ude00""#, Array("😀".utf8)),
            (#""é😀""#, Array("é😀".utf8)),
        ]
        for (json, bytes) in cases {
            #expect(try decode(replacing("src_filename", with: json)).source.bytes == bytes, "\(json)")
        }
        // Keys may be escaped too.
        let escapedKey = replacing("pid", with: "7").replacingOccurrences(of: "\"pid\":", with: "\"p\\u0069d\":")
        #expect(try decode(escapedKey).pid == 7)
    }

    @Test func badStringsAreErrors() {
        let cases: [(String, String)] = [
            (#""\x41""#, "src_filename: expected an escape"),
            (#""\u12""#, "src_filename: expected four hexadecimal digits after \\u"),
            (#""\ud83d""#, "src_filename: expected a low surrogate after \\ud83d"),
            (#""\ud83dA""#, "src_filename: expected a low surrogate"),
            (#""\ud83d\u0041""#, "src_filename: expected a low surrogate"),
            (#""\ude00""#, "src_filename: expected a high surrogate before a low one"),
            ("\"a\u{01}b\"", "src_filename: expected an escaped control character"),
            ("\"a\nb\"", "src_filename: expected an escaped control character"),
            ("null", "src_filename: expected a string"),
            ("7", "src_filename: expected a string"),
        ]
        for (json, reason) in cases {
            let error = failure(replacing("src_filename", with: json))
            #expect(error?.reason.hasPrefix(reason) == true, "\(json): \(error?.reason ?? "-")")
        }
        // Raw bytes that are not UTF-8 inside a string.
        var bytes = Array(replacing("src_filename", with: "\"/tmp/AB\"").utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "A"))!
        bytes[at] = 0xFF
        #expect(throws: EventJSONDecodeError(reason: "src_filename: expected UTF-8 in a string, found byte 0xff", offset: at)) {
            try decode(bytes)
        }
    }

    // MARK: process paths

    @Test func everyProcessRootOffsetComesBack() throws {
        let paths: [[UInt8]] = [Array("/srv/日本/a".utf8), [0x2F, 0xFF, 0x2F, 0xE2, 0x82, 0xAC, 0xC3, 0x2F, 0xF0, 0x9F, 0x98, 0x80], Array("/a/".utf8), []]
        for path in paths {
            for offset in 0...path.count {
                var event = makeEvent(.mkdir, path: path)
                event.source.processRootOffset = offset
                let decoded = try roundTrip(event)
                #expect(decoded.source.processRootOffset != nil, "\(path) \(offset)")
            }
        }
        #expect(failure(replacing("src_process_path", with: "\"/elsewhere\""))?.reason
            == "src_process_path: expected an end of src_filename (or \"/\")")
        #expect(try decode(replacing("src_process_path", with: "\"/\"")).source.processRootOffset == 9)
        #expect(try decode(replacing("src_process_path", with: "\"/file\"")).source.processRootOffset == 4)
    }

    // MARK: setattr

    @Test func setattrVariants() throws {
        let at = EventTimestamp(nanosecondsSinceEpoch: -1)  // 1969-12-31T23:59:59.999999999Z
        let changes: [AttributeChange?] = [
            nil, AttributeChange(),
            AttributeChange(mode: 0o7777, uid: .max, gid: 0, size: -1, accessTime: .now, modificationTime: .at(at)),
            AttributeChange(size: .max, accessTime: .at(EventTimestamp(nanosecondsSinceEpoch: .min)), modificationTime: .now),
            AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: [])),
            AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: [0xFF, 0x0A, 0x00, 0x22])),
            AttributeChange(extendedAttribute: ExtendedAttributeChange(.remove, name: Array("security.selinux".utf8))),
        ]
        for change in changes {
            var event = makeEvent(.setattr)
            event.attributes = change
            #expect(try roundTrip(event).attributes == change, "\(String(describing: change))")
        }
        let members = #"{"size":7,"future":{"a":[1,{"b":null}]},"xattr":{"name":"n","op":"remove"}}"#
        let decoded = try decode(replacing("setattr", with: members, in: makeEvent(.setattr)))
        #expect(decoded.attributes == AttributeChange(size: 7, extendedAttribute: ExtendedAttributeChange(.remove, name: Array("n".utf8))))
        #expect(failure(replacing("setattr", with: #"{"xattr":{"name":"n"}}"#))?.reason == "setattr.xattr.op: missing")
        #expect(failure(replacing("setattr", with: #"{"xattr":{"op":"chmod"}}"#))?.reason.hasPrefix("setattr.xattr.op: expected \"set\" or \"remove\"") == true)
        #expect(failure(replacing("setattr", with: #"{"uid":1,"uid":2}"#))?.reason == "setattr.uid: duplicate key")
        #expect(failure(replacing("setattr", with: #"{"atime":"yesterday"}"#))?.reason.hasPrefix("setattr.atime: expected an RFC 3339 time") == true)
        #expect(failure(replacing("setattr", with: #"[1]"#))?.reason.hasPrefix("setattr: expected null or an object") == true)
    }

    // MARK: origin

    @Test func originAndSequenceComeBackAndAreShared() throws {
        var decoder = EventJSONDecoder()
        let events = Self.originEvents
        let first = try decode(line(events[0]), with: &decoder)
        #expect(first.origin == events[0].origin && first.sequence == 1 && first.id == events[0].id)
        var next = events[0]
        next.sequence = 2
        let second = try decode(line(next), with: &decoder)
        #expect(second.origin === first.origin, "one instance per host and stream")
        let other = try decode(line(events[1]), with: &decoder)
        #expect(other.origin?.host == "h\u{1b}\"ö" && other.origin?.stream == .max && other.sequence == .max)
        #expect(try decode(line(makeEvent())).origin == nil)

        let id = "\"deadbeef01234567-0000000000000001\""
        #expect(failure(replacing("event_id", with: id))?.reason == "host: missing or null, but event_id has a value")
        #expect(failure(replacing("host", with: "\"h\""))?.reason == "event_id: missing or null, but host has a value")
        for bad in ["\"DEADBEEF01234567-0000000000000001\"", "\"deadbeef01234567_0000000000000001\"", "\"deadbeef\"", "17"] {
            #expect(failure(replacing("event_id", with: bad))?.reason.hasPrefix("event_id: expected null or an event id") == true, "\(bad)")
        }
    }

    // MARK: times

    @Test func timesOfEveryRangeComeBack() throws {
        let times: [Int64] = [.min, .max, 0, -1, 1, 951_782_400_000_000_000 /* 2000-02-29 */, 4_107_542_399_999_999_999, testEventTime]
        for time in times {
            var event = makeEvent(time: time)
            event.process.startTime = EventTimestamp(nanosecondsSinceEpoch: time)
            let decoded = try roundTrip(event)
            #expect(decoded.timestamp.nanosecondsSinceEpoch == time && decoded.process.startTime.nanosecondsSinceEpoch == time)
        }
        let forms: [(String, Int64)] = [
            ("2026-11-26T06:45:44.123456789Z", testEventTime),
            ("2026-11-26T07:45:44.123456789+01:00", testEventTime),
            ("2026-11-26T06:45:44.1Z", testEventTime - 23_456_789),
            ("2026-11-26T06:45:44Z", testEventTime - 123_456_789),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000_000_000),
            ("1970-01-01T00:00:00-00:30", 1_800_000_000_000),
        ]
        for (text, time) in forms {
            #expect(try decode(replacing("timestamp", with: "\"\(text)\"")).timestamp.nanosecondsSinceEpoch == time, "\(text)")
        }
        for bad in ["2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T06:45:60Z",
                    "2026-11-26 06:45:44Z", "2026-11-26T06:45:44", "2026-11-26T06:45:44.Z", "2026-11-26T06:45:44.1234567890Z",
                    "26-11-26T06:45:44Z", "2026-11-26T06:45:44Zx", "2026-11-26T06:45:44+1:00"] {
            #expect(failure(replacing("timestamp", with: "\"\(bad)\""))?.reason.hasPrefix("timestamp: expected an RFC 3339 time") == true, "\(bad)")
        }
        for far in ["9999-12-31T23:59:59.999999999Z", "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z", "0000-01-01T00:00:00Z"] {
            #expect(failure(replacing("timestamp", with: "\"\(far)\""))?.reason.hasPrefix("timestamp: expected a time from 1677") == true, "\(far)")
        }
    }

    // MARK: errors

    @Test func everyTruncationIsAnError() throws {
        var decoder = EventJSONDecoder()
        // Every kind of value, cut everywhere: plain, full context, setattr, hostile names, an origin.
        let catalogue = EventCatalogue.all
        let events = [catalogue[0], catalogue[8 + 2], catalogue[8 + 12]]
            + catalogue.filter { $0.process.executable != nil || $0.attributes != nil }.prefix(4) + Self.originEvents
        for event in events {
            let whole = line(event)
            for length in 0..<whole.count {
                let prefix = Array(whole[..<length])
                #expect(throws: EventJSONDecodeError.self) { try decode(prefix, with: &decoder) }
            }
            #expect(try decode(whole, with: &decoder).type == event.type, "the whole line still decodes")
        }
    }

    @Test func schemaVersionMustBeOne() throws {
        let newer = failure(replacing("schema_version", with: "2"))
        #expect(newer == EventJSONDecodeError(reason: "schema_version: 2 is a newer format than this fsprobe reads (1)", offset: 18))
        #expect(failure(replacing("schema_version", with: "0"))?.reason == "schema_version: expected 1, found '0'")
        #expect(failure(replacing("schema_version", with: "\"1\""))?.reason.hasPrefix("schema_version: expected 1") == true)
        #expect(failure(replacing("schema_version", with: "1.0"))?.reason.hasPrefix("schema_version: expected 1") == true)
    }

    @Test func duplicateKeysAreErrors() throws {
        let text = String(decoding: line(makeEvent()), as: UTF8.self)
        let doubled = text.dropLast() + ",\"uid\":5}"
        let error = failure(String(doubled))
        #expect(error == EventJSONDecodeError(reason: "uid: duplicate key", offset: doubled.utf8.count - 8))
        let unknownTwice = text.dropLast() + ",\"x\":1,\"x\":[2]}"
        #expect(failure(String(unknownTwice))?.reason == "x: duplicate key")
    }

    @Test func unknownKeysAreSkippedWithinLimits() throws {
        let text = String(decoding: line(makeEvent()), as: UTF8.self)
        let extra = text.dropLast() + #", "future" : {"a": [1, -2.5e+3, true, false, null, "s\n", {}, []]}, "z":"\u0041"}"# + "\n"
        #expect(try decode(String(extra)) == makeEvent())
        let deep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try decode(String(text.dropLast() + ",\"deep\":\(deep)}")) == makeEvent())
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(failure(String(text.dropLast() + ",\"deep\":\(tooDeep)}"))?.reason.hasPrefix("deep: expected at most 64 nested") == true)
        let many = (0..<65).map { ",\"k\($0)\":0" }.joined()
        #expect(failure(String(text.dropLast() + many + "}"))?.reason == "k64: more than 64 unknown keys in one object")
        let hostileKey = failure(String(text.dropLast() + ",\"a\\nb\\u001b\":[1 2]}"))
        #expect(hostileKey?.reason.hasPrefix("a\\u{a}b\\u{1b}: expected ',' or ']'") == true, "the key is line-safe: \(hostileKey?.reason ?? "")")
    }

    @Test func missingKeysDefaultOrAreRequired() throws {
        let minimal = #"{"event_type":"mkdir","timestamp":"1970-01-01T00:00:00Z","src_filename":"/d"}"#
        #expect(try decode(minimal) == FileEvent(type: .mkdir, timestamp: EventTimestamp(nanosecondsSinceEpoch: 0), pid: 0, tid: 0,
                                                 uid: 0, gid: 0, comm: ProcessName(), source: EventPath("/d")))
        let noName = #"{"event_type":"mkdir","timestamp":"1970-01-01T00:00:00Z"}"#
        #expect(failure(noName) == EventJSONDecodeError(reason: "src_filename: missing (a required key)", offset: noName.utf8.count - 1))
        #expect(failure(#"{"src_filename":"/d","timestamp":"1970-01-01T00:00:00Z"}"#)?.reason == "event_type: missing (a required key)")
        #expect(failure(#"{"src_filename":"/d","event_type":"open"}"#)?.reason == "timestamp: missing (a required key)")
        #expect(failure("{}")?.reason == "event_type: missing (a required key)")
    }

    @Test func malformedValuesAreErrorsNamingTheirKey() {
        let cases: [(String, String, String)] = [
            ("pid", "-1", "pid: expected an integer from 0 to 4294967295"),
            ("pid", "4294967296", "pid: expected an integer from 0 to 4294967295"),
            ("pid", "01", "pid: expected an integer from 0 to 4294967295"),
            ("pid", "1.5", "pid: expected an integer from 0 to 4294967295"),
            ("src_inode", "18446744073709551616", "src_inode: expected an integer from 0 to 18446744073709551615"),
            ("retval", "-9223372036854775809", "retval: expected an integer from -9223372036854775808"),
            ("event_type", "\"chmod\"", "event_type: expected an event type"),
            ("backend", "\"ebpf\"", "backend: expected a backend"),
            ("src_path_deleted", "1", "src_path_deleted: expected true or false"),
            ("src_device", "\"8:1:2\"", "src_device: expected null or a device"),
            ("src_device", "\"4096:0\"", "src_device: expected null or a device"),
            ("src_file_type", "\"door\"", "src_file_type: expected null or a file type"),
            ("comm", "\"seventeen-bytes-x\"", "comm: expected at most 16 bytes"),
            ("comm", "\"a\\u0000b\"", "comm: expected at most 16 bytes"),
            ("loginuid", "\"1\"", "loginuid: expected null or an integer"),
        ]
        for (key, value, reason) in cases {
            let error = failure(replacing(key, with: value))
            #expect(error?.reason.hasPrefix(reason) == true, "\(key)=\(value): \(error?.reason ?? "-")")
        }
        let text = String(decoding: line(makeEvent()), as: UTF8.self)
        #expect(failure(text + "x")?.reason == "expected nothing after the object, found 'x'")
        #expect(failure("[]")?.reason == "expected '{' opening an event, found '['")
        #expect(failure("")?.reason == "expected '{' opening an event, found the end of the input")
    }

    @Test func surroundingWhitespaceIsAllowed() throws {
        let text = String(decoding: line(makeEvent()), as: UTF8.self)
        #expect(try decode(" \t" + text + "\n") == makeEvent())
        let spaced = text.replacingOccurrences(of: ",\"", with: " ,\n \"").replacingOccurrences(of: "\":", with: "\" : ")
        #expect(spaced != text)
        #expect(try decode(spaced) == makeEvent())
    }

    @Test func device0AndUnknownRuntimeAreTolerated() throws {
        #expect(try decode(replacing("src_device", with: "\"0:0\"")).source.device == 0)
        #expect(try decode(replacing("src_device", with: "\"4095:1048575\"")).source.device == 0xFFFF_FFFF)
        var event = makeEvent()
        event.process.cgroup = CgroupInfo(id: 3, path: Array("/x".utf8), containerID: "abc", runtime: .docker)
        let decoded = try decode(replacing("container_runtime", with: "\"future-runtime\"", in: event))
        #expect(decoded.process.cgroup?.containerID == "abc" && decoded.process.cgroup?.runtime == nil)
    }
}
