/// The process name (`comm`) as the kernel holds it: up to 16 bytes, stored
/// inline so an event needs no heap allocation for it.
///
/// The bytes are whatever the process set (`prctl(PR_SET_NAME)`): they may be
/// invalid UTF-8 or contain control characters, so formatters escape them.
public struct ProcessName: Sendable, Hashable {
    public static let capacity = 16
    private var storage: (UInt64, UInt64) = (0, 0)
    /// Number of meaningful bytes (up to the first NUL).
    public private(set) var count: Int = 0

    public init() {}

    /// Copies at most 16 bytes, stopping at the first NUL.
    public init(bytes: UnsafeRawBufferPointer) {
        var length = 0
        while length < min(bytes.count, Self.capacity), bytes[length] != 0 { length += 1 }
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
        }
        count = length
    }

    public init(_ string: String) {
        var utf8 = Array(string.utf8.prefix(Self.capacity))
        self = utf8.withUnsafeMutableBytes { ProcessName(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Calls `body` with the name's bytes, without copying them.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: storage) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// A lossy String (invalid UTF-8 replaced), for display and matching.
    public var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }

    public static func == (lhs: ProcessName, rhs: ProcessName) -> Bool {
        lhs.count == rhs.count && lhs.storage == rhs.storage
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
    }
}

/// How completely the kernel resolved a path.
public struct PathResolution: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The walk stopped before the root (too deep or out of space): the path
    /// is only a suffix of the real one.
    public static let truncated = PathResolution(rawValue: 1 << 0)
    /// The part after the kernel-resolved base directory is the string the
    /// caller passed to the syscall (tracepoint backend, path-based operations).
    public static let callerSuffix = PathResolution(rawValue: 1 << 1)
    /// The caller's string was longer than fsprobe copies, or could not be
    /// read back when the call returned (its page was unmapped meanwhile):
    /// the path is the start of the real one.
    public static let callerTruncated = PathResolution(rawValue: 1 << 2)
    /// The walk met a dentry detached from its tree.
    public static let disconnected = PathResolution(rawValue: 1 << 3)
    /// The object was no longer linked in its directory (a file unlinked
    /// while open, an `O_TMPFILE`): the path is the name it last had.
    public static let deleted = PathResolution(rawValue: 1 << 4)
    /// The walk ended on a mount no namespace holds (lazily unmounted): the
    /// path is relative to that mount, not to any root.
    public static let detached = PathResolution(rawValue: 1 << 5)
    /// The kernel stopped its walk at a cached directory whose path user
    /// space could no longer find (evicted, or made stale by a rename): the
    /// path is only the part below that directory. Never a guessed path.
    public static let unresolved = PathResolution(rawValue: 1 << 6)
    /// The walk ended at the root of another mount namespace than
    /// fsprobe's (a container's, a service's private one): the path is as
    /// seen from that namespace's root, and may not exist in fsprobe's.
    public static let foreignMountNamespace = PathResolution(rawValue: 1 << 7)

    /// The start of the path is missing: it is a suffix of the real path.
    public static let startMissing: PathResolution = [.truncated, .unresolved]
    /// What outputs call "truncated" (`*_path_truncated`): the start is
    /// missing, or the caller's string was cut.
    public static let incomplete: PathResolution = [.truncated, .unresolved, .callerTruncated]
}

/// One path of an event (source or target) with the identity of its object.
public struct EventPath: Sendable, Hashable {
    /// Absolute path as raw bytes: file names are not guaranteed to be UTF-8.
    public var bytes: [UInt8]
    /// Inode number, 0 when unknown (e.g. the object no longer exists).
    public var inode: UInt64
    /// Mount id (as in /proc/self/mountinfo) of the object or of its resolved base.
    public var mountID: UInt32
    /// Device of the superblock, kernel encoding (major << 20 | minor).
    public var device: UInt32
    /// File type and permission bits of the object when known, else 0.
    public var mode: UInt32
    public var resolution: PathResolution
    /// How many leading bytes of `bytes` lie above the acting process's
    /// root directory (its chroot, its container's root): the rest is the
    /// path as that process sees it (`processPath`). Nil when the walk did
    /// not pass that root (the object is outside it, or the path was cut).
    @inlinable public var processRootOffset: Int? {
        get { storedProcessRootOffset }
        set { storedProcessRootOffset = newValue }
    }
    // Stored under another name, as `FileEvent.sequence` is, so that the
    // public initializer can delegate to the compiler's memberwise one.
    @usableFromInline var storedProcessRootOffset: Int?
    /// Link count of the object when the kernel read it, else 0.
    public var linkCount: UInt32
    /// The mount the object is on, from the mount table (nil when unknown).
    public var mount: MountInfo?

    /// The path as the acting process sees it, without copying: a suffix of
    /// `bytes` ("/" when the object is that process's root itself). Nil
    /// when unknown (see `processRootOffset`).
    public func withProcessPath<R>(_ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        guard let offset = processRootOffset, offset <= bytes.count else { return try body(nil) }
        if offset == bytes.count {
            return try withUnsafeBytes(of: UInt8(ascii: "/")) { try body($0.bindMemory(to: UInt8.self)) }
        }
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[offset...])) }
    }

    /// `withProcessPath` as a String (invalid UTF-8 replaced), for display and matching.
    public var processPath: String? {
        withProcessPath { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// A lossy String (invalid UTF-8 replaced), for display and matching only.
    public var string: String { String(decoding: bytes, as: UTF8.self) }
    public var isEmpty: Bool { bytes.isEmpty }
}

extension EventPath {
    /// A `processRootOffset` outside the bytes (below 0, past their end) is dropped (nil).
    public init(bytes: [UInt8] = [], inode: UInt64 = 0, mountID: UInt32 = 0, device: UInt32 = 0,
                mode: UInt32 = 0, resolution: PathResolution = [], processRootOffset: Int? = nil,
                linkCount: UInt32 = 0, mount: MountInfo? = nil) {
        self.init(bytes: bytes, inode: inode, mountID: mountID, device: device, mode: mode, resolution: resolution,
                  storedProcessRootOffset: processRootOffset.flatMap { (0...bytes.count).contains($0) ? $0 : nil },
                  linkCount: linkCount, mount: mount)
    }

    public init(_ path: String, inode: UInt64 = 0, mountID: UInt32 = 0) {
        self.init(bytes: Array(path.utf8), inode: inode, mountID: mountID)
    }
}

/// Time of an event, in nanoseconds since the Unix epoch.
public struct EventTimestamp: Sendable, Hashable, Comparable {
    public var nanosecondsSinceEpoch: Int64
    public init(nanosecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = nanosecondsSinceEpoch }
    public static func < (a: EventTimestamp, b: EventTimestamp) -> Bool {
        a.nanosecondsSinceEpoch < b.nanosecondsSinceEpoch
    }
}

/// One file-system event, decoded from the kernel and enriched in user space.
///
/// Field names follow the original FSProbe's JSON output (see `docs/events.md`).
public struct FileEvent: Sendable, Hashable {
    public var type: EventType
    public var timestamp: EventTimestamp
    /// Thread-group id (what user space calls the pid).
    public var pid: UInt32
    public var tid: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var comm: ProcessName
    /// Operation flags: open(2) flags, rename(2) flags, AT_* flags, or the
    /// setattr kind (mode, owner, size, times).
    public var flags: UInt32
    /// Mode argument of the operation (open with O_CREAT, mkdir, chmod), else 0.
    public var mode: UInt32
    /// Result of the operation: >= 0 success, -errno on failure.
    public var retval: Int64
    public var source: EventPath
    /// Second path for `rename` (the new path) and `link` (the new link).
    public var target: EventPath?
    /// Which hook backend produced the event.
    public var backend: BackendKind
    /// How the JSON output of this event differs from the standard schema
    /// (set by `fields` transforms); nil for the standard schema. Shared and
    /// immutable, so carrying it costs a pointer per event.
    public var fields: EventFieldLayout?
    /// Who acted: parent, start time, effective ids, executable, cgroup,
    /// container, namespaces, account names.
    public var process: ProcessContext
    /// `setattr`: what it sets, when known.
    public var attributes: AttributeChange?
    /// `modify`: the bytes written, when the hook knows them (the
    /// tracepoint backend, from the system call's result).
    public var bytesWritten: Int64?
    /// The host and stream the event was captured in (set by the source
    /// that captured it, kept by every hop after); nil for an event made
    /// by a program of its own, which then has no id.
    public var origin: EventOrigin?
    /// Its place in its origin's stream, from 1, in the order the source
    /// read the events.
    @inlinable public var sequence: UInt64 {
        get { storedSequence }
        set { storedSequence = newValue }
    }
    // Stored under another name so that the memberwise initializer the
    // compiler writes differs from the public one, which delegates to it
    // (the extension below). An initializer that assigns the stored
    // properties one by one built the event on the stack and copied it out,
    // retaining and releasing each of its references: perf saw that copy in
    // every decoded event.
    @usableFromInline var storedSequence: UInt64

    /// The event's identity, when it has an origin.
    public var id: EventID? { origin.map { EventID(stream: $0.stream, sequence: sequence) } }
}

extension FileEvent {
    public init(type: EventType, timestamp: EventTimestamp, pid: UInt32, tid: UInt32, uid: UInt32, gid: UInt32,
                comm: ProcessName, flags: UInt32 = 0, mode: UInt32 = 0, retval: Int64 = 0,
                source: EventPath, target: EventPath? = nil, backend: BackendKind = .tracepoint,
                fields: EventFieldLayout? = nil, process: ProcessContext = ProcessContext(),
                attributes: AttributeChange? = nil, bytesWritten: Int64? = nil,
                origin: EventOrigin? = nil, sequence: UInt64 = 0) {
        self.init(type: type, timestamp: timestamp, pid: pid, tid: tid, uid: uid, gid: gid, comm: comm,
                  flags: flags, mode: mode, retval: retval, source: source, target: target, backend: backend,
                  fields: fields, process: process, attributes: attributes, bytesWritten: bytesWritten,
                  origin: origin, storedSequence: sequence)
    }
}

/// Hook backends. `auto` picks the best one the running kernel accepts.
public enum BackendKind: String, CaseIterable, Sendable, Hashable {
    case fentry
    case kprobe
    case tracepoint
}
