#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF

/// A directory the kernel found in its resolution cache: the walk wrote
/// this instead of the directory's names (`struct fsp_anchor`).
package struct Anchor: Hashable, Sendable {
    /// The entry's key, its epoch included.
    package var key: DirectoryKey
    /// The cache epoch the entry was valid in.
    package var epoch: UInt64 { key.epoch }

    package init(key: DirectoryKey) {
        self.key = key
    }

    package init(key: DirectoryKey, epoch: UInt64) {
        self.key = key
        self.key.epoch = epoch
    }
}

/// One item of a path's fragment bytes (see `FSP_ITEM_*` in fsprobe.h).
enum PathItem: Hashable, Sendable {
    /// A name: where its bytes (without the NUL) lie in the fragment bytes.
    case name(Range<Int>)
    /// The walk crossed from a mount's root into its parent mount.
    case mount
    /// A cached directory, standing for its path from its mount's root down
    /// to itself; the walk went on from that mount's root.
    case anchor(Anchor)
    /// The walk passed the acting process's root directory: the items
    /// before this one are the path as that process sees it.
    case processRoot
}

/// The items of one path, parsed forwards from its fragment bytes. Like the
/// bytes, they go from the leaf up to the root.
///
/// One instance is reused for every path: parsing refers to the bytes by
/// range instead of copying them, and allocates nothing once the storage
/// has grown to the longest path met.
struct PathItems {
    private(set) var items: [PathItem] = []

    init() {
        items.reserveCapacity(Int(FSP_MAX_DEPTH) + 16)
    }

    // FSP_ITEM_MARKER, FSP_ITEM_MOUNT, FSP_ITEM_ANCHOR, FSP_ITEM_ROOT: Swift does not
    // import character macros.
    static let marker = UInt8(ascii: "/")
    static let mountKind = UInt8(ascii: "M")
    static let anchorKind = UInt8(ascii: "A")
    static let rootKind = UInt8(ascii: "R")
    static let anchorLength = Int(FSP_ANCHOR_ITEM_LEN)

    /// Replaces the items with those of `fragments`. Returns false when the
    /// bytes do not follow the format (a marker of unknown kind, an anchor
    /// cut short, a name without its NUL): the kernel writes items whole or
    /// not at all, so that is an ABI mismatch and nothing in them can be
    /// trusted. The items parsed before the fault are kept.
    @discardableResult
    mutating func parse(_ fragments: UnsafeRawBufferPointer) -> Bool {
        items.removeAll(keepingCapacity: true)
        guard let base = fragments.baseAddress else { return true }
        var index = 0
        while index < fragments.count {
            if fragments[index] == Self.marker {
                guard index + 1 < fragments.count else { return false }
                switch fragments[index + 1] {
                case Self.mountKind:
                    items.append(.mount)
                    index += 2
                case Self.rootKind:
                    items.append(.processRoot)
                    index += 2
                case Self.anchorKind:
                    guard index + Self.anchorLength <= fragments.count else { return false }
                    let anchor = fragments.loadUnaligned(fromByteOffset: index + 2, as: fsp_anchor.self)
                    items.append(.anchor(Anchor(key: DirectoryKey(anchor.key))))
                    index += Self.anchorLength
                default:
                    return false
                }
            } else {
                guard let nul = memchr(base + index, 0, fragments.count - index) else { return false }
                let end = base.distance(to: UnsafeRawPointer(nul))
                items.append(.name(index..<end))
                index = end + 1
            }
        }
        return true
    }

    /// Where the first mount segment ends: the index of the first marker
    /// (mount, anchor or process root), or the item count when there is
    /// none. (The kernel writes a process root inside a segment only on
    /// walks that bypass the caches, which have nothing to learn.)
    var firstSegmentEnd: Int {
        items.firstIndex { if case .name = $0 { false } else { true } } ?? items.count
    }
}
