import Foundation
import FSProbeCore
import FSProbeTestSupport
import GRDB
import Synchronization

/// A fresh directory per test, removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    URL(fileURLWithPath: try makeTemporaryDirectory("fsprobe-sqlite"))
}

/// The time of `makeEvent(seq: 0)`.
let baseTime = testEventTime

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
