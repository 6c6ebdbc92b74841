import CFSProbeBPF
import FSProbeCore
import FSProbeSources

/// Builds ring-buffer records the way the BPF program lays them out.
///
/// For decoder tests, fuzz seeds and benchmarks (not part of fsprobe
/// itself): it lets them exercise the exact byte layout of
/// `ebpf/fsprobe.h` without a kernel.
public struct KernelRecordBuilder {
    public var type: EventType
    public var pid: UInt32 = 1234
    public var tid: UInt32 = 1235
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var comm: String = "bench"
    public var flags: UInt32 = 0
    public var mode: UInt32 = 0
    public var retval: Int64 = 3
    public var timestampBoot: UInt64 = 1_000_000_000
    /// Source path components from the root down, e.g. ["etc", "passwd"].
    public var source: [String]
    public var sourceCaller: String? = nil
    public var target: [String]? = nil
    public var inode: UInt64 = 42
    public var mountID: UInt32 = 27
    /// The executable's path components from the root down; nil: none (a kernel thread).
    public var executable: [String]? = nil
    public var euid: UInt32 = 0
    public var cgroupID: UInt64 = 0
    public var startTimeBoot: UInt64 = 500_000_000
    /// An extended attribute's name, after the paths (with an FSP_SETATTR_XATTR* flag).
    public var xattrName: [UInt8]? = nil

    /// One item of a path's fragment bytes, as the kernel writes it.
    package enum Item {
        case name([UInt8])
        case mount
        case anchor(Anchor)
        /// Bytes as they are, for malformed streams.
        case raw([UInt8])

        package static func name(_ text: String) -> Item { .name(Array(text.utf8)) }
    }

    /// When set, the source's items, leaf first, in place of `source`.
    package var sourceItems: [Item]? = nil
    /// When set, the target's items, leaf first, in place of `target`.
    package var targetItems: [Item]? = nil
    /// FSP_PATH_* flags added to each path's.
    package var sourceFlags: UInt16 = 0
    package var targetFlags: UInt16 = 0
    /// A directory the walk offers to learn (sets FSP_PATH_LEARNABLE).
    package var sourceLearnable: Learnable? = nil
    package var targetLearnable: Learnable? = nil

    package struct Learnable {
        package var key: DirectoryKey
        package var stamp: fsp_cache_stamp
        package var level: UInt32

        /// Like the kernel, the key's epoch is the stamp's.
        package init(key: DirectoryKey, stamp: fsp_cache_stamp, level: UInt32) {
            self.key = DirectoryKey(inode: key.inode, mount: key.mount, epoch: stamp.epoch)
            self.stamp = stamp
            self.level = level
        }
    }

    public init(type: EventType, source: [String]) {
        self.type = type
        self.source = source
    }

    public func build() -> [UInt8] {
        var data: [UInt8] = []
        var header = fsp_event()
        header.timestamp_ns = timestampBoot
        header.event_type = type.rawValue
        header.pid = pid
        header.tid = tid
        header.uid = uid
        header.gid = gid
        header.flags = flags
        header.mode = mode
        header.retval = retval
        withUnsafeMutableBytes(of: &header.comm) { buffer in
            for (index, byte) in comm.utf8.prefix(Int(FSP_COMM_LEN) - 1).enumerated() { buffer[index] = byte }
        }
        header.src = Self.appendPath(sourceItems ?? Self.items(source), caller: sourceCaller, inode: inode,
                                     mountID: mountID, to: &data)
        Self.mark(&header.src, flags: sourceFlags, learnable: sourceLearnable)
        if let targetItems = targetItems ?? target.map(Self.items) {
            header.target = Self.appendPath(targetItems, caller: nil, inode: inode + 1, mountID: mountID, to: &data)
            Self.mark(&header.target, flags: targetFlags, learnable: targetLearnable)
        }
        header.task.euid = euid
        header.task.cgroup_id = cgroupID
        header.task.start_boottime = startTimeBoot
        header.task.loginuid = FSP_ID_UNSET
        header.task.sessionid = FSP_ID_UNSET
        if let executable {
            header.exe = Self.appendPath(Self.items(executable), caller: nil, inode: inode + 2, mountID: mountID, to: &data)
        }
        if let xattrName {
            header.xattr_offset = UInt16(data.count)
            header.xattr_len = UInt16(xattrName.count)
            data.append(contentsOf: xattrName)
        }
        header.data_len = UInt32(data.count)
        var record = withUnsafeBytes(of: header) { Array($0) }
        record.append(contentsOf: data)
        return record
    }

    /// Names from the root down, as the kernel writes them: leaf first.
    package static func items(_ components: [String]) -> [Item] {
        components.reversed().map { .name($0) }
    }

    static func appendPath(_ items: [Item], caller: String?, inode: UInt64, mountID: UInt32,
                           to data: inout [UInt8]) -> fsp_path {
        var path = fsp_path()
        path.offset = UInt16(data.count)
        for item in items {
            switch item {
            case .name(let name):
                data.append(contentsOf: name)
                data.append(0)
                path.depth += 1
            case .mount:
                data.append(contentsOf: [UInt8(ascii: "/"), UInt8(ascii: "M")])
            case .anchor(let anchor):
                data.append(contentsOf: [UInt8(ascii: "/"), UInt8(ascii: "A")])
                let raw = fsp_anchor(key: anchor.key.cacheKey)
                withUnsafeBytes(of: raw) { data.append(contentsOf: $0) }
            case .raw(let bytes):
                data.append(contentsOf: bytes)
            }
        }
        path.fragments_len = UInt16(data.count) - path.offset
        if let caller {
            data.append(contentsOf: caller.utf8)
            path.caller_len = UInt16(caller.utf8.count)
            path.flags |= UInt16(FSP_PATH_CALLER_SUFFIX)
        }
        path.inode = inode
        path.mount_id = mountID
        return path
    }

    static func mark(_ path: inout fsp_path, flags: UInt16, learnable: Learnable?) {
        path.flags |= flags
        guard let learnable else { return }
        path.flags |= UInt16(FSP_PATH_LEARNABLE)
        path.learn_key = learnable.key.cacheKey
        path.learn_stamp = learnable.stamp
        path.learn_level = learnable.level
    }
}
