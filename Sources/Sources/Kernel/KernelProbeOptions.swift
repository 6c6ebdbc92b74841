import FSProbeCore

/// What the kernel side is asked to do; fixed at load time.
public struct KernelProbeOptions: Sendable {
    /// Event types to report; the others are discarded in the kernel.
    public var events: EventTypeSet = .openOnly
    /// Report only events on watched paths (filtering done in the kernel).
    public var pathsFiltering: Bool = true
    /// Watch whole subtrees of watched directories, not only their children.
    public var recursive: Bool = true
    /// Keep watching a file or directory moved out of the watched tree.
    public var follow: Bool = true
    /// Whether moved objects are followed: only watches can be followed.
    public var followsMoves: Bool { follow && pathsFiltering }
    /// The event types whose hooks run: the reported ones, and renames when
    /// moved objects are followed, reported or not.
    public var hookedEvents: EventTypeSet { followsMoves ? events.union(EventTypeSet([EventType.rename])) : events }
    /// Ring buffer size in pages of 4 KiB (a power of two). 16 MiB by
    /// default: at full speed one thread's opens come about as fast as the
    /// reader turns them into JSON, and the ring must hold what piles up
    /// while the reader writes or is scheduled out (about 115 ms at the
    /// loop's full rate; 4 MiB lost events in 3 of 27 runs of 10 s). The
    /// kernel clears the whole ring at each start (docs/performance.md).
    public var ringBufferPages: Int = defaultRingBufferPages
    public static let defaultRingBufferPages = 4096
    /// Capacity of the in-kernel map of watched inodes.
    public var maxWatchedInodes: Int = 16_384
    /// Hook backend to use; `nil` chooses the best the kernel accepts.
    public var backend: BackendKind? = nil
    /// Never report this process's own operations. On by default: a program
    /// writing events to a watched file (or, without path filtering, to any
    /// file) would otherwise report its own writes, in a loop.
    public var ignoreOwnProcess: Bool = true
    /// Where the kernel's BTF is read from (a kernel without it cannot run fsprobe).
    public var kernelBTFPath: String = "/sys/kernel/btf/vmlinux"
    /// Where the paths of the directories the kernel's walks stop at are kept.
    public var resolutionMode: ResolutionMode = .perfBuffer
    /// Entries of the mode's kernel cache of directories; nil for the mode's
    /// default (`ResolutionMode.defaultKernelCacheEntries`).
    public var kernelCacheEntries: Int? = nil
    /// Entries of user space's cache of resolved directory paths (LRU).
    public var pathCacheEntries: Int = defaultPathCacheEntries
    /// Benchmarks only: attach every hook with a body that returns at once
    /// and so reports nothing, to measure what the hooks themselves cost.
    public var emptyPrograms: Bool = false

    public static let defaultPathCacheEntries = 32_768
    /// Most user-space path cache entries accepted.
    public static let maxPathCacheEntries = 1 << 20

    /// The kernel cache's entries once the mode's default is applied.
    public var effectiveKernelCacheEntries: Int { kernelCacheEntries ?? resolutionMode.defaultKernelCacheEntries }

    public init() {}

    /// Checks the options without touching the kernel.
    public func validate() throws(InvalidSetting) {
        guard ringBufferPages > 0, ringBufferPages & (ringBufferPages - 1) == 0, ringBufferPages <= 1 << 18 else {
            throw InvalidSetting(.ringBufferPages, value: "\(ringBufferPages)",
                                  expected: "a power of two between 1 and 262144 pages")
        }
        if let entries = kernelCacheEntries, !(1...resolutionMode.maxKernelCacheEntries).contains(entries) {
            throw InvalidSetting(.kernelCacheEntries, value: "\(entries)",
                                  expected: "1 to \(resolutionMode.maxKernelCacheEntries) entries in the \(resolutionMode.rawValue) resolution mode")
        }
        guard (1...Self.maxPathCacheEntries).contains(pathCacheEntries) else {
            throw InvalidSetting(.pathCacheEntries, value: "\(pathCacheEntries)", expected: "1 to \(Self.maxPathCacheEntries) entries")
        }
        guard maxWatchedInodes > 0 else {
            throw InvalidSetting(.maxWatchedInodes, value: "\(maxWatchedInodes)", expected: "a positive number")
        }
        guard !events.isEmpty else {
            throw InvalidSetting(.events, value: "none",
                                  expected: "at least one of \(EventType.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    /// What `validate` refuses: one setting, the value given, what would be
    /// accepted. Its callers name the setting as their users know it: a
    /// command-line flag, a pipeline file's option.
    public struct InvalidSetting: Error, Sendable, Equatable {
        public let setting: Setting
        public let value: String
        public let expected: String

        init(_ setting: Setting, value: String, expected: String) {
            self.setting = setting
            self.value = value
            self.expected = expected
        }
    }

    /// A setting `validate` can refuse.
    public enum Setting: Sendable, Equatable, CustomStringConvertible {
        case ringBufferPages, kernelCacheEntries, pathCacheEntries, maxWatchedInodes, events

        public var description: String {
            switch self {
            case .ringBufferPages: "ring buffer size"
            case .kernelCacheEntries: "kernel cache size"
            case .pathCacheEntries: "path cache size"
            case .maxWatchedInodes: "watched-inode capacity"
            case .events: "event types"
            }
        }
    }
}
