import Foundation
import FSProbeTestSupport
import XCTest

/// fsprobe as a user runs it: JSON and table output for scripted activity.
final class OutputTests: XCTestCase {
    var dir: String!
    var outside: String!

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw NotRoot() }
        dir = try makeScratch(name)
        outside = try makeScratch(name + "outside")
    }

    override func tearDown() {
        for path in [dir, outside].compactMap({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }

    static let allEvents = ["open", "mkdir", "link", "rename", "setattr", "unlink", "rmdir", "modify"]

    func jsonObjects(_ probe: FSProbeProcess) throws -> [[String: Any]] {
        try probe.outputLines.map { line in
            let object = try JSONSerialization.jsonObject(with: line)
            return try XCTUnwrap(object as? [String: Any], "not an object: \(String(decoding: line, as: UTF8.self))")
        }
    }

    func testAllEightEventsAsJSONMatchTheScriptExactly() throws {
        let probe = try FSProbeProcess([dir, "--format", "json"] + Self.allEvents.flatMap { ["-e", $0] })
        probe.waitUntilReady()
        let tid = currentThreadID()
        let d: String = dir

        // The script: opens, creates, writes, chmods, truncates, renames,
        // links, unlinks, mkdirs and rmdirs, plus failures and noise outside.
        XCTAssertEqual(mkdir("\(d)/sub", 0o755), 0)
        let fd = open("\(d)/sub/file", O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        XCTAssertEqual(write(fd, "data", 4), 4)
        close(fd)
        XCTAssertEqual(chmod("\(d)/sub/file", 0o600), 0)
        XCTAssertEqual(truncate("\(d)/sub/file", 1), 0)
        XCTAssertEqual(rename("\(d)/sub/file", "\(d)/moved"), 0)
        XCTAssertEqual(link("\(d)/moved", "\(d)/linked"), 0)
        XCTAssertEqual(unlink("\(d)/linked"), 0)
        XCTAssertEqual(rmdir("\(d)/sub"), 0)
        XCTAssertEqual(rmdir("\(d)/not-there"), -1)
        let outsideFD = open("\(outside!)/noise", O_CREAT | O_WRONLY, 0o644)
        close(outsideFD)
        XCTAssertEqual(mkdir("\(outside!)/noise-dir", 0o755), 0)

        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        let events = try jsonObjects(probe)
        let summary = events.map { e in
            [e["event_type"], e["src_filename"], e["target_filename"], e["retval"]].map { "\($0 ?? "nil")" }.joined(separator: " ")
        }
        // The syscalls' results on the tracepoint backend; the VFS backends
        // report what the VFS functions return (0 for vfs_open, and modify
        // before the write) and never see the rmdir whose lookup failed.
        let vfs = FSProbeProcess.testBackend.map { $0 != "tracepoint" } ?? false
        var expected = [
            "mkdir \(d)/sub  0",
            "open \(d)/sub/file  \(vfs ? 0 : fd)",
            "modify \(d)/sub/file  \(vfs ? 0 : 4)",
            "setattr \(d)/sub/file  0",
            "setattr \(d)/sub/file  0",
            "rename \(d)/sub/file \(d)/moved 0",
            "link \(d)/moved \(d)/linked 0",
            "unlink \(d)/linked  0",
            "rmdir \(d)/sub  0",
            "rmdir \(d)/not-there  -\(ENOENT)",
        ]
        if vfs { expected.removeLast() }
        XCTAssertEqual(summary, expected)
        for event in events {
            XCTAssertEqual(event["pid"] as? Int, Int(getpid()))
            XCTAssertEqual(event["tid"] as? Int, tid)
            XCTAssertEqual(event["uid"] as? Int, Int(getuid()))
            XCTAssertEqual(event["gid"] as? Int, Int(getgid()))
            XCTAssertEqual(event["comm"] as? String, ownComm())
            for field in ["flags", "mode", "src_inode", "src_mount_id", "target_inode", "target_mount_id", "timestamp"] {
                XCTAssertNotNil(event[field], "field \(field) missing")
            }
        }
        XCTAssertEqual(events.last?["error"] as? String, vfs ? nil : "ENOENT")
        XCTAssertTrue(probe.errors.contains("fsprobe: stopped"), probe.errors)
    }

    func testDefaultTableHasAHeaderAndOneLinePerOpen() throws {
        let probe = try FSProbeProcess([dir, "-e", "open"])
        probe.waitUntilReady()
        for name in ["a", "b", "c"] { close(open("\(dir!)/\(name)", O_CREAT | O_WRONLY, 0o644)) }
        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        let lines = probe.outputLines.map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(lines.count, 4, "\(lines)")
        for column in ["EVT", "TS", "PID", "TID", "UID", "GID", "CMD", "INODE", "MOUNTID", "RET", "MODE", "FLAG", "PATH"] {
            XCTAssertTrue(lines.first?.contains(column) ?? false, "header lacks \(column): \(lines.first ?? "")")
        }
        XCTAssertTrue(lines[1].hasSuffix("\(dir!)/a"), lines[1])
        XCTAssertTrue(lines[3].hasSuffix("\(dir!)/c"), lines[3])
    }

    func testHostileNamesGiveValidJSONLinesAndOneTableLineEach() throws {
        let hostile: [[UInt8]] = [
            Array("new\nline".utf8),
            Array("esc\u{1b}[31mred\u{1b}[0m".utf8),
            [0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74],           // invalid UTF-8
            Array("quote\"back\\slash\ttab".utf8),
            Array("fake\n{\"event_type\":\"open\"}".utf8),
        ]
        let json = try FSProbeProcess([dir, "--format", "json", "-e", "open"])
        let table = try FSProbeProcess([dir, "--format", "table", "-e", "open"])
        json.waitUntilReady()
        table.waitUntilReady()
        for name in hostile {
            let path = Array(dir.utf8) + [UInt8(ascii: "/")] + name + [0]
            let fd = path.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
            XCTAssertGreaterThanOrEqual(fd, 0)
            close(fd)
        }
        XCTAssertEqual(json.terminate(), 0, json.errors)
        XCTAssertEqual(table.terminate(), 0, table.errors)

        let objects = try jsonObjects(json)
        XCTAssertEqual(objects.count, hostile.count)
        XCTAssertEqual(objects.compactMap { $0["src_filename"] as? String }.first, "\(dir!)/new\nline")
        XCTAssertNotNil(String(data: json.output, encoding: .utf8), "JSON output must be valid UTF-8")

        let lines = table.outputLines
        XCTAssertEqual(lines.count, 1 + hostile.count, "one header + one line per event")
        for line in lines {
            XCTAssertFalse(line.contains(0x1b), "raw ESC in a table line")
            XCTAssertFalse(line.contains { $0 < 0x20 && $0 != UInt8(ascii: "\t") }, "raw control byte in a table line")
            XCTAssertNotNil(String(data: line, encoding: .utf8), "table line is not valid UTF-8")
        }
    }

    func testOutputFileIsCreatedPrivate() throws {
        let output = "\(outside!)/events.json"
        let probe = try FSProbeProcess([dir, "--format", "json", "-o", output, "-e", "open"])
        probe.waitUntilReady()
        close(open("\(dir!)/x", O_CREAT | O_WRONLY, 0o644))
        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        let attributes = try FileManager.default.attributesOfItem(atPath: output)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let content = try String(contentsOfFile: output, encoding: .utf8)
        XCTAssertEqual(content.split(separator: "\n").count, 1)
        XCTAssertTrue(content.contains("\"src_filename\":\"\(dir!)/x\""), content)
        XCTAssertEqual(probe.output.count, 0, "events go to the file, not stdout")
    }

    func testCobraStyleBooleanFlagsAreAccepted() throws {
        try FileManager.default.createDirectory(atPath: "\(dir!)/sub", withIntermediateDirectories: true)
        let probe = try FSProbeProcess([dir, "-r=false", "--follow=false", "--paths-filtering=true", "--format", "json", "-e", "open"])
        probe.waitUntilReady()
        XCTAssertTrue(probe.errors.contains("immediate children"), probe.errors)
        close(open("\(dir!)/sub/deep", O_CREAT | O_WRONLY, 0o644))
        close(open("\(dir!)/top", O_CREAT | O_WRONLY, 0o644))
        XCTAssertEqual(probe.terminate(), 0)
        let paths = try jsonObjects(probe).compactMap { $0["src_filename"] as? String }
        XCTAssertEqual(paths, ["\(dir!)/top"])
    }
}

struct NotRoot: Error, CustomStringConvertible {
    var description: String { "the CLI tests load BPF programs and must run as root" }
}

func ownComm() -> String {
    (try? String(contentsOfFile: "/proc/self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? ""
}

/// The calling thread's kernel tid (`/proc/thread-self` → "PID/task/TID").
func currentThreadID() -> Int {
    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
    return Int(target.split(separator: "/").last ?? "") ?? 0
}
