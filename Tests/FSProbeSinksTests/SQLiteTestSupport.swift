import Foundation
import FSProbeCore
import FSProbeTestSupport
import GRDB
import Synchronization

/// The time of `makeEvent(seq: 0)`.
let baseTime = testEventTime

/// A wall clock the test sets by hand.
final class ManualClock: Sendable {
    private let nanoseconds: Mutex<Int64>
    init(_ nanoseconds: Int64) { self.nanoseconds = Mutex(nanoseconds) }
    func set(_ value: Int64) { nanoseconds.withLock { $0 = value } }
    var read: @Sendable () -> EventTimestamp {
        { EventTimestamp(nanosecondsSinceEpoch: self.nanoseconds.withLock { $0 }) }
    }
}
