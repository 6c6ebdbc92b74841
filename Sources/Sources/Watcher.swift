import FSProbeCore
import Logging
import FSProbePipeline
import Synchronization

/// The embedding API: watch paths and iterate over their events.
///
/// ```swift
/// let watcher = try Watcher(paths: ["/etc"], events: .all)
/// for try await event in watcher.events { print(event.type, event.source.string) }
/// ```
///
/// Set-up errors (privileges, BTF, missing paths) are thrown by `init`; an
/// error that stops the source later (the ring buffer cannot be read) is
/// thrown by `events`, after the events captured before it, so a stream
/// that ends without one ended because of `close()`.
/// Events are buffered up to `bufferCapacity`; when the consumer falls
/// behind, new events are dropped and counted in `droppedEvents` rather than
/// letting memory grow. `add(path:)` and `remove(path:)` take effect at once; `close()` stops
/// the kernel side, delivers what it already captured, then ends `events`.
///
/// Concurrency: all methods are thread-safe. `events` is meant for one
/// consumer (an `AsyncThrowingStream`: two loops would split the events
/// between them). After `close()`, `add(path:)` and `remove(path:)` still
/// update the (detached) watch map and have no visible effect, and the
/// counters keep their last values.
public final class Watcher: Sendable {
    public let events: AsyncThrowingStream<FileEvent, any Error>
    private let source: KernelEventSource
    private let dropped = DropCounter()
    private let thread: WorkerThread

    /// - Parameter logger: where the kernel source says what it attached and
    ///   why it passed over a backend (debug level).
    public init(paths: [String], events types: EventTypeSet = .all, options: KernelProbeOptions = KernelProbeOptions(),
                bufferCapacity: Int = 1000, logger: Logger = KernelEventSource.defaultLogger) throws {
        var options = options
        options.events = types
        let source = try KernelEventSource(paths: paths, options: options, logger: logger)
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: FileEvent.self, throwing: (any Error).self, bufferingPolicy: .bufferingOldest(max(1, bufferCapacity)))
        self.source = source
        self.events = stream
        let dropped = self.dropped
        continuation.onTermination = { _ in source.stop() }
        // ring_buffer__poll blocks: it gets its own thread, off the cooperative pool.
        thread = WorkerThread {
            Self.pump(source.run, into: continuation, dropped: dropped)
        }
    }

    /// Runs a source into the stream until it returns, then ends the stream:
    /// normally, or with the error the source threw.
    static func pump(_ run: ((FileEvent) -> Void) throws -> Void,
                     into continuation: AsyncThrowingStream<FileEvent, any Error>.Continuation, dropped: DropCounter) {
        do {
            try run { event in
                if case .dropped = continuation.yield(event) {
                    dropped.value.wrappingAdd(1, ordering: .relaxed)
                }
            }
            continuation.finish()
        } catch {
            continuation.finish(throwing: error)
        }
    }

    /// Watches one more file or directory, without reloading anything.
    public func add(path: String) throws {
        try source.add(path: path)
    }

    /// Stops watching one file or directory, without reloading anything.
    public func remove(path: String) throws {
        try source.remove(path: path)
    }

    /// Stops watching; `events` ends after the events already captured.
    public func close() {
        source.stop()
    }

    /// Events dropped because the consumer of `events` fell behind.
    public var droppedEvents: UInt64 { dropped.value.load(ordering: .relaxed) }

    /// Counters of the kernel side (events lost in the ring buffer, filtered, …).
    public var counters: KernelSourceCounters { source.kernelCounters }

    deinit {
        source.stop()
        thread.join()
    }
}

/// A shareable atomic counter (`Atomic` itself cannot be captured).
final class DropCounter: Sendable {
    let value = Atomic<UInt64>(0)
}
