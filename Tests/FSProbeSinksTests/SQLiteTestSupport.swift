import Foundation
import FSProbeCore
import GRDB
import Synchronization

/// A fresh directory per test, removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fsprobe-sqlite-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// 2026-11-26T00:00:00Z, in nanoseconds.
let baseTime: Int64 = 1_795_651_200 * 1_000_000_000

func makeEvent(_ type: EventType = .open, seq: Int = 0, time: Int64? = nil, path: [UInt8] = Array("/tmp/file".utf8),
               target: [UInt8]? = nil, comm: ProcessName = ProcessName("cat"), retval: Int64 = 3) -> FileEvent {
    FileEvent(
        type: type,
        timestamp: EventTimestamp(nanosecondsSinceEpoch: time ?? baseTime + Int64(seq)),
        pid: 1000 + UInt32(seq), tid: 2000 + UInt32(seq), uid: 1001, gid: 1002,
        comm: comm, flags: 0o100101, mode: 0o644, retval: retval,
        source: EventPath(bytes: path, inode: 131_090 + UInt64(seq), mountID: 28),
        target: target.map { EventPath(bytes: $0, inode: 77, mountID: 29) })
}

/// A second, independent connection to the sink's database, as a user's
/// query tool would open it.
func openReader(_ path: String) throws -> DatabaseQueue {
    try DatabaseQueue(path: path)
}

func count(_ reader: DatabaseQueue, _ sql: String = "SELECT count(*) FROM events") throws -> Int {
    try reader.read { try Int.fetchOne($0, sql: sql) ?? -1 }
}

/// A wall clock the test sets by hand.
final class ManualClock: Sendable {
    private let nanoseconds: Mutex<Int64>
    init(_ nanoseconds: Int64) { self.nanoseconds = Mutex(nanoseconds) }
    func set(_ value: Int64) { nanoseconds.withLock { $0 = value } }
    var read: @Sendable () -> EventTimestamp {
        { EventTimestamp(nanosecondsSinceEpoch: self.nanoseconds.withLock { $0 }) }
    }
}
