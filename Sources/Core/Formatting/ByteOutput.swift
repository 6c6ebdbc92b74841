/// Where the formatters write: a growable `[UInt8]`, or a `LineCursor` over
/// room made ahead in one.
///
/// The helpers (`appendStatic`, `appendDecimal`, `appendJSONEscaped`, …) are
/// written once against this protocol and specialised for each. Appending to
/// an `Array` checks uniqueness and capacity on every call, which made most
/// of a JSON line's cost (about 170 appends a line); the cursor only stores.
protocol ByteOutput {
    mutating func append(_ byte: UInt8)
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>)
    /// Appends exactly `count` bytes, which `write` stores at the pointer it
    /// is given (digits written right to left, a fixed-width timestamp):
    /// into the output itself where it can, saving a copy from the stack.
    mutating func appendFixed(count: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Void)
}

extension Array: ByteOutput where Element == UInt8 {
    mutating func appendFixed(count: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Void) {
        guard count > 0 else { return }
        // Written straight into spare capacity, which `write` fills whole.
        append(addingCapacity: count) { span in
            span.withUnsafeMutableBufferPointer { spare, initialized in
                write(spare.baseAddress!)
                initialized = count
            }
        }
    }
}

/// Writes into `capacity` bytes at `base` that its owner made room for.
///
/// It never writes past them: what does not fit is counted but not stored,
/// so after a line `count` is the room the whole line needs, and the owner
/// writes it again with that much when it is larger than `capacity`
/// (`JSONLineEncoder.encode(_:into:)`). A short estimate costs a second
/// pass, never memory safety.
struct LineCursor: ByteOutput {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    /// Bytes written, or needed once more than `capacity`.
    private(set) var count = 0

    init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count < capacity { base[count] = byte }
        count &+= 1
    }

    @inline(__always)
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        if n > 0 && n <= capacity &- count {
            (base + count).update(from: bytes.baseAddress!, count: n)
        }
        count &+= n
    }

    @inline(__always)
    mutating func appendFixed(count n: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Void) {
        // Without room the pass is written again (see above): only count.
        if n <= capacity &- count { write(base + count) }
        count &+= n
    }

    /// Replaces the first byte written (the first key's comma becomes `{`).
    mutating func replaceFirst(with byte: UInt8) {
        if capacity > 0 { base[0] = byte }
    }
}
