/// Memory for the values one INSERT binds that the event does not hold as
/// bytes (its id as text, flag names, user names, a device number...),
/// kept until the statement is stepped and its bindings cleared.
///
/// SQLite would otherwise copy each such value into a buffer of its own
/// (SQLITE_TRANSIENT): one malloc and one free per value per event. Values
/// are appended one after the other and bound where they lie
/// (SQLITE_STATIC); `reset` after the step makes the space free again. The
/// arena never moves while values are bound: a value that does not fit is
/// refused (the caller lets SQLite copy it), and the arena grows at the
/// next reset to what that event needed.
struct BindingArena: ~Copyable {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0
    /// What the values of this event needed in all, fitted or not.
    private var wanted = 0

    init(capacity: Int = 4096) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 1)
    }

    deinit { base.deallocate() }

    /// A copy of `bytes` valid until `reset`, or nil when they do not fit.
    mutating func store(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawPointer? {
        wanted += bytes.count
        guard bytes.count <= capacity - used else { return nil }
        let start = base + used
        if let source = bytes.baseAddress { start.copyMemory(from: source, byteCount: bytes.count) }
        used += bytes.count
        return UnsafeRawPointer(start)
    }

    /// Frees every value; only once nothing bound points into the arena.
    mutating func reset() {
        if wanted > capacity {
            base.deallocate()
            capacity = max(wanted, capacity * 2)
            base = .allocate(byteCount: capacity, alignment: 1)
        }
        used = 0
        wanted = 0
    }
}
