/// A bounded map that forgets its least recently used entry first.
///
/// `get` and `put` are O(1): a dictionary finds an entry's slot, and the
/// slots form a doubly linked list, most recently used first, threaded
/// through arrays by index. There are no node objects, so a hit allocates
/// nothing; a full cache reuses the evicted entry's slot.
struct LRUCache<Key: Hashable, Value> {
    let capacity: Int
    private var slots: [Key: Int32] = [:]
    private var keys: [Key] = []
    private var values: [Value] = []
    private var newer: [Int32] = []
    private var older: [Int32] = []
    private var newest: Int32 = -1
    private var oldest: Int32 = -1

    init(capacity: Int) {
        precondition(capacity > 0 && capacity <= Int(Int32.max), "LRU capacity \(capacity)")
        self.capacity = capacity
        // Grown on demand: a large capacity costs nothing until it is used.
        slots.reserveCapacity(min(capacity, 1024))
    }

    var count: Int { slots.count }

    /// The value stored for `key`, which becomes the most recently used.
    mutating func get(_ key: Key) -> Value? {
        guard let slot = slots[key] else { return nil }
        moveToFront(slot)
        return values[Int(slot)]
    }

    /// The value stored for `key`, leaving the order as it is.
    func peek(_ key: Key) -> Value? {
        slots[key].map { values[Int($0)] }
    }

    /// Stores `value` for `key` as the most recently used entry. Returns
    /// the entry evicted to make room, if one was.
    @discardableResult
    mutating func put(_ key: Key, _ value: Value) -> (key: Key, value: Value)? {
        if let slot = slots[key] {
            values[Int(slot)] = value
            moveToFront(slot)
            return nil
        }
        if slots.count < capacity {
            let slot = Int32(keys.count)
            keys.append(key)
            values.append(value)
            newer.append(-1)
            older.append(-1)
            slots[key] = slot
            link(slot)
            return nil
        }
        let slot = oldest
        let evicted = (key: keys[Int(slot)], value: values[Int(slot)])
        unlink(slot)
        slots[evicted.key] = nil
        keys[Int(slot)] = key
        values[Int(slot)] = value
        slots[key] = slot
        link(slot)
        return evicted
    }

    /// Keys from the most to the least recently used (for tests).
    var keysByRecency: [Key] {
        var result: [Key] = []
        var slot = newest
        while slot >= 0 {
            result.append(keys[Int(slot)])
            slot = older[Int(slot)]
        }
        return result
    }

    private mutating func moveToFront(_ slot: Int32) {
        guard slot != newest else { return }
        unlink(slot)
        link(slot)
    }

    /// Makes `slot`, unlinked, the newest.
    private mutating func link(_ slot: Int32) {
        newer[Int(slot)] = -1
        older[Int(slot)] = newest
        if newest >= 0 { newer[Int(newest)] = slot } else { oldest = slot }
        newest = slot
    }

    private mutating func unlink(_ slot: Int32) {
        let before = newer[Int(slot)], after = older[Int(slot)]
        if before >= 0 { older[Int(before)] = after } else { newest = after }
        if after >= 0 { newer[Int(after)] = before } else { oldest = before }
    }
}
