#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF
import FSProbeCore

/// Why a kernel record could not be decoded. Records come from our own BPF
/// program, so any of these means an ABI mismatch or a kernel bug: the source
/// counts them instead of crashing.
public enum KernelRecordError: Error, Equatable, CustomStringConvertible {
    case tooShort(size: Int)
    case unknownEventType(UInt32)
    case pathOutOfBounds
    case xattrNameOutOfBounds
    /// The path's items do not follow their format (see `PathItems.parse`).
    case malformedPath

    public var description: String {
        switch self {
        case .tooShort(let size): "kernel record of \(size) bytes is shorter than its header"
        case .unknownEventType(let type): "kernel record has unknown event type \(type)"
        case .pathOutOfBounds: "kernel record's path lies outside its data area"
        case .xattrNameOutOfBounds: "kernel record's xattr name lies outside its data area"
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
    // Unchecked exclusivity: the decoder is used by one thread, and these are
    // never accessed reentrantly; the runtime's check on every access (a
    // thread-local access set) cost several percent of a busy reader's time.
    @exclusivity(unchecked) private var items = PathItems()
    @exclusivity(unchecked) private var scratch: [UInt8] = []
    /// The bytes of recently seen executables' paths, reused while an
    /// executable's path comes out the same, so its bytes are not allocated
    /// again for every event of every process running it.
    @exclusivity(unchecked) private var executables = LRUCache<ExecutableKey, [UInt8]>(capacity: 1024)
    /// The previous event's process in this round, and the record fields it
    /// was decoded from (`endRound()` forgets it): a busy round is mostly
    /// one process, whose context, its executable's path above all, is then
    /// decoded once rather than for every event.
    @exclusivity(unchecked) private var lastProcess: ProcessContext?
    @exclusivity(unchecked) private var lastTask = fsp_task_info()
    /// `lastProcess`'s executable as the record described it, its offset 0.
    @exclusivity(unchecked) private var lastExecutable = fsp_path()
    /// Its bytes in that record, kept in storage reused from process to process.
    @exclusivity(unchecked) private var lastExecutableData: [UInt8] = []
    /// Extended attribute names seen lately: a system uses a handful
    /// (security.selinux, user.*), so an event shares one instead of
    /// allocating its name. Replaced round-robin once full.
    private var xattrNames: [[UInt8]] = []
    private var nextXattrSlot = 0
    private static let xattrNameCapacity = 32

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
        resolver.reading(eventMadeAt: header.timestamp_ns)
        let source = try path(header.src, in: data, eventTime: header.timestamp_ns)
        let target = type.hasTarget ? try path(header.target, in: data, eventTime: header.timestamp_ns) : nil
        let comm = withUnsafeBytes(of: header.comm) { ProcessName(bytes: $0) }
        return FileEvent(
            type: type,
            timestamp: EventTimestamp(nanosecondsSinceEpoch: clock.epochNanoseconds(fromBoot: header.timestamp_ns)),
            pid: header.pid, tid: header.tid, uid: header.uid, gid: header.gid,
            comm: comm, flags: Self.callerFlags(header.flags, of: type), mode: header.mode, retval: header.retval,
            source: source, target: target, backend: backend,
            process: try process(header, in: data),
            attributes: type == .setattr ? try attributes(header, in: data) : nil,
            bytesWritten: type == .modify && header.attr.valid & UInt32(FSP_ATTR_SIZE) != 0 ? header.attr.size : nil)
    }

    /// The flags as the caller gave them: a rename's without the kernel's
    /// follow marks (`RenameFollowMarks`).
    static func callerFlags(_ flags: UInt32, of type: EventType) -> UInt32 {
        type == .rename ? flags & ~RenameFollowMarks.all.rawValue : flags
    }

    /// What a setattr sets: each value the kernel marked valid, or the
    /// extended attribute it sets or removes.
    func attributes(_ header: fsp_event, in data: UnsafeRawBufferPointer) throws(KernelRecordError) -> AttributeChange {
        let kinds = header.flags
        guard kinds & UInt32(FSP_SETATTR_XATTR | FSP_SETATTR_XATTR_REMOVE) != 0 else {
            return Self.attributeValues(header.attr)
        }
        let start = Int(header.xattr_offset), end = start + Int(header.xattr_len)
        guard end <= data.count else {
            throw .xattrNameOutOfBounds
        }
        let operation: ExtendedAttributeChange.Operation = kinds & UInt32(FSP_SETATTR_XATTR) != 0 ? .set : .remove
        let name = internedXattrName(UnsafeRawBufferPointer(rebasing: data[start..<end]))
        return AttributeChange(extendedAttribute: ExtendedAttributeChange(operation, name: name))
    }

    private func internedXattrName(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        if let known = xattrNames.first(where: { $0.elementsEqual(bytes) }) { return known }
        let name = Array(bytes)
        if xattrNames.count < Self.xattrNameCapacity {
            xattrNames.append(name)
        } else {
            xattrNames[nextXattrSlot] = name
            nextXattrSlot = (nextXattrSlot + 1) % Self.xattrNameCapacity
        }
        return name
    }

    /// The values a setattr other than an extended attribute's sets.
    static func attributeValues(_ raw: fsp_attr_values) -> AttributeChange {
        func has(_ bit: UInt32) -> Bool { raw.valid & bit != 0 }
        func time(_ set: UInt32, _ now: UInt32, _ seconds: Int64, _ nanoseconds: UInt32) -> AttributeChange.Time? {
            if has(set) {
                let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
                return .at(EventTimestamp(nanosecondsSinceEpoch: overflow ? (seconds < 0 ? .min : .max)
                    : product.addingReportingOverflow(Int64(nanoseconds)).partialValue))
            }
            return has(now) ? .now : nil
        }
        return AttributeChange(
            mode: has(FSP_ATTR_MODE) ? raw.mode : nil,
            uid: has(FSP_ATTR_UID) ? raw.uid : nil,
            gid: has(FSP_ATTR_GID) ? raw.gid : nil,
            size: has(FSP_ATTR_SIZE) ? raw.size : nil,
            accessTime: time(FSP_ATTR_ATIME, FSP_ATTR_ATIME_NOW, raw.atime_sec, raw.atime_nsec),
            modificationTime: time(FSP_ATTR_MTIME, FSP_ATTR_MTIME_NOW, raw.mtime_sec, raw.mtime_nsec))
    }

    /// Ends a round of records (one poll of the ring buffer): the next
    /// record's process is decoded in full, so that what user space looks up
    /// for it (the executable's directories) is not older than a round.
    public func endRound() {
        lastProcess = nil
    }

    /// What the kernel read about the acting process (user space adds names,
    /// cgroup path and container later: `EventEnricher`); the previous
    /// event's when every field it came from is the same.
    func process(_ header: fsp_event, in data: UnsafeRawBufferPointer) throws(KernelRecordError) -> ProcessContext {
        var executable = header.exe
        executable.offset = 0  // where its bytes are differs from record to record; what they are is compared
        let start = Int(header.exe.offset)
        let end = start + Int(header.exe.fragments_len) + Int(header.exe.caller_len)
        guard end <= data.count else { return try decodeProcess(header, in: data) }
        let executableData = UnsafeRawBufferPointer(rebasing: data[start..<end])
        if let last = lastProcess, Self.sameBytes(lastTask, header.task), Self.sameBytes(lastExecutable, executable),
           lastExecutableData.withUnsafeBytes({ Self.sameBytes($0, executableData) }) {
            return last
        }
        let context = try decodeProcess(header, in: data)
        // An unresolved path may resolve for the next event (a directory learnt meanwhile).
        if context.executable?.resolution.contains(.unresolved) == true {
            lastProcess = nil
        } else {
            lastProcess = context
            lastTask = header.task
            lastExecutable = executable
            lastExecutableData.removeAll(keepingCapacity: true)
            lastExecutableData.append(contentsOf: executableData)
        }
        return context
    }

    /// Whether two C structs hold the same bytes (a difference in padding,
    /// which these have none of, would only cost a decode).
    private static func sameBytes<T>(_ a: T, _ b: T) -> Bool {
        withUnsafeBytes(of: a) { a in withUnsafeBytes(of: b) { b in sameBytes(a, b) } }
    }

    private static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    private func decodeProcess(_ header: fsp_event,
                               in data: UnsafeRawBufferPointer) throws(KernelRecordError) -> ProcessContext {
        let task = header.task
        let exe = header.exe
        let hasExecutable = exe.inode != 0 || exe.fragments_len != 0 || exe.flags != 0
        return ProcessContext(
            ppid: task.ppid,
            startTime: EventTimestamp(nanosecondsSinceEpoch: clock.epochNanoseconds(fromBoot: task.start_boottime)),
            loginUID: task.loginuid == FSP_ID_UNSET ? nil : task.loginuid,
            sessionID: task.sessionid == FSP_ID_UNSET ? nil : task.sessionid,
            euid: task.euid, egid: task.egid,
            executable: hasExecutable ? try path(exe, in: data, eventTime: header.timestamp_ns, interned: true) : nil,
            cgroupID: task.cgroup_id,
            mountNamespace: task.mnt_ns, pidNamespace: task.pid_ns, userNamespace: task.user_ns)
    }

    func path(_ raw: fsp_path, in data: UnsafeRawBufferPointer, eventTime: UInt64,
              interned: Bool = false) throws(KernelRecordError) -> EventPath {
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
            anchorPath: { resolver.path(of: $0, eventTime: eventTime) }, into: &scratch)
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
        let bytes = interned ? internedBytes(of: raw) : ownBytes()
        return EventPath(
            bytes: bytes, inode: raw.inode, mountID: raw.mount_id, device: raw.dev, mode: raw.mode,
            resolution: resolution, processRootOffset: outcome.processRootOffset, linkCount: raw.nlink)
    }

    /// The one allocation of a path: its bytes, exactly sized. (Not
    /// Array(scratch), which would share the scratch buffer with the event.)
    private func ownBytes() -> [UInt8] {
        scratch.withUnsafeBufferPointer { Array($0) }
    }

    /// The assembled bytes, shared with earlier events when they are equal.
    private func internedBytes(of raw: fsp_path) -> [UInt8] {
        let key = ExecutableKey(device: raw.dev, inode: raw.inode, mountID: raw.mount_id)
        if let known = executables.get(key), known == scratch { return known }
        let bytes = ownBytes()
        executables.put(key, bytes)
        return bytes
    }

    private struct ExecutableKey: Hashable {
        var device: UInt32
        var inode: UInt64
        var mountID: UInt32
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
