/// The keys `EventJSONDecoder` knows, found by their bytes in one probe of a
/// small open-addressing table: a hash of the length and a few bytes picks
/// the slot, one comparison confirms it. Built from `EventField`'s schema when
/// first used, so a field added there is read by its key without a second
/// list to keep in step.
///
/// The table lives in memory allocated once and never freed (one instance
/// for the process), so a lookup touches no reference count.
final class EventJSONKeys: @unchecked Sendable {
    /// `schema_version`'s id: after every `EventField`'s `rawValue`.
    static let schemaVersion = EventField.allCases.count
    static let count = schemaVersion + 1

    static let standard = EventJSONKeys(names: EventField.allCases.map(\.name) + ["schema_version"])

    private static let slotCount = 256
    /// Key id + 1 per slot; 0 for an empty slot.
    private let slots: UnsafeMutablePointer<UInt8>
    /// Every name's bytes, one after the other; name `id` is
    /// `bytes[starts[id]..<starts[id + 1]]`.
    private let bytes: UnsafeMutablePointer<UInt8>
    private let starts: UnsafeMutablePointer<Int>

    init(names: [String]) {
        precondition(names.count < 255 && names.count * 2 <= Self.slotCount)
        let utf8 = names.map { Array($0.utf8) }
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: 0, count: Self.slotCount)
        let total = utf8.reduce(0) { $0 + $1.count }
        bytes = .allocate(capacity: max(total, 1))
        starts = .allocate(capacity: utf8.count + 1)
        var offset = 0
        for (id, name) in utf8.enumerated() {
            starts[id] = offset
            (bytes + offset).initialize(from: name, count: name.count)
            offset += name.count
            var slot = name.withUnsafeBufferPointer(Self.hash)
            while slots[slot] != 0 { slot = (slot + 1) & (Self.slotCount - 1) }
            slots[slot] = UInt8(id + 1)
        }
        starts[utf8.count] = offset
    }

    @inline(__always) private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        let n = key.count
        guard n > 0 else { return 0 }
        // The length, the first and last bytes, and the byte after the
        // `src_`/`target_` prefixes tell fsprobe's keys apart.
        let h = n &* 0x9E37 ^ Int(key[0]) &* 0x3B ^ Int(key[n - 1]) &* 0x65 ^ Int(key[min(n - 1, 7)]) &* 0x1F3 ^ Int(key[n / 2]) &* 7
        return (h ^ h >> 8) & (slotCount - 1)
    }

    /// The id of `key` (an `EventField`'s `rawValue`, or `schemaVersion`), or nil.
    @inline(__always) func id(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Self.hash(key)
        while true {
            let entry = Int(slots[slot])
            guard entry != 0 else { return nil }
            let start = starts[entry - 1], length = starts[entry] - start
            if length == key.count && (length == 0 || equalBytes(bytes + start, key.baseAddress!, length)) { return entry - 1 }
            slot = (slot + 1) & (Self.slotCount - 1)
        }
    }

    func name(of id: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: bytes + starts[id], count: starts[id + 1] - starts[id]), as: UTF8.self)
    }
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

/// Whether `count` bytes at `a` and `b` are equal: a word at a time, inline
/// (keys are short, and a call to `memcmp` per key cost more than comparing).
@inline(__always) func equalBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    while i + 8 <= count {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
        i += 8
    }
    while i < count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// Whether both hold the same bytes.
    @inline(__always) func equalBytes(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        count == other.count && (count == 0 || FSProbeCore.equalBytes(baseAddress!, other.baseAddress!, count))
    }
}
