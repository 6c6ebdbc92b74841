import FSProbeCore
import FSProbeSinks

/// Events for the Kafka tests, with the names a hostile process can create.
public enum KafkaTestEvents {
    /// Source paths, among them bytes that break naive framing or encoding:
    /// a newline (JSON Lines framing), escape sequences, quotes and
    /// backslashes, invalid UTF-8, multi-byte UTF-8.
    public static let paths: [[UInt8]] = [
        Array("/tmp/line\nbreak".utf8),
        Array("/tmp/esc\u{1b}[31mred\u{1b}[0m".utf8),
        Array("/tmp/quote\"back\\slash\ttab".utf8),
        [0x2F, 0x74, 0x6D, 0x70, 0x2F, 0xFF, 0xFE, 0x80, 0x2E, 0x6C, 0x6F, 0x67],  // "/tmp/" + invalid UTF-8 + ".log"
        Array("/tmp/ünïcødé/文件".utf8),
        Array("/tmp/del\u{7f}and\u{01}ctl".utf8),
    ] + (0..<10).map { Array("/var/lib/app/file-\($0).db".utf8) }

    /// The host (no container) and two containers.
    public static let containers = [
        CgroupInfo(id: 1, path: Array("/".utf8)),
        CgroupInfo(id: 2, path: Array("/docker/\(String(repeating: "a1", count: 32))".utf8),
                   containerID: String(repeating: "a1", count: 32), runtime: .docker),
        CgroupInfo(id: 3, path: Array("/machine.slice/systemd-nspawn@web.service".utf8), containerID: "web", runtime: .nspawn),
    ]

    /// `count` events cycling over `paths`; `pid` is the sequence number
    /// (so order can be checked) and comm, uid and type vary.
    public static func events(count: Int) -> [FileEvent] {
        let comms = [ProcessName("writer"), ([0x62, 0xFF, 0x0A, 0x22] as [UInt8]).withUnsafeBytes { ProcessName(bytes: $0) },
                     ProcessName("rm\u{1b}]0;x")]
        return (0..<count).map { i in
            FileEvent(type: EventType.allCases[i % EventType.allCases.count],
                      timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_700_000_000_000_000_000 + Int64(i) * 1_001),
                      pid: UInt32(1000 + i), tid: UInt32(1000 + i), uid: UInt32(i % 3) * 500, gid: 0,
                      comm: comms[i % comms.count], flags: 0o100_001, mode: 0o644, retval: i % 7 == 0 ? -2 : 0,
                      source: EventPath(bytes: paths[i % paths.count], inode: UInt64(i), mountID: 22),
                      target: i % 5 == 0 ? EventPath(bytes: paths[(i + 1) % paths.count], inode: 9, mountID: 22) : nil,
                      process: ProcessContext(ppid: 1, euid: UInt32(i % 2), cgroup: containers[i % containers.count]))
        }
    }

    /// What the sink must send as value: the JSON line without its newline.
    public static func expectedValue(_ event: FileEvent) -> [UInt8] {
        var line: [UInt8] = []
        JSONLineEncoder().encode(event, into: &line)
        return Array(line.dropLast())
    }

    /// What the sink must send as key, written independently of the sink.
    public static func expectedKey(_ event: FileEvent, _ key: KafkaMessageKey) -> [UInt8]? {
        switch key {
        case .srcFilename: event.source.bytes.isEmpty ? nil : event.source.bytes
        case .pid: Array(String(event.pid).utf8)
        case .comm: event.comm.withBytes { Array($0) }
        case .eventType: Array(event.type.name.utf8)
        case .uid: Array(String(event.uid).utf8)
        case .containerID: event.process.containerID.isEmpty ? nil : Array(event.process.containerID.utf8)
        case .eventID: event.id.map { Array($0.description.utf8) }
        case .none: nil
        }
    }

    /// A unique topic name per test run (the broker is fresh anyway; this
    /// keeps a reused broker from mixing runs).
    public static func topic(_ base: String) -> String {
        "fsprobe.test.\(base).\(UInt32.random(in: 0...UInt32.max))"
    }
}
