import FSProbeCore

/// 2026-11-26T06:45:44.123456789Z, in nanoseconds: the time of
/// `makeEvent(seq: 0)`, with nanoseconds that show any rounding.
public let testEventTime: Int64 = 1_795_675_544_123_456_789

/// A plausible event, different in its time, pid, tid and inode for each
/// `seq`, for tests of everything after the kernel source.
public func makeEvent(_ type: EventType = .open, seq: Int = 0, time: Int64? = nil,
                      path: [UInt8] = Array("/tmp/file".utf8), target: [UInt8]? = nil,
                      comm: String = "cat", retval: Int64 = 3) -> FileEvent {
    FileEvent(
        type: type,
        timestamp: EventTimestamp(nanosecondsSinceEpoch: time ?? testEventTime + Int64(seq)),
        pid: 1000 + UInt32(seq), tid: 2000 + UInt32(seq), uid: 1001, gid: 1002,
        comm: ProcessName(comm), flags: 0o100101, mode: 0o644, retval: retval,
        source: EventPath(bytes: path, inode: 131_090 + UInt64(seq), mountID: 28),
        target: target.map { EventPath(bytes: $0, inode: 77, mountID: 29) })
}
