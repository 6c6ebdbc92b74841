#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF
import FSProbeCore

/// The loaded and attached BPF programs of one backend, and the handles user
/// space needs: the ring buffer, the watched-inode map, the resolution
/// caches, the counters. Destroying it detaches everything.
///
/// Sendable: after `init` the skeleton is only read, and map updates and
/// lookups are bpf(2) syscalls on file descriptors, safe from any thread.
final class KernelProbe: @unchecked Sendable {
    private let skeleton: UnsafeMutablePointer<fsprobe_bpf>
    let eventsFD: Int32

    static let defaultBTFPath = "/sys/kernel/btf/vmlinux"

    let backend: BackendKind

    init(backend: BackendKind, options: KernelProbeOptions) throws(ProbeError) {
        guard access(options.kernelBTFPath, R_OK) == 0 else {
            throw .noKernelBTF(path: options.kernelBTFPath)
        }
        if backend == .kprobe, access(Self.kprobePMU, F_OK) != 0 {
            throw .backendUnavailable(backend: backend.rawValue, reason: "the kernel has no kprobes (\(Self.kprobePMU) is missing)")
        }
        self.backend = backend
        LibbpfLog.capture()
        let customBTF = options.kernelBTFPath == Self.defaultBTFPath ? nil : options.kernelBTFPath
        guard let skeleton = Self.open(btfPath: customBTF) else {
            throw ProbeError.fromLibbpf(stage: .open, code: errno, detail: LibbpfLog.lastLine())
        }
        self.skeleton = skeleton
        var ready = false
        defer { if !ready { fsp_skel_destroy(skeleton) } }

        try Self.select(backend, events: options.hookedEvents, in: skeleton, btfPath: customBTF)
        fsp_skel_set_empty_programs(skeleton, options.emptyPrograms)
        fsp_skel_set_config(skeleton, options.ignoreOwnProcess ? UInt32(getpid()) : 0, options.pathsFiltering,
                            options.recursive, options.events.rawValue, options.followsMoves)
        fsp_skel_set_mount_namespace(skeleton, Self.ownMountNamespace())
        let mode = options.resolutionMode.kernelMode
        fsp_skel_set_resolution_mode(skeleton, mode.rawValue)
        var code = fsp_skel_set_ringbuf_size(skeleton, UInt32(options.ringBufferPages * 4096))
        if code == 0 { code = fsp_skel_set_watch_capacity(skeleton, UInt32(options.maxWatchedInodes)) }
        if code == 0 { code = fsp_skel_set_cache_capacity(skeleton, mode.rawValue, UInt32(options.effectiveKernelCacheEntries)) }
        guard code == 0 else { throw ProbeError.fromLibbpf(stage: .sizeMaps, code: code, detail: "") }
        code = fsp_skel_load(skeleton)
        guard code == 0 else { throw Self.refusal(backend, stage: .load, code: code) }
        code = fsp_skel_attach(skeleton)
        if code == 0 { code = fsp_skel_attach_split_parts(skeleton, backend.cBackend) }
        guard code == 0 else { throw Self.refusal(backend, stage: .attach, code: code) }
        eventsFD = fsp_events_fd(skeleton)
        ready = true
    }

    static let kprobePMU = "/sys/bus/event_source/devices/kprobe"
    /// The kernel-internal ENOTSUPP (not ENOTSUP), which bpf(2) leaks when a
    /// kernel cannot build trampolines.
    static let kernelENOTSUPP: Int32 = 524

    /// Keeps only the backend's programs, in the variants this kernel's prototypes need.
    private static func select(_ backend: BackendKind, events: EventTypeSet, in skeleton: UnsafeMutablePointer<fsprobe_bpf>,
                               btfPath: String?) throws(ProbeError) {
        var missing = [CChar](repeating: 0, count: 128)
        let code: Int32
        if let btfPath {
            code = btfPath.withCString { fsp_skel_select(skeleton, backend.cBackend, events.rawValue, $0, &missing, missing.count) }
        } else {
            code = fsp_skel_select(skeleton, backend.cBackend, events.rawValue, nil, &missing, missing.count)
        }
        if code == -ENOENT {
            let function = String(decoding: missing.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .backendUnavailable(backend: backend.rawValue, reason: "the kernel has no function \(function)")
        }
        guard code == 0 else { throw .loadFailed(stage: .readKernelBTF, errno: -code, detail: "") }
    }

    /// The inode number of this process's mount namespace, which names it
    /// (what `readlink /proc/self/ns/mnt` shows); 0 when it cannot be read,
    /// and then no path is flagged as another namespace's.
    static func ownMountNamespace() -> UInt32 {
        var info = stat()
        guard stat("/proc/self/ns/mnt", &info) == 0 else { return 0 }
        return UInt32(truncatingIfNeeded: info.st_ino)
    }

    /// A load or attach failure, worded for the backend when its cause is known.
    private static func refusal(_ backend: BackendKind, stage: ProbeStage, code: Int32) -> ProbeError {
        let detail = LibbpfLog.lastLine()
        // As root, EPERM with no verifier complaint is a kernel that refuses
        // trampolines outright (lockdown, or a build without them).
        if backend == .fentry, [EPERM, ENOTSUP, Self.kernelENOTSUPP].contains(abs(code)), geteuid() == 0,
           !detail.hasPrefix("verifier: ") {
            return .backendUnavailable(backend: backend.rawValue,
                                       reason: "the kernel refuses BPF trampolines (fentry/fexit): \(stage) failed with \(String(cString: strerror(abs(code))))")
        }
        return ProbeError.fromLibbpf(stage: stage, code: code, detail: detail)
    }

    private static func open(btfPath: String?) -> UnsafeMutablePointer<fsprobe_bpf>? {
        guard let btfPath else { return fsp_skel_open(nil, 0) }
        return btfPath.withCString { fsp_skel_open($0, 0) }
    }

    /// Sets the value of an entry of the in-kernel watch map (FSP_WATCH_*
    /// flags). Takes effect for the next event, with no reload.
    func setWatch(_ key: WatchKey, flags: UInt32) throws(ProbeError) {
        let code = fsp_watch_add(skeleton, key.device, key.inode, flags)
        guard code == 0 else {
            throw .loadFailed(stage: .updateWatchMap, errno: -code, detail: "inode \(key.inode)")
        }
    }

    /// Runs `body`, which changes the watch map, as one cache epoch: walks
    /// running meanwhile use no cache and cache nothing, and nothing cached
    /// before is used after (cached directories carry the filter's verdict,
    /// which the change may make wrong).
    func withEpochBump<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        fsp_epoch_begin(skeleton)
        defer { fsp_epoch_end(skeleton) }
        return try body()
    }

    /// Replaces the kernel's set of inode numbers that may be watches (what
    /// lets a discarder drop an event, and a walk pass a directory, without
    /// a lookup in the watch map); call it inside `withEpochBump`, with the
    /// watch map change it goes with, so that it covers the map's watches.
    func setWatchedInodeBits(_ bits: [UInt64]) {
        bits.withUnsafeBufferPointer { fsp_watch_bits_set(skeleton, $0.baseAddress, $0.count) }
    }

    /// Removes an entry of the in-kernel watch map; absent is as good.
    func removeWatch(_ key: WatchKey) {
        _ = fsp_watch_remove(skeleton, key.device, key.inode)
    }

    /// Kernel-side counters summed over CPUs.
    func counters() -> KernelCounters {
        var values = [UInt64](repeating: 0, count: Int(FSP_STAT_COUNT.rawValue))
        guard fsp_stats_read(skeleton, &values) == 0 else { return KernelCounters() }
        return KernelCounters(
            emitted: values[Int(FSP_STAT_EMITTED.rawValue)],
            ringBufferFull: values[Int(FSP_STAT_RINGBUF_FULL.rawValue)],
            filtered: values[Int(FSP_STAT_FILTERED.rawValue)],
            truncated: values[Int(FSP_STAT_TRUNCATED.rawValue)],
            cacheHits: values[Int(FSP_STAT_CACHE_HITS.rawValue)],
            cacheMisses: values[Int(FSP_STAT_CACHE_MISSES.rawValue)],
            cacheBypassed: values[Int(FSP_STAT_CACHE_BYPASSED.rawValue)],
            discarded: values[Int(FSP_STAT_DISCARDED.rawValue)],
            discardersAdded: values[Int(FSP_STAT_DISCARDERS_ADDED.rawValue)],
            followed: values[Int(FSP_STAT_FOLLOWED.rawValue)],
            followFailed: values[Int(FSP_STAT_FOLLOW_FAILED.rawValue)])
    }

    /// Destroys the links only: no new events after this returns, and what
    /// is already in the ring buffer stays readable.
    func detach() {
        fsp_skel_detach(skeleton)
    }

    deinit {
        fsp_skel_destroy(skeleton)
    }
}

extension KernelProbe: ResolutionCacheMaps {
    func insertCachedDirectory(_ key: DirectoryKey, stamp: fsp_cache_stamp) throws(ProbeError) {
        var cKey = key.cacheKey, stamp = stamp
        let code = fsp_cached_dir_insert(skeleton, &cKey, &stamp)
        guard code == 0 else {
            throw .loadFailed(stage: .updateDirectoryCache, errno: -code, detail: "inode \(key.inode)")
        }
    }

    func removeCachedDirectory(_ key: DirectoryKey) {
        var cKey = key.cacheKey
        // -ENOENT: the kernel's LRU evicted it first, which is just as good.
        _ = fsp_cached_dir_remove(skeleton, &cKey)
    }

    func fragment(_ key: DirectoryKey) -> fsp_fragment? {
        var cKey = key.cacheKey
        var value = fsp_fragment()
        return fsp_fragment_lookup(skeleton, &cKey, &value) == 0 ? value : nil
    }

    func removeFragment(_ key: DirectoryKey) {
        var cKey = key.cacheKey
        _ = fsp_fragment_remove(skeleton, &cKey)
    }

    func singleFragment(_ key: DirectoryKey) -> fsp_single_fragment? {
        var cKey = key.cacheKey
        var value = fsp_single_fragment()
        return fsp_single_fragment_lookup(skeleton, &cKey, &value) == 0 ? value : nil
    }
}

extension BackendKind {
    var cBackend: fsp_backend {
        switch self {
        case .tracepoint: FSP_BACKEND_TRACEPOINT
        case .fentry: FSP_BACKEND_FENTRY
        case .kprobe: FSP_BACKEND_KPROBE
        }
    }
}

/// Identity of a watched object as the kernel sees it.
struct WatchKey: Hashable {
    let device: UInt32
    let inode: UInt64
}

/// Counters maintained by the BPF programs.
public struct KernelCounters: Sendable, Equatable {
    /// Events written to the ring buffer.
    public var emitted: UInt64 = 0
    /// Events lost because the ring buffer was full.
    public var ringBufferFull: UInt64 = 0
    /// Events discarded by the in-kernel path filter.
    public var filtered: UInt64 = 0
    /// Paths marked truncated.
    public var truncated: UInt64 = 0
    /// Walks stopped at a cached directory.
    public var cacheHits: UInt64 = 0
    /// Walks that met no cached directory.
    public var cacheMisses: UInt64 = 0
    /// Walks that could not use the caches (a directory rename or a watch
    /// change was in flight).
    public var cacheBypassed: UInt64 = 0
    /// Events dropped by a discarder (their directory holds nothing
    /// watched) before anything of them was built.
    public var discarded: UInt64 = 0
    /// Directories found to hold nothing watched.
    public var discardersAdded: UInt64 = 0
    /// Objects moved out of the watch that the kernel began to watch
    /// (`--follow`, VFS backends).
    public var followed: UInt64 = 0
    /// Objects moved out of the watch it could not: the watch map was full.
    public var followFailed: UInt64 = 0
}
