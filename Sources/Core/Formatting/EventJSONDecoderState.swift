/// The unknown keys of the objects being read, to refuse a duplicate among
/// them: kept in one reused buffer, so a newer fsprobe's extra keys cost
/// no allocation once the buffer has grown.
///
/// Each key is compared with the others of its object; at most
/// `maxPerObject` per object keeps that quadratic cost small whatever the
/// input (fsprobe itself writes none).
struct UnknownKeys: Sendable {
    static let maxPerObject = 64

    enum Lookup { case new, duplicate, tooMany }

    private var bytes: [UInt8] = []
    /// Where each key ends in `bytes`.
    private var ends: [Int] = []

    /// The first key of the object being opened.
    var scope: Int { ends.count }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    /// Forgets the keys of an object read to its end.
    mutating func close(_ scope: Int) {
        guard scope < ends.count else { return }
        bytes.removeSubrange((scope == 0 ? 0 : ends[scope - 1])...)
        ends.removeSubrange(scope...)
    }

    /// Whether `key` may be added to the object opened at `scope`.
    func find(_ key: UnsafeBufferPointer<UInt8>, scope: Int) -> Lookup {
        guard ends.count - scope < Self.maxPerObject else { return .tooMany }
        var start = scope == 0 ? 0 : ends[scope - 1]
        for end in ends[scope...] {
            if end - start == key.count && bytes[start..<end].elementsEqual(key) { return .duplicate }
            start = end
        }
        return .new
    }

    mutating func append(_ key: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: key)
        ends.append(bytes.count)
    }
}

/// The last few objects a decoder made (origins, mounts, cgroups,
/// executables), by the JSON text they were made from: consecutive events
/// of one host and process share them, so decoding them again would only
/// allocate copies of what the previous event already holds.
struct RecentCache<Value: Sendable>: Sendable {
    private var keys: [[UInt8]] = []
    private var values: [Value] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func value(for key: [UInt8]) -> Value? {
        key.withUnsafeBufferPointer { key in
            for index in keys.indices where keys[index].withUnsafeBufferPointer({ $0.equalBytes(key) }) { return values[index] }
            return nil
        }
    }

    /// Keeps `value` under a copy of `key` (the caller reuses its buffer),
    /// in place of the oldest when full.
    mutating func insert(_ value: Value, for key: [UInt8]) {
        let copy = key.withUnsafeBufferPointer { Array($0) }
        if keys.count < capacity {
            keys.append(copy)
            values.append(value)
        } else {
            keys[next] = copy
            values[next] = value
            next = (next + 1) % capacity
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends a string value's part of a cache key: whether it is present,
    /// its length, its JSON text (escapes as written: the same text is the
    /// same value, another spelling only misses the cache).
    mutating func appendKey(_ slot: StringSlot, _ scanner: JSONScanner) {
        guard slot.isPresent else { return append(0) }
        append(1)
        appendKey(UInt64(slot.string.end - slot.string.start))
        append(contentsOf: scanner.contents(slot.string))
    }

    mutating func appendKey(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }
}
