import CFSProbeBPF
import FSProbeCore

/// Builds ring-buffer records the way the BPF program lays them out.
///
/// For decoder tests and benchmarks: it lets them exercise the exact byte
/// layout of `ebpf/fsprobe.h` without a kernel.
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
        header.src = Self.appendPath(source, caller: sourceCaller, inode: inode, mountID: mountID, to: &data)
        if let target {
            header.target = Self.appendPath(target, caller: nil, inode: inode + 1, mountID: mountID, to: &data)
        }
        header.data_len = UInt32(data.count)
        var record = withUnsafeBytes(of: header) { Array($0) }
        record.append(contentsOf: data)
        return record
    }

    static func appendPath(_ components: [String], caller: String?, inode: UInt64, mountID: UInt32,
                           to data: inout [UInt8]) -> fsp_path {
        var path = fsp_path()
        path.offset = UInt16(data.count)
        for name in components.reversed() {
            data.append(contentsOf: name.utf8)
            data.append(0)
        }
        path.fragments_len = UInt16(data.count) - path.offset
        path.depth = UInt32(components.count)
        if let caller {
            data.append(contentsOf: caller.utf8)
            path.caller_len = UInt16(caller.utf8.count)
            path.flags |= UInt16(FSP_PATH_CALLER_SUFFIX)
        }
        path.inode = inode
        path.mount_id = mountID
        return path
    }
}
