/// The names of an event's `flags`, as the C constants spell them, joined
/// with `|` (`O_WRONLY|O_CREAT|O_TRUNC`, `RENAME_NOREPLACE`, `mode|owner`).
/// Bits without a name come last, in hexadecimal, so nothing is hidden.
///
/// Which table applies depends on the event type: open(2) flags for
/// `open`, renameat2 flags for `rename`, `AT_*` flags for `link`, `unlink`
/// and `rmdir`, what changed for `setattr`. `mkdir` has none, and `modify`'s
/// are not named (they are the `RWF_*` flags of pwritev2 or the mode of
/// fallocate, which the event does not tell apart).
enum FlagNames {
    /// Appends the names of `event.flags` (nothing when there are none).
    static func append(_ event: FileEvent, into output: inout some ByteOutput) {
        var rest = event.flags
        var first = true
        func name(_ text: StaticString) {
            if !first { output.append(UInt8(ascii: "|")) }
            output.appendStatic(text)
            first = false
        }
        switch event.type {
        case .open:
            switch rest & 0o3 {  // the access mode is a number, not a bit
            case 0: name("O_RDONLY")
            case 1: name("O_WRONLY")
            case 2: name("O_RDWR")
            default: name("O_ACCMODE")
            }
            rest &= ~0o3
            // Two-bit flags first, so their bits are not named twice.
            for (bits, text) in openPairs where rest & bits == bits {
                name(text)
                rest &= ~bits
            }
            named(&rest, openBits, name)
        case .rename: named(&rest, renameBits, name)
        case .link, .unlink, .rmdir: named(&rest, atBits, name)
        case .setattr: named(&rest, setattrBits, name)
        case .mkdir, .modify: break
        }
        if rest != 0 {
            if !first { output.append(UInt8(ascii: "|")) }
            output.appendStatic("0x")
            output.appendHex(UInt64(rest))
        }
    }

    private static func named(_ rest: inout UInt32, _ table: [(UInt32, StaticString)], _ name: (StaticString) -> Void) {
        for (bit, text) in table where rest & bit != 0 {
            name(text)
            rest &= ~bit
        }
    }

    // x86_64 values (include/uapi/asm-generic/fcntl.h).
    private static let openPairs: [(UInt32, StaticString)] = [
        (0o4010000, "O_SYNC"),  // __O_SYNC | O_DSYNC
        (0o20200000, "O_TMPFILE"),  // __O_TMPFILE | O_DIRECTORY
    ]
    private static let openBits: [(UInt32, StaticString)] = [
        (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"), (0o20000, "FASYNC"),
        (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
        (0o10000000, "O_PATH"),
    ]
    private static let renameBits: [(UInt32, StaticString)] = [
        (1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT"),
    ]
    private static let atBits: [(UInt32, StaticString)] = [
        (0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"),
        (0x1000, "AT_EMPTY_PATH"),
    ]
    /// fsprobe's own setattr kinds (`FSP_SETATTR_*`).
    private static let setattrBits: [(UInt32, StaticString)] = [
        (1, "mode"), (2, "owner"), (4, "size"), (8, "times"), (16, "xattr"), (32, "xattr_remove"),
        (64, "XATTR_CREATE"), (128, "XATTR_REPLACE"),
    ]
}

extension FileEvent {
    /// Appends the names of `flags` (see `FlagNames`), as `flag_names` has them.
    public func appendFlagNames(to output: inout [UInt8]) {
        FlagNames.append(self, into: &output)
    }
}

extension AttributeChange {
    /// Appends the JSON object `setattr` has for this change.
    public func appendJSON(to output: inout [UInt8]) {
        output.appendAttributes(self)
    }
}
