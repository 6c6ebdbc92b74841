import CFSProbeBPF

/// What the kernel marked on a rename record about following moved objects
/// (`FSP_RENAME_*` in `ebpf/fsprobe.h`), above the caller's `RENAME_*` flags.
public struct RenameFollowMarks: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The kernel began to watch the moved object (it left every watch).
    public static let followedSource = RenameFollowMarks(rawValue: UInt32(FSP_RENAME_FOLLOWED_SOURCE))
    /// With `RENAME_EXCHANGE`: the object that was at the target did.
    public static let followedTarget = RenameFollowMarks(rawValue: UInt32(FSP_RENAME_FOLLOWED_TARGET))
    /// Renames are not a selected event type: the record is passed up for
    /// following only and is never reported.
    public static let unselected = RenameFollowMarks(rawValue: UInt32(FSP_RENAME_UNSELECTED))

    public static let all: RenameFollowMarks = [.followedSource, .followedTarget, .unselected]

    /// The marks of a rename record (none for any other type).
    public init(record: UnsafeRawBufferPointer) {
        guard record.count >= KernelRecordDecoder.headerSize, let base = record.baseAddress,
              base.loadUnaligned(fromByteOffset: MemoryLayout<fsp_event>.offset(of: \.event_type)!, as: UInt32.self)
                == UInt32(FSP_EVENT_RENAME.rawValue)
        else { self = []; return }
        let flags = base.loadUnaligned(fromByteOffset: MemoryLayout<fsp_event>.offset(of: \.flags)!, as: UInt32.self)
        self.init(rawValue: flags & Self.all.rawValue)
    }
}
