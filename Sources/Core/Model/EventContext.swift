/// Container runtimes whose cgroup naming fsprobe recognises.
public enum ContainerRuntime: String, Sendable, Hashable, CaseIterable {
    case docker
    case containerd
    case crio = "cri-o"
    case podman
    case nspawn = "systemd-nspawn"
}

/// The (v2) cgroup an event's process was in, with the container it names.
///
/// Shared: every event of a process in this cgroup points to one instance,
/// so carrying it costs a reference, not a copy.
public final class CgroupInfo: Sendable, Hashable {
    /// The kernel's cgroup id (the inode number of its directory in cgroupfs).
    public let id: UInt64
    /// The path below the cgroup2 root, as in the `0::` line of
    /// `/proc/PID/cgroup` (`/system.slice/docker-<id>.scope`). Raw bytes:
    /// cgroup names are chosen by whoever creates them.
    public let path: [UInt8]
    /// The container id the path names, `""` when it names none (the host).
    public let containerID: String
    /// The runtime that named the cgroup, nil when `containerID` is empty.
    public let runtime: ContainerRuntime?

    public init(id: UInt64, path: [UInt8], containerID: String = "", runtime: ContainerRuntime? = nil) {
        self.id = id
        self.path = path
        self.containerID = containerID
        self.runtime = runtime
    }

    public static func == (lhs: CgroupInfo, rhs: CgroupInfo) -> Bool {
        lhs === rhs || (lhs.id == rhs.id && lhs.path == rhs.path && lhs.containerID == rhs.containerID
            && lhs.runtime == rhs.runtime)
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A mount, as the mount table (`/proc/PID/mountinfo`) describes it.
///
/// Shared by every event on that mount.
public final class MountInfo: Sendable, Hashable {
    public let mountID: UInt32
    /// Device of its superblock, kernel encoding (major << 20 | minor).
    public let device: UInt32
    /// Where it is mounted, unescaped raw bytes, as seen from the mount
    /// namespace whose table it came from.
    public let mountPoint: [UInt8]
    /// The file system type (`ext4`, `tmpfs`, `overlay`…).
    public let fsType: String

    public init(mountID: UInt32, device: UInt32, mountPoint: [UInt8], fsType: String) {
        self.mountID = mountID
        self.device = device
        self.mountPoint = mountPoint
        self.fsType = fsType
    }

    public static func == (lhs: MountInfo, rhs: MountInfo) -> Bool {
        lhs === rhs || (lhs.mountID == rhs.mountID && lhs.device == rhs.device
            && lhs.mountPoint == rhs.mountPoint && lhs.fsType == rhs.fsType)
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(mountID) }
}

/// Who acted, beyond pid and tid: read by the kernel with the event, then
/// completed in user space (names, cgroup path, container).
public struct ProcessContext: Sendable, Hashable {
    /// Thread-group id of the real parent.
    public var ppid: UInt32
    /// When the process (its thread-group leader) started: with `pid`, an
    /// identity that pid reuse cannot confuse.
    public var startTime: EventTimestamp
    /// The audit login uid and session id; nil when never set (no login,
    /// or a kernel without audit).
    public var loginUID: UInt32?
    public var sessionID: UInt32?
    /// Effective ids, as the kernel's permission checks used them.
    public var euid: UInt32
    public var egid: UInt32
    /// The executable, resolved by the kernel like the event's paths; nil
    /// for kernel threads, which run none.
    public var executable: EventPath?
    /// The cgroup v2 id, and what user space learned about it (nil when it
    /// could not: the cgroup is gone, or there is no cgroup2 mount).
    public var cgroupID: UInt64
    public var cgroup: CgroupInfo?
    /// Namespace ids: the inode numbers `/proc/PID/ns/{mnt,pid,user}` show.
    public var mountNamespace: UInt32
    public var pidNamespace: UInt32
    public var userNamespace: UInt32
    /// Account names of uid, gid, euid and egid; nil when the id has none.
    public var userName: String?
    public var groupName: String?
    public var effectiveUserName: String?
    public var effectiveGroupName: String?

    public init(ppid: UInt32 = 0, startTime: EventTimestamp = EventTimestamp(nanosecondsSinceEpoch: 0),
                loginUID: UInt32? = nil, sessionID: UInt32? = nil, euid: UInt32 = 0, egid: UInt32 = 0,
                executable: EventPath? = nil, cgroupID: UInt64 = 0, cgroup: CgroupInfo? = nil,
                mountNamespace: UInt32 = 0, pidNamespace: UInt32 = 0, userNamespace: UInt32 = 0,
                userName: String? = nil, groupName: String? = nil,
                effectiveUserName: String? = nil, effectiveGroupName: String? = nil) {
        self.ppid = ppid
        self.startTime = startTime
        self.loginUID = loginUID
        self.sessionID = sessionID
        self.euid = euid
        self.egid = egid
        self.executable = executable
        self.cgroupID = cgroupID
        self.cgroup = cgroup
        self.mountNamespace = mountNamespace
        self.pidNamespace = pidNamespace
        self.userNamespace = userNamespace
        self.userName = userName
        self.groupName = groupName
        self.effectiveUserName = effectiveUserName
        self.effectiveGroupName = effectiveGroupName
    }

    /// The container id (`""` on the host, or when the cgroup is unknown).
    public var containerID: String { cgroup?.containerID ?? "" }
}

/// The type of a file, from the type bits of its mode.
public enum FileType: String, Sendable, CaseIterable {
    case file, directory, symlink, fifo, socket
    case charDevice = "char_device"
    case blockDevice = "block_device"

    /// Nil when the mode carries no known type (0: not known).
    public init?(mode: UInt32) {
        switch mode & 0o170000 {
        case 0o100000: self = .file
        case 0o040000: self = .directory
        case 0o120000: self = .symlink
        case 0o010000: self = .fifo
        case 0o140000: self = .socket
        case 0o020000: self = .charDevice
        case 0o060000: self = .blockDevice
        default: return nil
        }
    }

    /// The type bits of a mode of this type (`S_IFREG`…): what a decoded
    /// or archived event's mode holds when only its type is known.
    public var modeBits: UInt32 {
        switch self {
        case .file: 0o100000
        case .directory: 0o040000
        case .symlink: 0o120000
        case .fifo: 0o010000
        case .socket: 0o140000
        case .charDevice: 0o020000
        case .blockDevice: 0o060000
        }
    }

    /// `rawValue` as a constant, so formatters copy it without touching `String`.
    public var staticName: StaticString {
        switch self {
        case .file: "file"
        case .directory: "directory"
        case .symlink: "symlink"
        case .fifo: "fifo"
        case .socket: "socket"
        case .charDevice: "char_device"
        case .blockDevice: "block_device"
        }
    }
}

/// What a `setattr` sets, where the kernel says (the VFS backends read it
/// where the kernel applies it; the tracepoint backend from the system
/// call's arguments). Nil members are left as they were.
public struct AttributeChange: Sendable, Hashable {
    /// A new access or modification time.
    public enum Time: Sendable, Hashable {
        /// This time, explicitly.
        case at(EventTimestamp)
        /// The current time, which the kernel reads when it applies it.
        case now
    }

    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var size: Int64?
    public var accessTime: Time?
    public var modificationTime: Time?
    /// An extended attribute set or removed (then the other members are nil).
    public var extendedAttribute: ExtendedAttributeChange?

    public init(mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: Int64? = nil,
                accessTime: Time? = nil, modificationTime: Time? = nil,
                extendedAttribute: ExtendedAttributeChange? = nil) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.extendedAttribute = extendedAttribute
    }
}

/// An extended attribute (or, on kernels from 6.2, a POSIX ACL) set or
/// removed. Its value is not carried.
public struct ExtendedAttributeChange: Sendable, Hashable {
    public enum Operation: UInt8, Sendable, Hashable {
        case set = 1
        case remove = 2
    }

    public var operation: Operation
    /// The attribute's name (`user.origin`, `security.selinux`…), exactly as
    /// the kernel had it: any bytes but NUL, so hostile like a file name.
    /// Empty when the event had no room left for it.
    public var name: [UInt8]

    public init(_ operation: Operation, name: [UInt8]) {
        self.operation = operation
        self.name = name
    }
}
