/// What a full buffer does with one more event (Vector's `when_full`).
public enum OverflowPolicy: String, CaseIterable, Sendable {
    /// The producer waits for room: back-pressure, nothing is lost here (a
    /// kernel source then loses events in the ring buffer, and counts them).
    case block
    /// The new event is discarded and counted; the producer never waits.
    case dropNewest = "drop_newest"
}
