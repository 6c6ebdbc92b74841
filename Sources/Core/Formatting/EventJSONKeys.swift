/// The keys `EventJSONDecoder` knows, found by their bytes in one probe of a
/// small open-addressing table: a hash of the length and three bytes picks
/// the slot, one comparison confirms it. Built from `EventField`'s schema
/// when first used, so a field added there is read by its key without a
/// second list to keep in step.
struct EventJSONKeys: Sendable {
    /// `schema_version`'s id: after every `EventField`'s `rawValue`.
    static let schemaVersion = EventField.allCases.count
    static let count = schemaVersion + 1

    static let standard = EventJSONKeys(names: EventField.allCases.map(\.name) + ["schema_version"])

    private static let slotCount = 256
    /// Key id + 1 per slot; 0 for an empty slot.
    private var slots: [UInt8]
    private var names: [[UInt8]]

    init(names: [String]) {
        precondition(names.count < 255 && names.count * 2 <= Self.slotCount)
        self.names = names.map { Array($0.utf8) }
        slots = Array(repeating: 0, count: Self.slotCount)
        for (id, name) in self.names.enumerated() {
            var slot = name.withUnsafeBufferPointer(Self.hash)
            while slots[slot] != 0 { slot = (slot + 1) & (Self.slotCount - 1) }
            slots[slot] = UInt8(id + 1)
        }
    }

    @inline(__always) private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        let n = key.count
        guard n > 0 else { return 0 }
        // The last two bytes tell src_/target_ keys apart least, the length
        // and the byte after the prefix most.
        let h = n &* 0x9E37 ^ Int(key[0]) &* 0x3B ^ Int(key[n - 1]) &* 0x65 ^ Int(key[min(n - 1, 7)]) &* 0x1F3 ^ Int(key[n / 2]) &* 7
        return (h ^ h >> 8) & (slotCount - 1)
    }

    /// The id of `key` (an `EventField`'s `rawValue`, or `schemaVersion`), or nil.
    @inline(__always) func id(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Self.hash(key)
        while true {
            let entry = Int(slots[slot])
            guard entry != 0 else { return nil }
            if names[entry - 1].withUnsafeBufferPointer({ $0.elementsEqual(key) }) { return entry - 1 }
            slot = (slot + 1) & (Self.slotCount - 1)
        }
    }

    func name(of id: Int) -> String { String(decoding: names[id], as: UTF8.self) }
}

/// Which keys of one object were seen: a bit per id, so a duplicate costs
/// one test to find.
struct SeenKeys {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    /// Marks `id`; false when it was already marked.
    @inline(__always) mutating func insert(_ id: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(id & 63)
        if id < 64 {
            defer { low |= bit }
            return low & bit == 0
        }
        defer { high |= bit }
        return high & bit == 0
    }

    @inline(__always) func contains(_ id: Int) -> Bool {
        id < 64 ? low & (1 << UInt64(id)) != 0 : high & (1 << UInt64(id & 63)) != 0
    }
}
