import Foundation
import FSProbeCore
import Synchronization

/// Small real implementations of the pipeline protocols, for tests.

func makeEvent(_ type: EventType = .open, seq: Int = 0, path: [UInt8] = Array("/tmp/file".utf8),
               target: [UInt8]? = nil, comm: String = "cat", retval: Int64 = 3) -> FileEvent {
    FileEvent(
        type: type,
        timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_795_675_544_123_456_789 + Int64(seq)),
        pid: 1000 + UInt32(seq), tid: 2000, uid: 1001, gid: 1002,
        comm: ProcessName(comm), flags: 0o100101, mode: 0o644, retval: retval,
        source: EventPath(bytes: path, inode: 131_090 + UInt64(seq), mountID: 28),
        target: target.map { EventPath(bytes: $0, inode: 77, mountID: 29) })
}

/// Emits `events`, then (with `untilStopped`) waits for `stop()`.
final class ArraySource: EventSource, @unchecked Sendable {
    private let events: [FileEvent]
    private let untilStopped: Bool
    private let stopped = DispatchSemaphore(value: 0)
    /// Signalled once every event has been emitted.
    let emittedAll = DispatchSemaphore(value: 0)

    init(_ events: [FileEvent], untilStopped: Bool = false) {
        self.events = events
        self.untilStopped = untilStopped
    }

    func run(emit: (FileEvent) -> Void) throws {
        for event in events { emit(event) }
        emittedAll.signal()
        if untilStopped { stopped.wait() }
    }

    func stop() { stopped.signal() }

    var counters: SourceCounters { SourceCounters(kernelDropped: 7) }
}

/// Remembers every event, in order.
final class CollectingSink: EventSink, Sendable {
    let name: String
    private let state = Mutex<(events: [FileEvent], flushes: Int, closed: Bool)>(([], 0, false))

    init(name: String) { self.name = name }

    func write(_ event: FileEvent) throws { state.withLock { $0.events.append(event) } }
    func flush() throws { state.withLock { $0.flushes += 1 } }
    func close() throws { state.withLock { $0.closed = true } }

    var events: [FileEvent] { state.withLock { $0.events } }
    var closed: Bool { state.withLock { $0.closed } }
    var flushes: Int { state.withLock { $0.flushes } }
}

/// Throws on every write whose pid is odd.
final class OddFailingSink: EventSink, Sendable {
    struct Failure: Error {}
    let name = "failing"
    private let written = Mutex(0)

    func write(_ event: FileEvent) throws {
        if event.pid % 2 == 1 { throw Failure() }
        written.withLock { $0 += 1 }
    }
    func flush() throws {}
    func close() throws {}

    var count: Int { written.withLock { $0 } }
}

/// Parses one JSON line into a dictionary.
func parseJSONLine(_ line: [UInt8]) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(line))
    guard let dictionary = object as? [String: Any] else { throw CocoaError(.coderReadCorrupt) }
    return dictionary
}
