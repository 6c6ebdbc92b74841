extension Optional {
    /// Whether a value is there, without copying it. `!= nil` on an
    /// `Equatable` wrapped type (`EventPath`, `MountInfo`, …) resolves to
    /// `Optional`'s `==`, which compares two copies of the value: each
    /// retains what the value holds, and perf saw those retains on every
    /// event. A pattern that binds nothing copies nothing.
    @inlinable package var isPresent: Bool {
        if case .some = self { return true }
        return false
    }
}
