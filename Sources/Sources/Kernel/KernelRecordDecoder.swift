import CFSProbeBPF
import FSProbeCore

/// Why a kernel record could not be decoded. Records come from our own BPF
/// program, so any of these means an ABI mismatch or a kernel bug: the source
/// counts them instead of crashing.
public enum KernelRecordError: Error, Equatable, CustomStringConvertible {
    case tooShort(size: Int)
    case unknownEventType(UInt32)
    case pathOutOfBounds
    /// The path's items do not follow their format (see `PathItems.parse`).
    case malformedPath

    public var description: String {
        switch self {
        case .tooShort(let size): "kernel record of \(size) bytes is shorter than its header"
        case .unknownEventType(let type): "kernel record has unknown event type \(type)"
        case .pathOutOfBounds: "kernel record's path lies outside its data area"
        case .malformedPath: "kernel record's path items are malformed"
        }
    }
}

/// Decodes the records the BPF program writes to the ring buffer
/// (`struct fsp_event` followed by its path data) into `FileEvent`s.
///
/// It keeps state from record to record: the resolver of cached directories
/// and scratch storage, so decoding allocates only the events' own bytes.
/// Not thread-safe: one decoder per ring-buffer thread.
public final class KernelRecordDecoder {
    public static let headerSize = MemoryLayout<fsp_event>.size
    public let clock: BootClock
    public let backend: BackendKind
    let resolver: PathResolver
    private var items = PathItems()
    private var scratch: [UInt8] = []

    /// A decoder with its own user-space path cache and no kernel maps, for
    /// records whose paths carry no anchors (tests, benchmarks).
    public convenience init(clock: BootClock = BootClock(), backend: BackendKind = .tracepoint) {
        self.init(clock: clock, backend: backend, resolver: PathResolver())
    }

    init(clock: BootClock, backend: BackendKind, resolver: PathResolver) {
        self.clock = clock
        self.backend = backend
        self.resolver = resolver
        scratch.reserveCapacity(Int(FSP_DATA_SIZE) + 256)
    }

    /// Decodes one record. `record` must hold the header and its data area.
    public func decode(_ record: UnsafeRawBufferPointer) throws(KernelRecordError) -> FileEvent {
        guard record.count >= Self.headerSize, let base = record.baseAddress else {
            throw .tooShort(size: record.count)
        }
        let header = base.loadUnaligned(as: fsp_event.self)
        guard let type = EventType(rawValue: header.event_type) else {
            throw .unknownEventType(header.event_type)
        }
        let data = UnsafeRawBufferPointer(
            rebasing: record[Self.headerSize..<min(record.count, Self.headerSize + Int(header.data_len))])
        let source = try path(header.src, in: data, eventTime: header.timestamp_ns)
        let target = type.hasTarget ? try path(header.target, in: data, eventTime: header.timestamp_ns) : nil
        let comm = withUnsafeBytes(of: header.comm) { ProcessName(bytes: $0) }
        return FileEvent(
            type: type,
            timestamp: EventTimestamp(nanosecondsSinceEpoch: clock.epochNanoseconds(fromBoot: header.timestamp_ns)),
            pid: header.pid, tid: header.tid, uid: header.uid, gid: header.gid,
            comm: comm, flags: header.flags, mode: header.mode, retval: header.retval,
            source: source, target: target, backend: backend)
    }

    func path(_ raw: fsp_path, in data: UnsafeRawBufferPointer, eventTime: UInt64) throws(KernelRecordError) -> EventPath {
        let start = Int(raw.offset)
        let fragmentsEnd = start + Int(raw.fragments_len)
        let callerEnd = fragmentsEnd + Int(raw.caller_len)
        guard callerEnd <= data.count else { throw .pathOutOfBounds }
        let flags = UInt32(raw.flags)
        let fragments = UnsafeRawBufferPointer(rebasing: data[start..<fragmentsEnd])
        guard items.parse(fragments) else { throw .malformedPath }
        let fromCaller = flags & UInt32(FSP_PATH_CALLER_SUFFIX) != 0
        let outcome = PathAssembler.assemble(
            items.items, fragments: fragments,
            caller: fromCaller ? UnsafeRawBufferPointer(rebasing: data[fragmentsEnd..<callerEnd]) : nil,
            anchorPath: { resolver.path(of: $0) }, into: &scratch)
        var resolution = Self.resolution(flags)
        if outcome.resolved {
            if flags & UInt32(FSP_PATH_LEARNABLE) != 0 {
                let learnable = PathResolver.Learnable(
                    key: DirectoryKey(raw.learn_key), stamp: raw.learn_stamp, level: Int(raw.learn_level),
                    eventTime: eventTime)
                resolver.learn(learnable, from: items.items, fragments: fragments)
            }
        } else {
            resolution.insert(.unresolved)
        }
        // The one allocation of the path: its bytes, exactly sized. (Not
        // Array(scratch), which would share the scratch buffer with the event.)
        let bytes = scratch.withUnsafeBufferPointer { Array($0) }
        return EventPath(
            bytes: bytes, inode: raw.inode, mountID: raw.mount_id, device: raw.dev, mode: raw.mode,
            resolution: resolution, processRootOffset: outcome.processRootOffset)
    }

    static func resolution(_ flags: UInt32) -> PathResolution {
        var result: PathResolution = []
        if flags & UInt32(FSP_PATH_TRUNCATED) != 0 { result.insert(.truncated) }
        if flags & UInt32(FSP_PATH_CALLER_SUFFIX) != 0 { result.insert(.callerSuffix) }
        if flags & UInt32(FSP_PATH_CALLER_TRUNCATED) != 0 { result.insert(.callerTruncated) }
        if flags & UInt32(FSP_PATH_DISCONNECTED) != 0 { result.insert(.disconnected) }
        if flags & UInt32(FSP_PATH_DELETED) != 0 { result.insert(.deleted) }
        if flags & UInt32(FSP_PATH_DETACHED) != 0 { result.insert(.detached) }
        if flags & UInt32(FSP_PATH_FOREIGN_NS) != 0 { result.insert(.foreignMountNamespace) }
        return result
    }

    /// Whether the kernel asked user space to finish filtering this record.
    public static func needsUserSpaceFilter(_ record: UnsafeRawBufferPointer) -> Bool {
        guard record.count >= headerSize, let base = record.baseAddress else { return false }
        let header = base.loadUnaligned(as: fsp_event.self)
        let mask = UInt16(FSP_PATH_NEEDS_FILTER)
        return header.src.flags & mask != 0 || header.target.flags & mask != 0
    }
}
