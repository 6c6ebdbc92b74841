/// Where events come from: the kernel (`KernelEventSource`, its eBPF ring
/// buffer), or any other producer an embedding program writes.
///
/// The pipeline calls `run` on a thread of the source's own, and `stop()`
/// from any thread, possibly before `run` has started. A source that
/// acknowledges what it read upstream conforms to `AcknowledgingEventSource`
/// and is run with a `DeliveryCheckpoint` instead.
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
    /// Whether `suspend()` keeps capturing, so `run` may be called again
    /// (by the next pipeline of a reload) with nothing lost in between.
    var resumable: Bool { get }
    /// Ends `run` as `stop()` does, but leaves the source capturing: what
    /// happens until `run` is called again waits in the source (a kernel
    /// source's ring buffer). Same rules as `stop()`.
    func suspend()

    // What the source tells the operator of a run, so that a runner (the
    // command line's start-up, instance and closing lines) reports on any
    // source without knowing its kind. Each has a default: a source that
    // says nothing, watches nothing and counts nothing beyond `counters`.

    /// What the source runs on and what it reports, once it is ready
    /// ("backend fentry; events open; watching /srv (recursive)"); nil for
    /// no start-up line.
    var readiness: String? { get }
    /// The files whose events it reports: an instance whose outputs lie in
    /// there would report its own writes without end.
    var scope: SourceScope { get }
    /// Its numbers on the closing line, in the order shown.
    var closingCounts: [ClosingCount] { get }
    /// Levels it exports on `/metrics` besides its counts (a consumer's lag).
    var gauges: [SourceGauge] { get }
}

extension EventSource {
    public var resumable: Bool { false }
    public func suspend() { stop() }
    public var readiness: String? { nil }
    public var scope: SourceScope { .paths([]) }
    public var closingCounts: [ClosingCount] { [] }
    public var gauges: [SourceGauge] { [] }
}

/// A source that reads in rounds (a kernel source: one poll of its ring
/// buffer) and says when each ends, so that the pipeline wakes the next
/// stage once per round instead of once per event. With a stage that keeps
/// up, a wake-up per event cost a context switch per event: measured, the
/// largest single part of an event's cost in user space on a busy host.
public protocol RoundBasedEventSource: EventSource {
    /// As `run(emit:)`, calling `endOfRound` whenever no more events are
    /// ready for now (before it would wait for the next ones), and before
    /// it returns. Events emitted since the last `endOfRound` may wait for
    /// it, so a round must end before the source waits.
    ///
    /// `emit` takes the event (`consuming`): the pipeline moves it into the
    /// next stage's buffer instead of copying it, which for an event with
    /// half a dozen shared references saves as many reference-count updates.
    func run(emit: (consuming FileEvent) -> Void, endOfRound: () -> Void) throws
}

extension RoundBasedEventSource {
    public func run(emit: (FileEvent) -> Void) throws {
        try run(emit: { emit($0) }, endOfRound: {})
    }
}

/// A level a source reports, exported per source as
/// `fsprobe_<metric>{source="…"}`: it may go down as well as up.
public struct SourceGauge: Sendable, Equatable {
    public var metric: String
    public var help: String
    public var value: Int

    public init(metric: String, help: String, value: Int) {
        self.metric = metric
        self.help = help
        self.value = value
    }
}

/// The files whose events a source reports.
public enum SourceScope: Sendable, Equatable {
    /// Every file on the system.
    case everything
    /// These absolute paths: with every descendant (`recursive`), or with
    /// their direct children only.
    case paths([(path: [UInt8], recursive: Bool)])

    public static func == (a: SourceScope, b: SourceScope) -> Bool {
        switch (a, b) {
        case (.everything, .everything): true
        case (.paths(let x), .paths(let y)): x.elementsEqual(y) { $0.path == $1.path && $0.recursive == $1.recursive }
        default: false
        }
    }
}

/// One number a source adds to the closing line. Numbers with the same
/// group and label are summed over the sources of a run.
public struct ClosingCount: Sendable, Equatable {
    /// "" to be shown with the event totals; otherwise the name of the
    /// group it is shown in ("directory cache").
    public var group: String
    /// What is counted, after the number ("truncated paths", "hits").
    public var label: String
    public var value: UInt64
    /// Events captured and lost before they reached the pipeline: the run
    /// then ends with the status that says events were lost.
    public var isLoss: Bool
    /// The counter it is exported as on `/metrics`, per source:
    /// "kernel_lost_events" is `fsprobe_kernel_lost_events_total{source="…"}`.
    public var metric: String

    public init(_ value: UInt64, _ label: String, group: String = "", isLoss: Bool = false, metric: String) {
        self.value = value
        self.label = label
        self.group = group
        self.isLoss = isLoss
        self.metric = metric
    }
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
