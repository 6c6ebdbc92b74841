import FSProbeCore

/// Events of every shape the outputs know: every type, second paths,
/// failures (named and unnamed errno), every path flag, hostile and
/// invalid-UTF-8 names (so every `*_raw` field), full process context and
/// none, setattr values and extended attributes, written bytes, ids.
public enum EventCatalogue {
    public static var all: [FileEvent] {
        var events: [FileEvent] = []
        for type in EventType.allCases {
            events.append(makeEvent(type, seq: Int(type.rawValue),
                                    target: type.hasTarget ? Array("/tmp/new".utf8) : nil))
        }
        // Every other one stamped by a source, some of them from a host with a hostile name.
        for (offset, name) in HostileNames.all.enumerated() {
            var event = makeEvent(.open, seq: 10 + offset, path: name.bytes)
            if offset % 2 == 1 {
                event.origin = EventOrigin(host: offset % 4 == 1 ? "agent-\(offset)" : "agent\n\u{1b}[31m\"\(offset)",
                                           stream: UInt64(offset) &* 0x9e37_79b9_7f4a_7c15)
                event.sequence = UInt64(offset) << 40 | 1
            }
            events.append(event)
        }

        // A rename whose every name is hostile, with every path flag.
        var rename = makeEvent(.rename, seq: 40, path: HostileNames.all[0].bytes, target: HostileNames.all[2].bytes)
        rename.comm = [0xFF, 0x1B, 0x0A, 0x78].withUnsafeBytes { ProcessName(bytes: $0) }
        rename.source.resolution = [.truncated, .deleted, .detached]
        rename.source.processRootOffset = 5
        rename.target?.resolution = [.callerSuffix, .callerTruncated, .foreignMountNamespace]
        rename.target?.processRootOffset = 4
        rename.target?.inode = UInt64.max
        rename.backend = .fentry
        rename.flags = 1
        events.append(rename)
        var link = makeEvent(.link, seq: 41, path: Array("/srv/a".utf8), target: Array("/srv/b".utf8), retval: 0)
        link.source.processRootOffset = 4  // "/a" inside a chroot at /srv
        link.target?.processRootOffset = 4
        events.append(link)
        var rootItself = makeEvent(.mkdir, seq: 42, path: Array("/srv/root".utf8), retval: 0)
        rootItself.source.processRootOffset = rootItself.source.bytes.count  // the process root: "/"
        events.append(rootItself)

        // Failures.
        var failed = makeEvent(.unlink, seq: 43, retval: -2)
        failed.backend = .kprobe
        events.append(failed)
        events.append(makeEvent(.rmdir, seq: 44, retval: -4000))  // no errno name

        // Full context, from hostile sources too.
        for (offset, name) in [HostileNames.all[1], HostileNames.all[2], HostileNames.all[6]].enumerated() {
            var event = makeEvent(.rename, seq: 50 + offset, target: Array("/tmp/t".utf8), retval: 0)
            event.process = ProcessContext(
                ppid: 1, startTime: EventTimestamp(nanosecondsSinceEpoch: testEventTime - 1_000_000_001),
                loginUID: 1000, sessionID: offset == 0 ? nil : 3, euid: 0, egid: UInt32(offset),
                executable: EventPath(bytes: name.bytes), cgroupID: UInt64.max,
                cgroup: CgroupInfo(id: UInt64.max, path: name.bytes, containerID: offset == 0 ? "" : "c\(offset)",
                                   runtime: offset == 0 ? nil : .podman),
                mountNamespace: 4026531840, pidNamespace: 4026531836, userNamespace: .max,
                userName: "alice", groupName: offset == 0 ? nil : "staff", effectiveUserName: name.label, effectiveGroupName: "g\n")
            event.source.device = 259 << 20 | 3
            event.source.mode = 0o100644
            event.source.linkCount = 2
            event.source.mount = MountInfo(mountID: 28, device: 259 << 20 | 3, mountPoint: name.bytes, fsType: "ext4")
            event.target?.device = 8 << 20 | 1
            event.target?.mode = 0o040755
            event.target?.linkCount = 3
            event.target?.mount = MountInfo(mountID: 29, device: 8 << 20 | 1, mountPoint: Array("/".utf8), fsType: "xfs")
            events.append(event)
        }

        // setattr: values, times, extended attributes (a hostile name among them).
        var chmod = makeEvent(.setattr, seq: 60, retval: 0)
        chmod.flags = 1 | 2 | 4 | 8
        chmod.attributes = AttributeChange(mode: 0o4755, uid: 0, gid: 1, size: 4096, accessTime: .now,
                                           modificationTime: .at(EventTimestamp(nanosecondsSinceEpoch: testEventTime)))
        events.append(chmod)
        var xattr = makeEvent(.setattr, seq: 61, retval: 0)
        xattr.flags = 16 | 64
        xattr.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.set, name: HostileNames.all[2].bytes))
        events.append(xattr)
        var removal = makeEvent(.setattr, seq: 62, retval: -61)
        removal.flags = 32
        removal.attributes = AttributeChange(extendedAttribute: ExtendedAttributeChange(.remove, name: Array("user.origin".utf8)))
        events.append(removal)

        var write = makeEvent(.modify, seq: 63, retval: 512)
        write.bytesWritten = 512
        events.append(write)
        return events
    }
}
