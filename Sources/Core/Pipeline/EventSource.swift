/// Where events come from: the kernel (`KernelEventSource`, its eBPF ring
/// buffer), or any other producer an embedding program writes.
///
/// The pipeline calls `run` on a thread of the source's own, and `stop()`
/// from any thread, possibly before `run` has started.
import FSProbeCore
public protocol EventSource: AnyObject, Sendable {
    /// Emits events until the source is exhausted or `stop()` is called, then
    /// returns. `emit` may block (the pipeline's buffer is full and its policy
    /// is `.block`): that is back-pressure, and a kernel source then lets the
    /// ring buffer fill and counts the kernel's drops in `counters`.
    /// Throws when the source fails; events already emitted are still
    /// delivered.
    func run(emit: (FileEvent) -> Void) throws
    /// Asks `run` to return soon. Thread-safe, cheap and idempotent; when
    /// called before `run`, `run` must return at once, emitting only what the
    /// source had already captured (nothing is lost to a early stop).
    func stop()
    /// Source-side counters, read at any time from any thread.
    var counters: SourceCounters { get }
}

/// What a source lost before events reached the pipeline.
public struct SourceCounters: Sendable, Hashable {
    /// Events the kernel could not queue because the ring buffer was full.
    public var kernelDropped: UInt64
    /// Records user space received but could not decode.
    public var decodeErrors: UInt64

    public init(kernelDropped: UInt64 = 0, decodeErrors: UInt64 = 0) {
        self.kernelDropped = kernelDropped
        self.decodeErrors = decodeErrors
    }
}
