/// Finds `EventPath.processRootOffset` again from `*_process_path`.
///
/// The encoder writes the process path as the end of the path from that
/// offset on ("/" when the offset is the path's end), escaped like the
/// path: each byte that is not part of well-formed UTF-8 becomes U+FFFD,
/// and a suffix that starts inside a multi-byte character starts with one
/// U+FFFD per continuation byte. The offset is not written, so it is found
/// as one whose suffix writes exactly what the line has; any such offset
/// gives the same line back.
enum ProcessPathMatching {
    /// The offset into `path` whose suffix, written lossily, is `written`
    /// (decoded, so U+FFFD stands for each invalid byte); nil when none is.
    static func offset(of written: UnsafeBufferPointer<UInt8>, in path: UnsafeBufferPointer<UInt8>) -> Int? {
        // Mostly the suffix is valid UTF-8: then it is the same bytes.
        if written.count <= path.count {
            let start = path.count - written.count
            if UnsafeBufferPointer(rebasing: path[start...]).equalBytes(written) { return start }
        }
        if let offset = lossyOffset(of: written, in: path) { return offset }
        if written.count == 1 && written[0] == UInt8(ascii: "/") { return path.count }
        return nil
    }

    /// The general case, for paths that are not valid UTF-8 from the
    /// offset on. Scanning `path` from its start splits it into units (a
    /// well-formed character, or one invalid byte that becomes U+FFFD); a
    /// suffix that starts at a unit reads the same units, and one that
    /// starts inside a character of m bytes first reads its remaining
    /// continuation bytes as U+FFFD each. So the written length of every
    /// suffix follows from one backward sum, and only suffixes of the
    /// right length are compared: a few, whatever the path.
    private static func lossyOffset(of written: UnsafeBufferPointer<UInt8>, in path: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = path.count
        // unitLength[i]: bytes of the unit starting at i (0 inside one);
        // lossyFrom[i]: written length of the suffix from unit start i.
        var unitLength = [Int](repeating: 0, count: n + 1)
        var index = 0
        while index < n {
            let length = path[index] < 0x80 ? 1 : UTF8Scanner.sequenceLength(path, at: index)
            unitLength[index] = max(length, 1)
            index += max(length, 1)
        }
        var lossyFrom = [Int](repeating: 0, count: n + 1)
        index = n - 1
        while index >= 0 {
            if unitLength[index] > 0 {
                let valid = path[index] < 0x80 || UTF8Scanner.sequenceLength(path, at: index) > 0
                lossyFrom[index] = lossyFrom[index + unitLength[index]] + (valid ? unitLength[index] : 3)
            }
            index -= 1
        }
        var unitStart = 0
        for offset in 0...n {
            if offset == n || unitLength[offset] > 0 { unitStart = offset }
            let length: Int
            if offset == unitStart {
                length = lossyFrom[offset]
            } else {
                let next = unitStart + unitLength[unitStart]
                length = 3 * (next - offset) + lossyFrom[next]
            }
            if length == written.count && writes(UnsafeBufferPointer(rebasing: path[offset...]), written) { return offset }
        }
        return nil
    }

    /// Whether `bytes`, each invalid byte as U+FFFD, is `written`.
    private static func writes(_ bytes: UnsafeBufferPointer<UInt8>, _ written: UnsafeBufferPointer<UInt8>) -> Bool {
        var lossy: [UInt8] = []
        lossy.reserveCapacity(written.count)
        var index = 0
        while index < bytes.count {
            let length = bytes[index] < 0x80 ? 1 : UTF8Scanner.sequenceLength(bytes, at: index)
            if length == 0 {
                lossy.append(contentsOf: [0xEF, 0xBF, 0xBD])
                index += 1
            } else {
                lossy.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]))
                index += length
            }
        }
        return lossy.elementsEqual(written)
    }
}
