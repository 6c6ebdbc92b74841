#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import FSProbeCore

/// Turns the kernel's cgroup v2 ids (what `bpf_get_current_cgroup_id()`
/// returns) into cgroup paths and the containers they name.
///
/// A cgroup's id is the kernfs node id of its directory, which on 64-bit
/// kernels is that directory's inode number on a cgroup2 mount. The kernel
/// opens a kernfs node from its id through `open_by_handle_at(2)` with a
/// `FILEID_KERNFS` handle, and the opened directory's `/proc/self/fd` link
/// is its path: one lookup costs three syscalls and no directory walk.
/// That needs CAP_DAC_READ_SEARCH; without it the resolver stops asking
/// (`lookupsDisabledErrno`) and resolves nothing.
///
/// Answers are kept in an LRU cache. Cgroup ids are not reused within a
/// boot, so an entry never names another cgroup; the one way it goes stale
/// is a cgroup renamed (rename(2) in cgroupfs, which systemd and the
/// runtimes do not do), which keeps its id and the cache its old path.
/// Failed lookups (the cgroup is gone: ESTALE, ENOENT) are remembered in a
/// second, small LRU for a while, so a burst of events from a removed
/// cgroup costs one lookup, yet a transient failure is retried.
///
/// Paths are relative to the cgroup2 mount, as the `0::` line of
/// `/proc/PID/cgroup` shows them when the mount is the whole hierarchy.
///
/// One per event source, used on one thread: no locks.
public final class CgroupPathResolver {
    public static let defaultCapacity = 4096
    public static let defaultMountInfoPath = "/proc/self/mountinfo"

    /// Where cgroup2 is mounted (raw bytes, unescaped), nil when it is not:
    /// the resolver then resolves nothing.
    public let mountPoint: [UInt8]?
    /// Answers from the cache.
    public private(set) var hits: UInt64 = 0
    /// Lookups that asked the kernel.
    public private(set) var misses: UInt64 = 0
    /// Kernel lookups that found nothing (the cgroup was removed) or failed.
    public private(set) var failures: UInt64 = 0
    /// Lookups answered nil from a recent failure, without asking again.
    public private(set) var negativeHits: UInt64 = 0
    /// The errno that showed lookups can never work in this process
    /// (EPERM: no CAP_DAC_READ_SEARCH; EOPNOTSUPP, ENOSYS: the kernel has
    /// no handles for cgroupfs), nil while they can.
    public private(set) var lookupsDisabledErrno: Int32?

    private let mountFD: Int32
    private var cache: LRUCache<UInt64, CgroupInfo>
    /// When each recent failure happened (monotonic nanoseconds).
    private var recentFailures: LRUCache<UInt64, UInt64>
    private let retryAfterNanoseconds: UInt64
    private let monotonicNow: () -> UInt64
    /// Id 0 is what the BPF side reports when it has no cgroup id.
    private let unknownCgroup = CgroupInfo(id: 0, path: [CgroupPathResolver.slash])

    static let slash = UInt8(ascii: "/")
    /// `FILEID_KERNFS` (include/linux/exportfs.h): the handle is the u64 id.
    static let kernfsHandleType: Int32 = 0xfe
    static let failureEntries = 256
    static let defaultRetryAfterNanoseconds: UInt64 = 1_000_000_000

    public convenience init(capacity: Int = CgroupPathResolver.defaultCapacity,
                            mountInfoPath: String = CgroupPathResolver.defaultMountInfoPath) {
        self.init(capacity: capacity, mountInfoPath: mountInfoPath,
                  retryAfterNanoseconds: Self.defaultRetryAfterNanoseconds,
                  monotonicNow: { UInt64(BootClock.now(CLOCK_MONOTONIC)) })
    }

    /// - Parameters:
    ///   - retryAfterNanoseconds: how long a failed id is answered nil
    ///     without asking the kernel again.
    ///   - monotonicNow: the clock those nanoseconds are counted on.
    init(capacity: Int, mountInfoPath: String, retryAfterNanoseconds: UInt64, monotonicNow: @escaping () -> UInt64) {
        cache = LRUCache(capacity: capacity)
        recentFailures = LRUCache(capacity: min(capacity, Self.failureEntries))
        self.retryAfterNanoseconds = retryAfterNanoseconds
        self.monotonicNow = monotonicNow
        var found: [UInt8]?
        let table = open(mountInfoPath, O_RDONLY | O_CLOEXEC)
        if table >= 0 {
            var reader = MountTable.TableReader()
            _ = reader.readAll(table) { found = Self.cgroup2MountPoint(inMountInfo: $0) }
            close(table)
        }
        var fd: Int32 = -1
        if let found {
            fd = found.withUnsafeBufferPointer { bytes in
                withCString(bytes) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            }
        }
        mountFD = fd
        mountPoint = fd >= 0 ? found : nil
    }

    deinit {
        if mountFD >= 0 { close(mountFD) }
    }

    /// The cgroup with kernel id `id`, nil when it cannot be found (removed
    /// before it was looked up, or no cgroup2 mount). A cached answer costs
    /// a dictionary lookup and no allocation.
    public func info(forID id: UInt64) -> CgroupInfo? {
        guard mountFD >= 0 else { return nil }
        if id == 0 { return unknownCgroup }
        if let known = cache.get(id) {
            hits += 1
            return known
        }
        if let failedAt = recentFailures.peek(id) {
            if monotonicNow() &- failedAt < retryAfterNanoseconds {
                negativeHits += 1
                return nil
            }
        }
        guard lookupsDisabledErrno == nil else { return nil }
        misses += 1
        guard let path = lookUpPath(id) else {
            failures += 1
            recentFailures.put(id, monotonicNow())
            return nil
        }
        let container = ContainerIdentity.parse(cgroupPath: path)
        let info = CgroupInfo(id: id, path: path, containerID: container?.id ?? "", runtime: container?.runtime)
        cache.put(id, info)
        return info
    }

    // MARK: the kernel lookup

    /// The path of cgroup `id` below the mount, nil when the kernel has no
    /// such cgroup (any more).
    private func lookUpPath(_ id: UInt64) -> [UInt8]? {
        let fd = Self.openCgroupDirectory(mountFD: mountFD, id: id)
        guard fd >= 0 else {
            let error = errno
            if error == EPERM || error == EOPNOTSUPP || error == ENOSYS { lookupsDisabledErrno = error }
            return nil
        }
        defer { close(fd) }
        guard let target = readLink("/proc/self/fd/\(fd)"), let mountPoint,
              !Self.wasRemoved(target: target) else { return nil }
        return Self.pathBelow(mountPoint: mountPoint, target: target)
    }

    /// open_by_handle_at(2), found at run time: Glibc declares it (and
    /// `struct file_handle`) only under _GNU_SOURCE, which Swift's Glibc
    /// module is not built with.
    private typealias OpenByHandleAt = @convention(c) (Int32, UnsafeMutableRawPointer, Int32) -> Int32
    private static let openByHandleAt: OpenByHandleAt? = {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "open_by_handle_at").map { unsafeBitCast($0, to: OpenByHandleAt.self) }
    }()

    /// Opens the cgroup directory whose kernfs id is `id`; -1 and errno set
    /// when that fails.
    static func openCgroupDirectory(mountFD: Int32, id: UInt64) -> Int32 {
        guard let openByHandleAt else {
            errno = ENOSYS
            return -1
        }
        // struct file_handle { u32 handle_bytes; i32 handle_type; u8 f_handle[]; }
        // with the id as its 8 bytes of f_handle; built on the stack.
        return withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { handle in
            handle.storeBytes(of: UInt32(8), toByteOffset: 0, as: UInt32.self)
            handle.storeBytes(of: kernfsHandleType, toByteOffset: 4, as: Int32.self)
            handle.storeBytes(of: id, toByteOffset: 8, as: UInt64.self)
            return openByHandleAt(mountFD, handle.baseAddress!, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
    }

    /// `target`, a path on the cgroup2 mount, made relative to the mount;
    /// nil when it is not on it.
    static func pathBelow(mountPoint: [UInt8], target: [UInt8]) -> [UInt8]? {
        if mountPoint == [slash] { return target.first == slash ? target : nil }
        guard target.starts(with: mountPoint) else { return nil }
        if target.count == mountPoint.count { return [slash] }
        guard target[mountPoint.count] == slash else { return nil }
        return Array(target[mountPoint.count...])
    }

    /// Whether the cgroup was removed between its opening and the reading
    /// of its link, which the kernel then ends with " (deleted)". A name
    /// can end so too: a path that exists as read is not removed.
    static func wasRemoved(target: [UInt8]) -> Bool {
        let deleted = Array(" (deleted)".utf8)
        guard target.count > deleted.count, target.suffix(deleted.count).elementsEqual(deleted) else { return false }
        var status = stat()
        let exists = target.withUnsafeBufferPointer { bytes in withCString(bytes) { lstat($0, &status) == 0 } }
        return !exists
    }

    // MARK: the mount table

    /// The mount point of the cgroup2 file system in a mountinfo table,
    /// preferring a mount of the whole hierarchy (root field `/`) over a
    /// bind mount of part of it.
    static func cgroup2MountPoint(inMountInfo table: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var whole: [UInt8]?, partial: [UInt8]?
        MountTable.parseTable(table) { line in
            guard whole == nil, line.fsType == "cgroup2" else { return }
            if line.mountsFileSystemRoot { whole = line.mountPoint } else if partial == nil { partial = line.mountPoint }
        }
        return whole ?? partial
    }

    static func cgroup2MountPoint(inMountInfo table: [UInt8]) -> [UInt8]? {
        table.withUnsafeBufferPointer { cgroup2MountPoint(inMountInfo: $0) }
    }
}

/// The target of a symbolic link, nil when it cannot be read whole.
private func readLink(_ path: String) -> [UInt8]? {
    let capacity = Int(PATH_MAX) + 1
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer -> [UInt8]? in
        let count = readlink(path, buffer.baseAddress!, capacity)
        guard count >= 0, count < capacity else { return nil }
        return UnsafeRawBufferPointer(start: buffer.baseAddress, count: count).map { $0 }
    }
}

/// `bytes` as a C string, for paths held as raw bytes.
private func withCString<Result>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafePointer<CChar>) -> Result) -> Result {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
        for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
        buffer[bytes.count] = 0
        return body(buffer.baseAddress!)
    }
}
