import Foundation
import FSProbeCore
import FSProbePipeline
import Synchronization

/// Small real implementations of the pipeline protocols, for tests.

/// Emits `events`, then (with `untilStopped`) waits for `stop()`.
public final class ArraySource: EventSource, @unchecked Sendable {
    private let events: [FileEvent]
    private let untilStopped: Bool
    private let stopped = DispatchSemaphore(value: 0)
    /// Signalled once every event has been emitted.
    public let emittedAll = DispatchSemaphore(value: 0)

    public init(_ events: [FileEvent], untilStopped: Bool = false) {
        self.events = events
        self.untilStopped = untilStopped
    }

    public func run(emit: (FileEvent) -> Void) throws {
        for event in events { emit(event) }
        emittedAll.signal()
        if untilStopped { stopped.wait() }
    }

    public func stop() { stopped.signal() }

    public var counters: SourceCounters { SourceCounters(kernelDropped: 7) }
}

/// Emits `events` in rounds of `roundSize`, ending each as the kernel
/// source ends a poll, and hands each event over (`consuming`) as it does.
public final class ArrayRoundSource: RoundBasedEventSource, @unchecked Sendable {
    private let events: [FileEvent]
    private let roundSize: Int
    /// Rounds ended so far.
    public private(set) var rounds = 0

    public init(_ events: [FileEvent], roundSize: Int) {
        self.events = events
        self.roundSize = roundSize
    }

    public func run(emit: (consuming FileEvent) -> Void, endOfRound: () -> Void) throws {
        for (index, event) in events.enumerated() {
            emit(event)
            if (index + 1) % roundSize == 0 || index == events.count - 1 {
                rounds += 1
                endOfRound()
            }
        }
    }

    public func stop() {}

    public var counters: SourceCounters { SourceCounters() }
}

/// Remembers every event, in order.
public final class CollectingSink: EventSink, Sendable {
    public let name: String
    private let state = Mutex<(events: [FileEvent], flushes: Int, closed: Bool)>(([], 0, false))

    public init(name: String) { self.name = name }

    public func write(_ event: FileEvent) throws { state.withLock { $0.events.append(event) } }
    public func flush() throws { state.withLock { $0.flushes += 1 } }
    public func close() throws { state.withLock { $0.closed = true } }

    public var events: [FileEvent] { state.withLock { $0.events } }
    public var closed: Bool { state.withLock { $0.closed } }
    public var flushes: Int { state.withLock { $0.flushes } }
}

/// Throws on every write whose pid is odd.
public final class OddFailingSink: EventSink, Sendable {
    public struct Failure: Error {}
    public let name = "failing"
    private let written = Mutex(0)

    public init() {}

    public func write(_ event: FileEvent) throws {
        if event.pid % 2 == 1 { throw Failure() }
        written.withLock { $0 += 1 }
    }
    public func flush() throws {}
    public func close() throws {}

    public var count: Int { written.withLock { $0 } }
}

/// Parses one JSON line into a dictionary.
public func parseJSONLine(_ line: [UInt8]) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(line))
    guard let dictionary = object as? [String: Any] else { throw CocoaError(.coderReadCorrupt) }
    return dictionary
}
