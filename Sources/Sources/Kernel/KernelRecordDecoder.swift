import CFSProbeBPF
import FSProbeCore

/// Why a kernel record could not be decoded. Records come from our own BPF
/// program, so any of these means an ABI mismatch or a kernel bug: the source
/// counts them instead of crashing.
public enum KernelRecordError: Error, Equatable, CustomStringConvertible {
    case tooShort(size: Int)
    case unknownEventType(UInt32)
    case pathOutOfBounds

    public var description: String {
        switch self {
        case .tooShort(let size): "kernel record of \(size) bytes is shorter than its header"
        case .unknownEventType(let type): "kernel record has unknown event type \(type)"
        case .pathOutOfBounds: "kernel record's path lies outside its data area"
        }
    }
}

/// Decodes the records the BPF program writes to the ring buffer
/// (`struct fsp_event` followed by its path data) into `FileEvent`s.
public struct KernelRecordDecoder: Sendable {
    public static let headerSize = MemoryLayout<fsp_event>.size
    public var clock: BootClock
    public var backend: BackendKind

    public init(clock: BootClock = BootClock(), backend: BackendKind = .tracepoint) {
        self.clock = clock
        self.backend = backend
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
        let source = try Self.path(header.src, in: data)
        let target = type.hasTarget ? try Self.path(header.target, in: data) : nil
        let comm = withUnsafeBytes(of: header.comm) { ProcessName(bytes: $0) }
        return FileEvent(
            type: type,
            timestamp: EventTimestamp(nanosecondsSinceEpoch: clock.epochNanoseconds(fromBoot: header.timestamp_ns)),
            pid: header.pid, tid: header.tid, uid: header.uid, gid: header.gid,
            comm: comm, flags: header.flags, mode: header.mode, retval: header.retval,
            source: source, target: target, backend: backend)
    }

    static func path(_ raw: fsp_path, in data: UnsafeRawBufferPointer) throws(KernelRecordError) -> EventPath {
        let start = Int(raw.offset)
        let fragmentsEnd = start + Int(raw.fragments_len)
        let callerEnd = fragmentsEnd + Int(raw.caller_len)
        guard callerEnd <= data.count else { throw .pathOutOfBounds }
        let flags = UInt32(raw.flags)
        let fromCaller = flags & UInt32(FSP_PATH_CALLER_SUFFIX) != 0
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(raw.fragments_len) + Int(raw.caller_len) + 1)
        PathAssembler.assemble(
            fragments: UnsafeRawBufferPointer(rebasing: data[start..<fragmentsEnd]),
            caller: fromCaller ? UnsafeRawBufferPointer(rebasing: data[fragmentsEnd..<callerEnd]) : nil,
            into: &bytes)
        return EventPath(
            bytes: bytes, inode: raw.inode, mountID: raw.mount_id, device: raw.dev, mode: raw.mode,
            resolution: resolution(flags))
    }

    static func resolution(_ flags: UInt32) -> PathResolution {
        var result: PathResolution = []
        if flags & UInt32(FSP_PATH_TRUNCATED) != 0 { result.insert(.truncated) }
        if flags & UInt32(FSP_PATH_CALLER_SUFFIX) != 0 { result.insert(.callerSuffix) }
        if flags & UInt32(FSP_PATH_CALLER_TRUNCATED) != 0 { result.insert(.callerTruncated) }
        if flags & UInt32(FSP_PATH_DISCONNECTED) != 0 { result.insert(.disconnected) }
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
