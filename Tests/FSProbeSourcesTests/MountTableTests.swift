#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import FSProbeCore
import FSProbeTestSupport
@testable import FSProbeSources
import Testing

/// Parsing mountinfo lines, as the kernel writes them.
@Suite struct MountInfoParsingTests {
    typealias Line = MountTable.Line

    func parse(_ text: String) -> [Line] { MountTable.parseTable(Array(text.utf8)) }
    func parse(_ bytes: [UInt8]) -> [Line] { MountTable.parseTable(bytes) }

    @Test func manPageExample() {
        let lines = parse("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n")
        #expect(lines == [Line(mountID: 36, device: 98 << 20, mountPoint: Array("/mnt2".utf8), fsType: "ext3",
                               mountsFileSystemRoot: false)])
        #expect(parse("37 35 98:0 / /mnt3 rw - ext3 /dev/root rw\n").map(\.mountsFileSystemRoot) == [true])
    }

    @Test func optionalFieldsAbsentOrSeveral() {
        let lines = parse("""
            25 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            26 25 0:22 / /sys rw shared:2 master:7 propagate_from:3 unbindable - sysfs sysfs rw
            """)
        #expect(lines.map(\.mountID) == [25, 26])
        #expect(lines.map(\.device) == [8 << 20 | 1, 22])
        #expect(lines.map(\.fsType) == ["ext4", "sysfs"])
        #expect(lines.last?.mountPoint == Array("/sys".utf8))
    }

    @Test func escapesInMountPointAndType() {
        let lines = parse(#"40 1 0:50 / /tmp/a\040b\012c\134d\011e rw - fuse.my\040fs none rw"# + "\n")
        #expect(lines.first?.mountPoint == Array("/tmp/a b\nc\\d\te".utf8))
        #expect(lines.first?.fsType == "fuse.my fs")
    }

    @Test func backslashesThatAreNotEscapesStay() {
        let lines = parse(#"41 1 0:51 / /x\9y\04\400z\ rw - tmpfs tmpfs rw"#)
        #expect(lines.first?.mountPoint == Array(#"/x\9y\04\400z\"#.utf8))
    }

    @Test func mountPointBytesThatAreNotUTF8() {
        // The kernel escapes only space, tab, newline and backslash: other
        // bytes come raw, whatever they are.
        var line = Array("42 1 0:52 / /bad".utf8)
        line += [0xff, 0xc3, 0x28]
        line += Array(#"\377 rw - tmpfs tmpfs rw"#.utf8)
        let lines = parse(line)
        #expect(lines.first?.mountPoint == Array("/bad".utf8) + [0xff, 0xc3, 0x28, 0xff])
    }

    @Test func largeDevicesAndIDs() throws {
        let lines = parse("4294967295 1 4095:1048575 / /big rw - xfs /dev/x rw")
        // Unwrapped first: comparing a UInt32? inside #expect trips
        // AddressSanitizer in the testing library's value capture.
        let line = try #require(lines.first)
        #expect(line.mountID == UInt32.max)
        #expect(line.device == 4095 << 20 | 0xfffff)
    }

    @Test func malformedLinesAreSkipped() {
        let lines = parse("""
            1 0 8:1 / /good1 rw - ext4 /dev/a rw

            x 0 8:1 / /badid rw - ext4 /dev/a rw
            4294967296 0 8:1 / /idoverflow rw - ext4 /dev/a rw
            3 0 8-1 / /baddevice rw - ext4 /dev/a rw
            4 0 4096:0 / /majortoolarge rw - ext4 /dev/a rw
            5 0 8:1048576 / /minortoolarge rw - ext4 /dev/a rw
            6 0 8:1 / /noseparator rw shared:1 ext4 /dev/a rw
            7 0 8:1 / /notype rw -
            8 0 8:1 / /emptytype rw - 
            9 0 8:1
            10 0 8:1 /  rw - ext4 /dev/a rw
            11  8:1 / /emptyparent rw - ext4 /dev/a rw
            2 0 8:2 / /good2 rw - ext4 /dev/b rw
            """)
        #expect(lines.map(\.mountID) == [1, 2])
        #expect(lines.map { String(decoding: $0.mountPoint, as: UTF8.self) } == ["/good1", "/good2"])
    }

    @Test func deviceEncoding() {
        #expect(DeviceNumber.split(8 << 20 | 1) == (8, 1))
        #expect(DeviceNumber.split(4095 << 20 | 0xfffff) == (4095, 0xfffff))
        let nvme: UInt32 = 259 << 20 | 3
        #expect(DeviceNumber.make(major: 259, minor: 3) == nvme)
        #expect(DeviceNumber.make(major: 4096, minor: 0) == nil)
        #expect(DeviceNumber.make(major: 0, minor: 1 << 20) == nil)
        func text(_ device: UInt32) -> String {
            var bytes: [UInt8] = []
            DeviceNumber.appendText(device, to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(text(8 << 20 | 17) == "8:17")
        #expect(text(0) == "0:0")
    }
}

/// Lookups against tables in plain files (a stand-in /proc), with a clock
/// the test moves: what is cached, and when tables are read again.
@Suite struct MountTableCachingTests {
    final class Clock {
        var now: UInt64 = 1_000_000_000
    }

    /// A directory laid out like /proc: self/mountinfo, PID/mountinfo.
    final class FakeProc {
        let root: String

        init() throws {
            root = try makeTemporaryDirectory("fsprobe-fakeproc")
            try write("self", "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:30 / /run rw shared:5 - tmpfs tmpfs rw\n")
        }

        func write(_ directory: String, _ table: String) throws {
            _ = mkdir(root + "/" + directory, 0o755)
            try writeFile(root + "/" + directory + "/mountinfo", Array(table.utf8))
        }

        func remove() { removeTree(root) }
    }

    @Test func ownTableHitsAndBoundedMisses() throws {
        let proc = try FakeProc()
        defer { proc.remove() }
        let clock = Clock()
        let table = MountTable(procRoot: proc.root, now: { clock.now })

        let run = try #require(table.info(mountID: 2, device: 30, pid: 1, foreignNamespace: false))
        #expect(run.mountPoint == Array("/run".utf8))
        #expect(run.fsType == "tmpfs")
        #expect(table.info(mountID: 2, device: 0, pid: 1, foreignNamespace: false) === run, "device 0 is unknown")
        #expect(table.info(mountID: 2, device: 31, pid: 1, foreignNamespace: false) == nil, "another device")
        #expect(table.info(mountID: 2, device: 30, pid: 1, foreignNamespace: true) == nil,
                "not in pid 1's table (there is none)")

        // A mount in no table: a plain file never signals a change, so no
        // event on it rereads, however many come, and however late.
        for _ in 0..<1000 {
            clock.now += 10_000_000
            #expect(table.info(mountID: 77, device: 0, pid: 1, foreignNamespace: false) == nil)
        }
        #expect(table.rereads == 0)
        #expect(table.lookups == 1004)
        #expect(table.misses == 1002)
    }

    @Test func foreignTablesAreReadAtMostEvery100msPerMissingID() throws {
        let proc = try FakeProc()
        defer { proc.remove() }
        try proc.write("4242", "500 400 0:90 / / rw - overlay overlay rw\n501 500 0:91 / /data rw - tmpfs tmpfs rw\n")
        let clock = Clock()
        let table = MountTable(procRoot: proc.root, now: { clock.now })

        let root = try #require(table.info(mountID: 500, device: 90, pid: 4242, foreignNamespace: true))
        #expect(root.mountPoint == Array("/".utf8))
        #expect(root.fsType == "overlay")
        #expect(table.rereads == 1)
        // The whole table came in with the first read.
        let data = try #require(table.info(mountID: 501, device: 91, pid: 4242, foreignNamespace: true))
        #expect(data.mountPoint == Array("/data".utf8))
        #expect(table.info(mountID: 500, device: 90, pid: 4242, foreignNamespace: true) === root)
        #expect(table.rereads == 1)
        #expect(table.info(mountID: 500, device: 90, pid: 1, foreignNamespace: false) == nil, "not in our table")

        // A missing id: one read, then none for 100 ms.
        for _ in 0..<50 {
            #expect(table.info(mountID: 999, device: 0, pid: 4242, foreignNamespace: true) == nil)
            clock.now += 1_000_000
        }
        #expect(table.rereads == 2)
        clock.now += 50_000_000
        #expect(table.info(mountID: 999, device: 0, pid: 4242, foreignNamespace: true) == nil)
        #expect(table.rereads == 3)

        // Mounted since: found on the first lookup after the 100 ms.
        try proc.write("4242", "500 400 0:90 / / rw - overlay overlay rw\n999 500 0:92 / /new\\040dir rw - tmpfs tmpfs rw\n")
        #expect(table.info(mountID: 999, device: 92, pid: 4242, foreignNamespace: true) == nil, "within 100 ms")
        clock.now += 100_000_000
        let new = try #require(table.info(mountID: 999, device: 92, pid: 4242, foreignNamespace: true))
        #expect(new.mountPoint == Array("/new dir".utf8))
    }

    @Test func foreignEntriesAreCheckedAgainAfterTheirLifetime() throws {
        let proc = try FakeProc()
        defer { proc.remove() }
        try proc.write("7", "600 1 0:60 / /old rw - tmpfs tmpfs rw\n")
        let clock = Clock()
        let table = MountTable(procRoot: proc.root, now: { clock.now })
        let old = try #require(table.info(mountID: 600, device: 60, pid: 7, foreignNamespace: true))
        #expect(old.mountPoint == Array("/old".utf8))

        // Id and device both reused by a mount elsewhere: only the table
        // tells, and it is read again once the entry has aged.
        try proc.write("7", "600 1 0:60 / /reused rw - tmpfs tmpfs rw\n")
        clock.now += MountTable.foreignEntryLifetime - 1
        #expect(table.info(mountID: 600, device: 60, pid: 7, foreignNamespace: true) === old)
        clock.now += 1
        #expect(table.info(mountID: 600, device: 60, pid: 7, foreignNamespace: true)?.mountPoint == Array("/reused".utf8))

        // The process gone: the aged entry is still the best answer; an
        // unknown id has none.
        clock.now += MountTable.foreignEntryLifetime
        proc.removeTable("7")
        #expect(table.info(mountID: 600, device: 60, pid: 7, foreignNamespace: true)?.mountPoint == Array("/reused".utf8))
        #expect(table.info(mountID: 601, device: 0, pid: 7, foreignNamespace: true) == nil)
    }

    @Test func foreignReadsHaveABudgetPerSecond() throws {
        let proc = try FakeProc()
        defer { proc.remove() }
        try proc.write("8", "700 1 0:70 / /x rw - tmpfs tmpfs rw\n")
        let clock = Clock()
        let table = MountTable(procRoot: proc.root, now: { clock.now })
        // A hostile namespace naming a new id per event.
        for id in UInt32(1000)..<1500 {
            _ = table.info(mountID: id, device: 0, pid: 8, foreignNamespace: true)
        }
        #expect(table.rereads == UInt64(MountTable.maxForeignReadsPerSecond))
        clock.now += 1_000_000_000
        #expect(table.info(mountID: 700, device: 70, pid: 8, foreignNamespace: true)?.fsType == "tmpfs")
    }

    @Test func foreignCacheIsBounded() throws {
        let proc = try FakeProc()
        defer { proc.remove() }
        // A table larger than the cache: the mount asked for stays.
        var lines = ""
        for id in 1000..<1100 { lines += "\(id) 1 0:\(id) / /m\(id) rw - tmpfs tmpfs rw\n" }
        try proc.write("9", lines)
        let clock = Clock()
        let table = MountTable(procRoot: proc.root, foreignCapacity: 16, now: { clock.now })
        #expect(table.info(mountID: 1010, device: 1010, pid: 9, foreignNamespace: true)?.mountPoint == Array("/m1010".utf8))
        #expect(table.info(mountID: 1099, device: 1099, pid: 9, foreignNamespace: true)?.mountPoint == Array("/m1099".utf8))
        #expect(table.rereads == 1, "the last lines of the table stayed in the cache")
    }
}

extension MountTableCachingTests.FakeProc {
    func removeTable(_ directory: String) {
        unlink(root + "/" + directory + "/mountinfo")
    }
}

/// Against the kernel: mounts made after the table was read, in our
/// namespace and in another one.
@Suite(.serialized, .enabled(if: geteuid() == 0, "mounting needs root"))
struct MountTableKernelTests {
    @Test func followsMountsMadeAfterTheFirstRead() throws {
        let scratch = try makeTemporaryDirectory("fsprobe-mounttable")
        defer { removeTree(scratch) }
        // Every hit checks the kernel's change signal: an id and a device
        // can both be reused by the second mount below.
        let table = MountTable(procRoot: "/proc", changeCheckInterval: 0)
        let ourPid = UInt32(getpid())

        let plain = scratch + "/plain"
        #expect(mkdir(plain, 0o755) == 0)
        let first = try Mounted(tmpfsAt: plain)
        defer { first.unmount() }
        let (firstID, firstDevice) = try mountIDAndDevice(of: plain)
        let found = try #require(table.info(mountID: firstID, device: firstDevice, pid: ourPid, foreignNamespace: false))
        #expect(found.mountID == firstID)
        #expect(found.device == firstDevice)
        #expect(found.mountPoint == Array(plain.utf8))
        #expect(found.fsType == "tmpfs")
        #expect(table.rereads >= 1, "mounted after the first read")
        #expect(table.info(mountID: firstID, device: firstDevice, pid: ourPid, foreignNamespace: false) === found)
        #expect(table.info(mountID: firstID, device: firstDevice &+ 1, pid: ourPid, foreignNamespace: false) == nil)

        first.unmount()
        #expect(table.info(mountID: firstID, device: firstDevice, pid: ourPid, foreignNamespace: false) == nil,
                "unmounted")

        let odd = scratch + "/a b\nc\\d\te"
        #expect(mkdir(odd, 0o755) == 0)
        let second = try Mounted(tmpfsAt: odd)
        defer { second.unmount() }
        let (secondID, secondDevice) = try mountIDAndDevice(of: odd)
        let oddInfo = try #require(table.info(mountID: secondID, device: secondDevice, pid: ourPid, foreignNamespace: false))
        #expect(oddInfo.mountPoint == Array(odd.utf8))
        #expect(oddInfo.fsType == "tmpfs")
    }

    @Test func anotherMountNamespacesMount() throws {
        let scratch = try makeTemporaryDirectory("fsprobe-mountns")
        defer { removeTree(scratch) }
        let target = scratch + "/private mount"
        #expect(mkdir(target, 0o755) == 0)
        let table = MountTable()

        let child = try NamespaceChild(mountingTmpfsAt: target)
        defer { child.finish() }
        // /proc/PID/root enters the child's namespace: this is its mount.
        let (id, device) = try mountIDAndDevice(of: "/proc/\(child.pid)/root" + target)
        let (hostID, _) = try mountIDAndDevice(of: target)
        #expect(id != hostID, "the child's tmpfs is not ours")

        let info = try #require(table.info(mountID: id, device: device, pid: UInt32(child.pid), foreignNamespace: true))
        #expect(info.mountPoint == Array(target.utf8))
        #expect(info.fsType == "tmpfs")
        #expect(info.device == device)
        #expect(table.info(mountID: id, device: device, pid: UInt32(getpid()), foreignNamespace: false) == nil,
                "listed only in the child's namespace's table")

        let pid = child.pid
        child.finish()
        #expect(MountTable().info(mountID: id, device: device, pid: UInt32(pid), foreignNamespace: true) == nil,
                "the process has exited")
    }
}

// MARK: - Helpers

private struct MountTableTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ what: String, errno code: Int32 = errno) {
        description = "\(what): \(String(cString: strerror(code)))"
    }
}


/// rm -r, not crossing into mounts that are still there (those fail).
private func removeTree(_ path: String) {
    if let directory = opendir(path) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard name != ".", name != ".." else { continue }
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { removeTree(child) } else { unlink(child) }
        }
        closedir(directory)
    }
    rmdir(path)
}

private func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw MountTableTestFailure("open \(path)") }
    defer { close(fd) }
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
        throw MountTableTestFailure("write \(path)")
    }
}

/// The kernel's mount id (from /proc/self/fdinfo, not mountinfo) and device
/// (stat's st_dev in the kernel's encoding) of the mount `path` is on.
private func mountIDAndDevice(of path: String) throws -> (id: UInt32, device: UInt32) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw MountTableTestFailure("open \(path)") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw MountTableTestFailure("fstat \(path)") }
    let dev = UInt64(info.st_dev)
    // glibc's dev_t encoding (gnu_dev_major/minor), then the kernel's.
    let major = UInt32(truncatingIfNeeded: (dev >> 8) & 0xfff | (dev >> 32) & ~0xfff)
    let minor = UInt32(truncatingIfNeeded: dev & 0xff | (dev >> 12) & ~0xff)
    let fdinfo = try readText("/proc/self/fdinfo/\(fd)")
    guard let line = fdinfo.split(separator: "\n").first(where: { $0.hasPrefix("mnt_id:") }),
          let id = UInt32(line.dropFirst("mnt_id:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" }))
    else { throw MountTableTestFailure("no mnt_id in fdinfo: \(fdinfo)", errno: 0) }
    return (id, major << 20 | minor)
}

private func readText(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw MountTableTestFailure("open \(path)") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count >= 0 else { throw MountTableTestFailure("read \(path)") }
        if count == 0 { break }
        bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A tmpfs mounted on a directory until `unmount` (which may come twice).
private final class Mounted {
    let path: String
    private var mounted = true

    init(tmpfsAt path: String) throws {
        self.path = path
        guard mount("tmpfs", path, "tmpfs", 0, "size=1m") == 0 else { throw MountTableTestFailure("mount tmpfs on \(path)") }
    }

    func unmount() {
        guard mounted else { return }
        mounted = false
        _ = umount2(path, Int32(MNT_DETACH))
    }
}

/// A forked child in a new mount namespace with a private tmpfs, alive
/// until `finish`. The child only makes system calls: it is a copy of a
/// multithreaded process.
private final class NamespaceChild {
    let pid: pid_t
    private let release: Int32
    private var finished = false

    init(mountingTmpfsAt target: String) throws {
        let path = strdup(target)!
        defer { free(path) }
        var ready: [Int32] = [-1, -1], go: [Int32] = [-1, -1]
        guard pipe(&ready) == 0 else { throw MountTableTestFailure("pipe") }
        guard pipe(&go) == 0 else { throw MountTableTestFailure("pipe") }
        for fd in ready + go { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let readyRead = ready[0], readyWrite = ready[1], goRead = go[0], goWrite = go[1]

        _ = unshareFunction  // resolved now: a lazy global's first use may lock or allocate
        let pid = fork()
        if pid == 0 {
            var step: UInt8 = 0
            if unshareMountNamespace() != 0 {
                step = 1
            } else if mount("none", "/", nil, UInt(MS_REC | MS_PRIVATE), nil) != 0 {
                step = 2
            } else if mount("tmpfs", path, "tmpfs", 0, "size=1m") != 0 {
                step = 3
            }
            _ = write(readyWrite, &step, 1)
            var byte: UInt8 = 0
            _ = read(goRead, &byte, 1)
            _exit(0)
        }
        close(readyWrite)
        close(goRead)
        defer { close(readyRead) }
        guard pid > 0 else {
            close(goWrite)
            throw MountTableTestFailure("fork")
        }
        self.pid = pid
        self.release = goWrite
        var step: UInt8 = 255
        let count = read(readyRead, &step, 1)
        guard count == 1, step == 0 else {
            finish()
            throw MountTableTestFailure("child failed at step \(count == 1 ? step : 255) (1 unshare, 2 make / private, 3 mount)", errno: 0)
        }
    }

    /// Lets the child exit, and reaps it.
    func finish() {
        guard !finished else { return }
        finished = true
        var byte: UInt8 = 1
        _ = write(release, &byte, 1)
        close(release)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}

/// unshare(CLONE_NEWNS): Glibc's Swift overlay leaves out GNU extensions.
private typealias Unshare = @convention(c) (Int32) -> Int32
private let unshareFunction: Unshare? = {
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "unshare").map { unsafeBitCast($0, to: Unshare.self) }
}()
private let cloneNewNS: Int32 = 0x0002_0000  // CLONE_NEWNS, from linux/sched.h

private func unshareMountNamespace() -> Int32 { unshareFunction?(cloneNewNS) ?? -1 }
