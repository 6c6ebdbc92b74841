import FSProbeCore

/// Completes what the kernel reported about an event with what only user
/// space knows: account names, the cgroup's path and container, and the
/// mount point and file system type of each path.
///
/// Every lookup goes through a bounded cache and hands out shared values
/// (class references, Swift strings), so an event whose context was seen
/// before costs no allocation. Not thread-safe: one per ring-buffer thread.
///
/// Within one round of events (`endRound()`: one poll of the ring buffer),
/// an answer is reused while the same key is asked again: a busy round is
/// mostly one process on one mount, and each cache lookup costs a clock
/// read, a hash and an LRU update. The caches' own rules (expiry, rereads)
/// still apply from one round to the next; a round lasts milliseconds.
/// Whoever feeds the enricher calls `endRound()` whenever it has read what
/// was ready (`KernelEventSource` does after each poll); without it, an
/// answer would be reused for as long as its key keeps coming.
public final class EventEnricher {
    let cgroups: CgroupPathResolver
    let mounts: MountTable
    let accounts: AccountNames

    // Unchecked exclusivity, as in `KernelRecordDecoder`: one thread, no
    // reentrant access.
    @exclusivity(unchecked) private var userNames = RoundMemo<UInt32, String?>()
    @exclusivity(unchecked) private var groupNames = RoundMemo<UInt32, String?>()
    @exclusivity(unchecked) private var cgroupInfo = RoundMemo<UInt64, CgroupInfo?>()
    /// The files' mounts and the executables' apart: they often differ,
    /// and one memo would then miss on every lookup.
    @exclusivity(unchecked) private var fileMounts = RoundMemo<MountKey, MountInfo?>()
    @exclusivity(unchecked) private var executableMounts = RoundMemo<MountKey, MountInfo?>()

    public init(cgroups: CgroupPathResolver = CgroupPathResolver(), mounts: MountTable = MountTable(),
                accounts: AccountNames = AccountNames()) {
        self.cgroups = cgroups
        self.mounts = mounts
        self.accounts = accounts
    }

    public func enrich(_ event: inout FileEvent) {
        let pid = event.pid
        enrichMount(of: &event.source, pid: pid, memo: &fileMounts)
        if event.target.isPresent { enrichMount(of: &event.target!, pid: pid, memo: &fileMounts) }
        if event.process.executable.isPresent {
            enrichMount(of: &event.process.executable!, pid: pid, memo: &executableMounts)
        }

        event.process.cgroup = cgroupInfo.value(for: event.process.cgroupID) { cgroups.info(forID: $0) }
        event.process.userName = userName(event.uid)
        event.process.groupName = groupName(event.gid)
        event.process.effectiveUserName = event.process.euid == event.uid
            ? event.process.userName : userName(event.process.euid)
        event.process.effectiveGroupName = event.process.egid == event.gid
            ? event.process.groupName : groupName(event.process.egid)
    }

    /// Forgets this round's answers: the next event asks the caches again.
    public func endRound() {
        userNames.forget()
        groupNames.forget()
        cgroupInfo.forget()
        fileMounts.forget()
        executableMounts.forget()
    }

    private func userName(_ uid: UInt32) -> String? {
        userNames.value(for: uid) { accounts.userName($0) }
    }

    private func groupName(_ gid: UInt32) -> String? {
        groupNames.value(for: gid) { accounts.groupName($0) }
    }

    /// A path whose walk ended in another mount namespace has its mount in
    /// that namespace's table, which only its processes' /proc shows.
    private func enrichMount(of path: inout EventPath, pid: UInt32, memo: inout RoundMemo<MountKey, MountInfo?>) {
        guard path.mountID != 0 else { return }
        let foreign = path.resolution.contains(.foreignMountNamespace)
        // The pid picks the table only for a foreign namespace's mount.
        let key = MountKey(mountID: path.mountID, device: path.device, pid: foreign ? pid : 0, foreign: foreign)
        path.mount = memo.value(for: key) {
            mounts.info(mountID: $0.mountID, device: $0.device, pid: $0.pid, foreignNamespace: $0.foreign)
        }
    }
}

private struct MountKey: Equatable {
    var mountID: UInt32
    var device: UInt32
    var pid: UInt32
    var foreign: Bool
}

/// The last answer computed, kept for its key until `forget()`.
struct RoundMemo<Key: Equatable, Value> {
    private var entry: (key: Key, value: Value)?

    mutating func value(for key: Key, compute: (Key) -> Value) -> Value {
        if let entry, entry.key == key { return entry.value }
        let value = compute(key)
        entry = (key, value)
        return value
    }

    mutating func forget() { entry = nil }
}
