/// A stage between the source and the sinks that may change or drop events:
/// filters (by path, process, type...), enrichment, redaction.
///
/// Every transform of a pipeline has its own buffer and its own thread, and
/// is called from that one thread only, so a transform may keep state
/// without locking. Pipeline files build their transforms as values
/// conforming to this protocol (`ComponentType.transform`).
import FSProbeCore
public protocol EventTransform: Sendable {
    /// A short name for statistics (how many events this stage filtered).
    var name: String { get }
    /// Updates `event` in place; returns false to drop it (later transforms
    /// and the sinks never see it, and the pipeline counts it as filtered).
    func apply(_ event: inout FileEvent) -> Bool
}

/// A transform from a closure, for small filters and tests.
public struct ClosureTransform: EventTransform {
    public let name: String
    private let body: @Sendable (inout FileEvent) -> Bool

    public init(name: String, _ body: @escaping @Sendable (inout FileEvent) -> Bool) {
        self.name = name
        self.body = body
    }

    public func apply(_ event: inout FileEvent) -> Bool { body(&event) }
}
