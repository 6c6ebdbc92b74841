import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

/// The context every event carries, checked against what /proc says about
/// the same process: a process in its own cgroup (named like a docker
/// container's) and in new mount and pid namespaces; an executable started
/// through a symlink; effective ids changed before the operation; a mount
/// made after fsprobe started.
final class ContextTests: XCTestCase {
    func testProcessInACgroupAndNewNamespaces() throws {
        try requireRoot()
        let cgroupRoot = try XCTUnwrap(cgroup2MountPoint(), "no cgroup2 mount: the kernel reports v2 cgroup ids only")
        let scratch = try Scratch("Context")
        defer { scratch.remove() }
        let file = scratch.url("ctx")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: nil))
        let containerID = (0..<64).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        let slice = "\(cgroupRoot)/fsprobe-test-\(getpid()).slice"
        let scope = "\(slice)/docker-\(containerID).scope"
        try FileManager.default.createDirectory(atPath: scope, withIntermediateDirectories: true)
        defer { rmdir(scope); rmdir(slice) }
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open])
        defer { try? recorder.stop() }

        // The child waits until it is in the cgroup; its own child, pid 1 of
        // a new pid namespace, opens the file and waits until /proc is read.
        var moved: [Int32] = [0, 0], release: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&moved), 0)
        XCTAssertEqual(pipe(&release), 0)
        let path = strdup(file)!
        defer { free(path) }
        let child = fork()
        if child == 0 {
            var byte: UInt8 = 0
            close(moved[1]); close(release[1])
            guard read(moved[0], &byte, 1) == 1, unshareFunction?(cloneNewNS | cloneNewPID) == 0 else { _exit(10) }
            let inner = fork()
            if inner == 0 {
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { _exit(11) }
                close(fd)
                _ = read(release[0], &byte, 1)  // returns at EOF, when the test closes its end
                _exit(0)
            }
            var status: Int32 = 0
            guard inner > 0, waitpid(inner, &status, 0) == inner else { _exit(12) }
            _exit(status == 0 ? 0 : 13)
        }
        XCTAssertGreaterThan(child, 0)
        close(moved[0]); close(release[0])
        try "\(child)".write(toFile: "\(scope)/cgroup.procs", atomically: false, encoding: .utf8)
        var go: UInt8 = 1
        XCTAssertEqual(write(moved[1], &go, 1), 1)
        close(moved[1])

        let event = recorder.waitFor("the open in the namespaces") { $0.type == .open && $0.source.string == file }
        // Read /proc while the process still runs, then let it go.
        let proc = event.flatMap { ProcStatus(pid: $0.pid) }
        close(release[1])
        var status: Int32 = 0
        XCTAssertEqual(waitpid(child, &status, 0), child)
        XCTAssertEqual(status, 0, "child's failed step: \(status >> 8)")
        guard let event, let proc else { return XCTFail("no event, or its process's /proc was gone") }

        XCTAssertEqual(event.process.ppid, proc.ppid)
        XCTAssertEqual(event.process.mountNamespace, proc.mountNamespace)
        XCTAssertEqual(event.process.pidNamespace, proc.pidNamespace)
        XCTAssertEqual(event.process.userNamespace, proc.userNamespace)
        XCTAssertNotEqual(event.process.pidNamespace, ProcStatus(pid: UInt32(getpid()))?.pidNamespace,
                          "the opener is in a new pid namespace")
        XCTAssertEqual(event.process.cgroup.map { String(decoding: $0.path, as: UTF8.self) }, proc.cgroupPath)
        XCTAssertEqual(proc.cgroupPath, "/fsprobe-test-\(getpid()).slice/docker-\(containerID).scope")
        XCTAssertEqual(event.process.containerID, containerID)
        XCTAssertEqual(event.process.cgroup?.runtime, .docker)
        // Start times: /proc counts clock ticks since boot, the event has
        // nanoseconds (converted to the epoch with the same boot clock).
        let expectedStart = BootClock().epochNanoseconds(fromBoot: proc.startTicks * 1_000_000_000 / UInt64(sysconf(Int32(_SC_CLK_TCK))))
        XCTAssertLessThan(abs(event.process.startTime.nanosecondsSinceEpoch - expectedStart), 50_000_000,
                          "start time within a tick or two of /proc's")

        // This process, for contrast: the host's, no container.
        let own = try XCTUnwrap(ProcStatus(pid: UInt32(getpid())))
        let from = recorder.count
        XCTAssertGreaterThanOrEqual(touch(file), 0)
        let mine = recorder.firstEvent(from: from, timeout: 10) { $0.pid == UInt32(getpid()) && $0.type == .open }?.event
        XCTAssertEqual(mine?.process.containerID, "")
        XCTAssertNil(mine?.process.cgroup?.runtime)
        XCTAssertEqual(mine?.process.cgroup.map { String(decoding: $0.path, as: UTF8.self) }, own.cgroupPath)
        XCTAssertEqual(mine?.process.mountNamespace, own.mountNamespace)
        XCTAssertEqual(mine?.process.ppid, own.ppid)
        XCTAssertEqual(mine?.process.executable?.string, own.executable)
        XCTAssertEqual(mine?.process.userName, "root")
    }

    /// A file any user may open, in a directory any user may enter.
    private static func fileEveryoneReads(in scratch: Scratch) throws -> String {
        let file = scratch.url("readable")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8),
                                                     attributes: [.posixPermissions: 0o644]))
        XCTAssertEqual(chmod(scratch.path, 0o755), 0)
        return file
    }

    /// /bin/cat with its symlinks resolved, as the kernel walks an executable.
    private static func resolvedCat() throws -> String {
        let resolved = try XCTUnwrap(realpath("/bin/cat", nil))
        defer { free(resolved) }
        return String(cString: resolved)
    }

    func testExecutableStartedThroughASymlinkWithChangedEffectiveIDs() throws {
        try requireRoot()
        let scratch = try Scratch("ContextExe")
        defer { scratch.remove() }
        let file = try Self.fileEveryoneReads(in: scratch)
        let link = scratch.url("run-cat")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/bin/cat")
        let binary = try Self.resolvedCat()
        let recorder = try EventRecorder(paths: [file], events: [.open])
        defer { try? recorder.stop() }

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("cat"), strdup(file), nil]
        let linkPath = strdup(link)!
        defer { free(linkPath); argv.forEach { free($0) } }
        let child = fork()
        if child == 0 {
            let devNull = open("/dev/null", O_WRONLY)
            guard devNull >= 0, dup2(devNull, 1) == 1 else { _exit(20) }
            // The group first: once the euid is no longer 0 it could not change.
            guard setegid(4242) == 0, seteuid(4243) == 0 else { _exit(21) }
            execv(linkPath, argv)  // argv[0] "cat": a multi-call binary picks its applet by it
            _exit(22)
        }
        var status: Int32 = 0
        XCTAssertEqual(waitpid(child, &status, 0), child)
        XCTAssertEqual(status, 0, "child's failed step: \(status >> 8)")

        let event = recorder.waitFor("cat's open") { $0.type == .open && $0.pid == UInt32(child) }
        XCTAssertEqual(event?.process.executable?.string, binary, "the resolved executable, not the symlink")
        XCTAssertEqual(event?.process.euid, 4243)
        XCTAssertEqual(event?.process.egid, 4242)
        XCTAssertEqual(event?.uid, 0, "the real uid stays")
        XCTAssertEqual(event?.process.userName, "root")
        XCTAssertNil(event?.process.effectiveUserName, "4243 has no account")
        XCTAssertEqual(event?.process.ppid, UInt32(getpid()))
    }

    /// The kernel keeps each process's context between its events
    /// (lib/context.bpf.h): a change of effective ids and an exec must show
    /// in the very next event, not the cached values of the one before.
    func testCachedContextFollowsTheProcessThroughSetuidAndExec() throws {
        try requireRoot()
        let scratch = try Scratch("ContextCache")
        defer { scratch.remove() }
        let file = try Self.fileEveryoneReads(in: scratch)
        let catPath = try Self.resolvedCat()
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let recorder = try EventRecorder(paths: [file], events: [.open])
        defer { try? recorder.stop() }

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("cat"), strdup(file), nil]
        let path = strdup(file)!, catExe = strdup("/bin/cat")!
        defer { free(path); free(catExe); argv.forEach { free($0) } }
        let child = fork()
        if child == 0 {
            let devNull = open("/dev/null", O_WRONLY)
            guard devNull >= 0, dup2(devNull, 1) == 1 else { _exit(20) }
            for _ in 0..<3 where touchC(path) < 0 { _exit(21) }  // cached from the first
            guard setegid(4242) == 0, seteuid(4243) == 0 else { _exit(22) }
            guard touchC(path) >= 0 else { _exit(23) }
            execv(catExe, argv)
            _exit(24)
        }
        var status: Int32 = 0
        XCTAssertEqual(waitpid(child, &status, 0), child)
        XCTAssertEqual(status, 0, "child's failed step: \(status >> 8)")

        let events = recorder.events(until: "cat's open") {
            $0.type == .open && $0.pid == UInt32(child) && $0.process.executable?.string == catPath
        }.filter { $0.pid == UInt32(child) && $0.source.string == file }
        let seen = events.map { "\($0.process.executable?.string ?? "-") \($0.process.euid)/\($0.process.egid)" }
        XCTAssertEqual(seen, ["\(own) 0/0", "\(own) 0/0", "\(own) 0/0", "\(own) 4243/4242", "\(catPath) 4243/4242"])
    }

    func testMountMadeAfterStartShowsItsMountPointAndType() throws {
        try requireRoot()
        let scratch = try Scratch("ContextMount")
        defer { scratch.remove() }
        let point = scratch.url("m")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open])
        defer { try? recorder.stop() }
        // The enricher has read the mount table by now (first event, or start).
        XCTAssertGreaterThanOrEqual(touch(scratch.url("before"), flags: O_CREAT | O_WRONLY), 0)
        recorder.waitFor("an event before the mount") { $0.source.string == scratch.url("before") }

        XCTAssertEqual(mount("tmpfs", point, "tmpfs", 0, "size=1m"), 0)
        defer { umount2(point, Int32(MNT_DETACH)) }
        let file = "\(point)/f"
        XCTAssertGreaterThanOrEqual(touch(file, flags: O_CREAT | O_WRONLY), 0)
        XCTAssertEqual(link(file, "\(point)/g"), 0)
        XCTAssertGreaterThanOrEqual(touch(file), 0)
        var info = stat()
        XCTAssertEqual(stat(file, &info), 0)

        let events = recorder.events(until: "the second open") { $0.type == .open && $0.source.string == file && $0.source.linkCount == 2 }
        let open = try XCTUnwrap(events.last)
        XCTAssertEqual(open.source.mount.map { String(decoding: $0.mountPoint, as: UTF8.self) }, point)
        XCTAssertEqual(open.source.mount?.fsType, "tmpfs")
        // glibc's dev_t encoding (gnu_dev_major/minor are macros Swift does not import).
        let dev = UInt64(info.st_dev)
        XCTAssertEqual(UInt64(open.source.device >> 20), (dev >> 8) & 0xfff | (dev >> 32) & ~0xfff)
        XCTAssertEqual(UInt64(open.source.device & 0xfffff), dev & 0xff | (dev >> 12) & ~0xff)
        XCTAssertEqual(FileType(mode: open.source.mode), .file)
        let line = JSONLineEncoder().line(open)
        XCTAssertTrue(line.contains(#""src_mount_point":"\#(point)","src_fstype":"tmpfs""#), line)
        XCTAssertTrue(line.contains(#""src_nlink":2"#), line)
    }
}

extension ContextTests {
    /// What each setattr sets, and the bytes a write wrote. The VFS
    /// backends read what the kernel applies, the tracepoint backend what
    /// the call asked (they differ for ftruncate, which also sets the
    /// modification time).
    func testSetattrValuesAndBytesWritten() throws {
        try requireRoot()
        let scratch = try Scratch("ContextAttr")
        defer { scratch.remove() }
        let file = scratch.url("f")
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open, .modify, .setattr])
        defer { try? recorder.stop() }

        let fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(write(fd, "hello", 5), 5)
        close(fd)
        XCTAssertEqual(chmod(file, 0o600), 0)
        XCTAssertEqual(chown(file, 4242, gid_t.max), 0)
        XCTAssertEqual(truncate(file, 3), 0)
        let again = open(file, O_WRONLY | O_CLOEXEC)
        XCTAssertEqual(ftruncate(again, 2), 0)
        close(again)
        var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 5), timespec(tv_sec: 0, tv_nsec: utimeNow)]
        XCTAssertEqual(utimensat(AT_FDCWD, file, &times, 0), 0)
        XCTAssertEqual(utimensat(AT_FDCWD, file, nil, 0), 0)

        let events = recorder.events(until: "the last utimensat") {
            $0.type == .setattr && $0.attributes?.accessTime == .now && $0.attributes?.modificationTime == .now
        }.filter { $0.source.string == file }
        let modify = try XCTUnwrap(events.first { $0.type == .modify })
        XCTAssertEqual(modify.bytesWritten, TestBackend.isVFS ? nil : 5, "VFS hooks report a modify before the write")
        let changes = events.filter { $0.type == .setattr }
        XCTAssertEqual(changes.count, 6, "\(changes.map(EventRecorder.describe))")
        guard changes.count == 6 else { return }
        let names = changes.map(EventRecorder.flagNames)
        XCTAssertEqual(names, ["mode", "owner", "size", "size", "times", "times"])
        let now = EventTimestamp(nanosecondsSinceEpoch: 1_700_000_000_000_000_005)
        XCTAssertEqual(changes[0].attributes?.mode.map { $0 & 0o7777 }, 0o600)
        XCTAssertEqual(changes[0].attributes?.uid, nil)
        XCTAssertEqual(changes[1].attributes, AttributeChange(uid: 4242))
        XCTAssertEqual(changes[2].attributes, AttributeChange(size: 3))
        // ftruncate also sets the modification time, which only the kernel says.
        XCTAssertEqual(changes[3].attributes, AttributeChange(size: 2, modificationTime: TestBackend.isVFS ? .now : nil))
        XCTAssertEqual(changes[4].attributes, AttributeChange(accessTime: .at(now), modificationTime: .now))
        XCTAssertEqual(changes[5].attributes, AttributeChange(accessTime: .now, modificationTime: .now))
        XCTAssertTrue(events.filter { $0.type != .setattr }.allSatisfy { $0.attributes == nil })
    }
}

extension ContextTests {
    /// Extended attributes set and removed by path, without following a
    /// symlink, and by descriptor, a refused one, a POSIX ACL (which 6.2+
    /// kernels route beside the xattr calls) and a hostile name. On a tmpfs
    /// of its own: its trusted.* attributes work on every supported kernel.
    func testExtendedAttributeChangesCarryTheirNames() throws {
        try requireRoot()
        let scratch = try Scratch("ContextXattr")
        defer { scratch.remove() }
        let file = try Self.fileOnOwnTmpfs(in: scratch)
        defer { umount2(scratch.url("t"), Int32(MNT_DETACH)) }
        let point = scratch.url("t")
        let recorder = try EventRecorder(paths: [scratch.path], events: [.setattr])
        defer { try? recorder.stop() }

        // A name that would break a line or a terminal, and is not UTF-8.
        let hostile: [UInt8] = Array("trusted.a\nb\u{1b}[31m".utf8) + [0xff, 0x22]
        let value: [UInt8] = [0x76]
        let calls = XattrCalls()
        XCTAssertEqual(calls.set(file, "trusted.fsprobe", value, xattrCreate), 0)
        XCTAssertEqual(calls.setNoFollow(file, hostile, value, 0), 0)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(calls.setByDescriptor(fd, "trusted.absent", value, xattrReplace), -1)
        let refused = errno
        XCTAssertEqual(calls.removeByDescriptor(fd, "trusted.fsprobe"), 0)
        close(fd)
        XCTAssertEqual(calls.remove(file, hostile), 0)
        // A minimal access ACL (user::rw- group::r-- other::r--): version 2, then (tag, perm, id) entries.
        let acl: [UInt8] = [2, 0, 0, 0, 1, 0, 6, 0, 255, 255, 255, 255, 4, 0, 4, 0, 255, 255, 255, 255,
                            0x20, 0, 4, 0, 255, 255, 255, 255]
        let aclResult = calls.set(file, "system.posix_acl_access", acl, 0)
        let aclErrno = aclResult == 0 ? 0 : errno

        let events = recorder.events(until: "the ACL set") {
            $0.type == .setattr && $0.attributes?.extendedAttribute?.name == Array("system.posix_acl_access".utf8)
        }.filter { $0.type == .setattr && $0.source.string == file }
        XCTAssertEqual(events.count, 6, "\(events.map(EventRecorder.describe))")
        guard events.count == 6 else { return }
        let names = events.map(EventRecorder.flagNames)
        XCTAssertEqual(names, ["xattr|XATTR_CREATE", "xattr", "xattr|XATTR_REPLACE", "xattr_remove", "xattr_remove", "xattr"])
        let expected: [(ExtendedAttributeChange.Operation, [UInt8], Int64)] = [
            (.set, Array("trusted.fsprobe".utf8), 0), (.set, hostile, 0),
            (.set, Array("trusted.absent".utf8), -Int64(refused)), (.remove, Array("trusted.fsprobe".utf8), 0),
            (.remove, hostile, 0), (.set, Array("system.posix_acl_access".utf8), -Int64(aclErrno)),
        ]
        for (index, (event, (operation, name, retval))) in zip(events, expected).enumerated() {
            XCTAssertEqual(event.attributes, AttributeChange(extendedAttribute: ExtendedAttributeChange(operation, name: name)))
            XCTAssertEqual(event.retval, retval, EventRecorder.describe(event))
            // The tracepoint backend resolves a path-based call's base only (here the root).
            if TestBackend.isVFS || [2, 3].contains(index) {
                XCTAssertEqual(event.source.mount.map { String(decoding: $0.mountPoint, as: UTF8.self) }, point)
            }
        }
        // The hostile name stays inside one JSON line, and its exact bytes are there.
        let line = JSONLineEncoder().line(events[1])
        XCTAssertFalse(line.dropLast().contains("\n"), line)
        XCTAssertFalse(line.contains("\u{1b}"), line)
        XCTAssertTrue(line.contains(#""xattr":{"op":"set","name":"trusted.a\nb\u001b[31m\#u{FFFD}\"","name_raw":"\#(Data(hostile).base64EncodedString())"}"#), line)
    }
}

extension ContextTests {
    /// setxattrat and removexattrat (6.13+): by directory descriptor and
    /// name, and by descriptor alone (AT_EMPTY_PATH). Before 6.13 the
    /// kernel has no such calls, which the test checks instead.
    func testExtendedAttributeAtCallsCarryTheirNames() throws {
        try requireRoot()
        let scratch = try Scratch("ContextXattrAt")
        defer { scratch.remove() }
        let file = try Self.fileOnOwnTmpfs(in: scratch)
        defer { umount2(scratch.url("t"), Int32(MNT_DETACH)) }
        let point = scratch.url("t")
        let calls = XattrCalls()
        let directory = open(point, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        defer { close(directory); close(fd) }
        guard calls.removeAt(directory, "f", atFlags: 0, "trusted.none") != -1 || errno != ENOSYS else {
            var name = utsname()
            uname(&name)
            let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let version = release.split(separator: ".").prefix(2).compactMap { Int($0) }
            XCTAssertTrue(version.lexicographicallyPrecedes([6, 13]), "ENOSYS from removexattrat on \(release)")
            return
        }
        let recorder = try EventRecorder(paths: [scratch.path], events: [.setattr])
        defer { try? recorder.stop() }
        XCTAssertEqual(calls.setAt(directory, "f", atFlags: 0, "trusted.at", [1], UInt32(xattrCreate)), 0)
        XCTAssertEqual(calls.setAt(fd, "", atFlags: atEmptyPath, "trusted.empty", [2], 0), 0)
        XCTAssertEqual(calls.removeAt(directory, "f", atFlags: 0, "trusted.at"), 0)

        let events = recorder.events(until: "the removexattrat") {
            $0.type == .setattr && $0.attributes?.extendedAttribute?.operation == .remove
        }.filter { $0.type == .setattr && $0.source.string == file }
        XCTAssertEqual(events.map(EventRecorder.flagNames), ["xattr|XATTR_CREATE", "xattr", "xattr_remove"])
        XCTAssertEqual(events.map { $0.attributes?.extendedAttribute?.name }, [
            Array("trusted.at".utf8), Array("trusted.empty".utf8), Array("trusted.at".utf8),
        ])
        XCTAssertTrue(events.allSatisfy { $0.retval == 0 }, "\(events.map(EventRecorder.describe))")
    }
}

extension ContextTests {
    /// Mounts a tmpfs at `scratch/t` (its trusted.* attributes work on every
    /// supported kernel) and creates the file `t/f` on it; returns that
    /// file's path. The caller unmounts `t`.
    static func fileOnOwnTmpfs(in scratch: Scratch) throws -> String {
        let point = scratch.url("t")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        XCTAssertEqual(mount("tmpfs", point, "tmpfs", 0, "size=1m"), 0)
        let file = "\(point)/f"
        XCTAssertGreaterThanOrEqual(touch(file, flags: O_CREAT | O_WRONLY), 0)
        return file
    }
}

/// AT_EMPTY_PATH, from <fcntl.h>.
private let atEmptyPath: Int32 = 0x1000

/// utimensat's "the current time" (UTIME_NOW), a macro Swift does not import.
private let utimeNow = (1 << 30) - 1

/// What /proc/PID says about a process.
private struct ProcStatus {
    var ppid: UInt32
    var startTicks: UInt64
    var mountNamespace: UInt32
    var pidNamespace: UInt32
    var userNamespace: UInt32
    var cgroupPath: String?
    var executable: String?

    init?(pid: UInt32) {
        guard let line = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = line.lastIndex(of: ")") else { return nil }
        // Fields after the command: state is field 3, ppid 4, starttime 22.
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ppid = UInt32(fields[1]), let start = UInt64(fields[19]) else { return nil }
        self.ppid = ppid
        startTicks = start
        func namespace(_ name: String) -> UInt32 {
            var info = stat()
            return stat("/proc/\(pid)/ns/\(name)", &info) == 0 ? UInt32(info.st_ino) : 0
        }
        mountNamespace = namespace("mnt")
        pidNamespace = namespace("pid")
        userNamespace = namespace("user")
        let cgroups = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
        cgroupPath = cgroups.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
        executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
    }
}

/// Where the cgroup2 hierarchy is mounted (`/sys/fs/cgroup`, or
/// `/sys/fs/cgroup/unified` on hybrid hosts).
private func cgroup2MountPoint() -> String? {
    guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
    for line in table.split(separator: "\n") {
        let halves = line.components(separatedBy: " - ")
        guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
        let fields = halves[0].split(separator: " ")
        if fields.count > 4 { return String(fields[4]) }
    }
    return nil
}
