import FSProbeCore

/// Completes what the kernel reported about an event with what only user
/// space knows: account names, the cgroup's path and container, and the
/// mount point and file system type of each path.
///
/// Every lookup goes through a bounded cache and hands out shared values
/// (class references, Swift strings), so an event whose context was seen
/// before costs no allocation. Not thread-safe: one per ring-buffer thread.
public final class EventEnricher {
    let cgroups: CgroupPathResolver
    let mounts: MountTable
    let accounts: AccountNames

    public init(cgroups: CgroupPathResolver = CgroupPathResolver(), mounts: MountTable = MountTable(),
                accounts: AccountNames = AccountNames()) {
        self.cgroups = cgroups
        self.mounts = mounts
        self.accounts = accounts
    }

    public func enrich(_ event: inout FileEvent) {
        let pid = event.pid
        enrichMount(of: &event.source, pid: pid)
        if event.target != nil { enrichMount(of: &event.target!, pid: pid) }
        if event.process.executable != nil { enrichMount(of: &event.process.executable!, pid: pid) }

        event.process.cgroup = cgroups.info(forID: event.process.cgroupID)
        event.process.userName = accounts.userName(event.uid)
        event.process.groupName = accounts.groupName(event.gid)
        event.process.effectiveUserName = event.process.euid == event.uid
            ? event.process.userName : accounts.userName(event.process.euid)
        event.process.effectiveGroupName = event.process.egid == event.gid
            ? event.process.groupName : accounts.groupName(event.process.egid)
    }

    /// A path whose walk ended in another mount namespace has its mount in
    /// that namespace's table, which only its processes' /proc shows.
    private func enrichMount(of path: inout EventPath, pid: UInt32) {
        guard path.mountID != 0 else { return }
        path.mount = mounts.info(mountID: path.mountID, device: path.device, pid: pid,
                                 foreignNamespace: path.resolution.contains(.foreignMountNamespace))
    }
}
