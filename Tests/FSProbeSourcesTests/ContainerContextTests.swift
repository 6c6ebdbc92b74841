#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import FSProbeCore
@testable import FSProbeSources
import Testing

/// Container ids read from cgroup paths, and cgroup ids turned into paths
/// by the kernel.
@Suite struct ContainerContextTests {
    static let hex = String(repeating: "0123456789abcdef", count: 4)
    static let otherHex = String(repeating: "fedcba9876543210", count: 4)

    struct ParseCase: CustomTestStringConvertible, Sendable {
        var path: [UInt8]
        var expected: (runtime: ContainerRuntime, id: String)?
        var testDescription: String { String(decoding: path, as: UTF8.self).debugDescription }

        init(_ path: String, _ runtime: ContainerRuntime? = nil, _ id: String = ContainerContextTests.hex) {
            self.init(bytes: Array(path.utf8), runtime, id)
        }

        init(bytes: [UInt8], _ runtime: ContainerRuntime? = nil, _ id: String = ContainerContextTests.hex) {
            path = bytes
            expected = runtime.map { ($0, id) }
        }
    }

    static let pod = "kubepods-besteffort-pod3f2b9a1c_5d4e_4f60_8a7b_9c0d1e2f3a4b.slice"
    static let recognised: [ParseCase] = [
        // docker, systemd and cgroupfs drivers, nested, innermost first
        ParseCase("/system.slice/docker-\(hex).scope", .docker),
        ParseCase("/docker/\(hex)", .docker),
        ParseCase("/docker/\(hex)/", .docker),
        ParseCase("/docker/\(hex)/init/child", .docker),
        ParseCase("/docker/\(otherHex)/docker/\(hex)", .docker),
        ParseCase("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-\(hex).scope", .docker),
        // containerd (CRI)
        ParseCase("/kubepods.slice/kubepods-besteffort.slice/\(pod)/cri-containerd-\(hex).scope", .containerd),
        ParseCase("/kubepods/besteffort/pod3f2b9a1c-5d4e-4f60-8a7b-9c0d1e2f3a4b/\(hex)", .containerd),
        ParseCase("/kubepods/pod3f2b9a1c-5d4e-4f60-8a7b-9c0d1e2f3a4b/\(hex)", .containerd),
        ParseCase("/system.slice/containerd.service/\(pod):cri-containerd:\(hex)", .containerd),
        // a kind node: a kubelet's container inside a docker container
        ParseCase("/docker/\(otherHex)/kubepods/burstable/pod1234/\(hex)", .containerd),
        // CRI-O
        ParseCase("/kubepods.slice/kubepods-burstable.slice/\(pod)/crio-\(hex).scope", .crio),
        ParseCase("/kubepods/burstable/pod3f2b9a1c-5d4e-4f60-8a7b-9c0d1e2f3a4b/crio-\(hex)", .crio),
        // podman, root and rootless, its /container child, its cgroupfs parent
        ParseCase("/machine.slice/libpod-\(hex).scope", .podman),
        ParseCase("/machine.slice/libpod-\(hex).scope/container", .podman),
        ParseCase("/libpod_parent/libpod-\(hex)", .podman),
        ParseCase("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(hex).scope", .podman),
        // a monitor is not its container, but may be in an outer one
        ParseCase("/docker/\(otherHex)/libpod-conmon-\(hex).scope", .docker, otherHex),
        // systemd-nspawn, as a service and as machined's scope
        ParseCase("/machine.slice/systemd-nspawn@web.service", .nspawn, "web"),
        ParseCase(#"/machine.slice/systemd-nspawn@debian\x2dtest.service"#, .nspawn, "debian-test"),
        ParseCase("/machine.slice/systemd-nspawn@web.service/payload/system.slice/nginx.service", .nspawn, "web"),
        ParseCase(#"/machine.slice/machine-my\x2dbox.v2_a.scope"#, .nspawn, "my-box.v2_a"),
        ParseCase("/machine.slice/machine-\(String(repeating: "m", count: 64)).scope", .nspawn,
                  String(repeating: "m", count: 64)),
        // a container in a machine is the container
        ParseCase("/machine.slice/systemd-nspawn@web.service/payload/system.slice/docker-\(hex).scope", .docker),
    ]

    static let hostile: [UInt8] = [0xff, 0xfe]
    static let rejected: [ParseCase] = [
        // the host
        ParseCase("/"), ParseCase(""), ParseCase("/init.scope"), ParseCase("/system.slice/ssh.service"),
        ParseCase("/user.slice/user-1000.slice/session-3.scope"), ParseCase("/system.slice/docker.service"),
        ParseCase("/system.slice/containerd.service"),
        // monitors
        ParseCase("/machine.slice/libpod-conmon-\(hex).scope"),
        ParseCase("/kubepods.slice/kubepods-burstable.slice/\(pod)/crio-conmon-\(hex).scope"),
        // lengths and case
        ParseCase("/system.slice/docker-\(hex.dropLast()).scope"),
        ParseCase("/system.slice/docker-\(hex)0.scope"),
        ParseCase("/docker/\(hex.dropLast())"),
        ParseCase("/docker/\(hex)a"),
        ParseCase("/system.slice/docker-\(hex.uppercased()).scope"),
        ParseCase("/docker/\(hex.uppercased())"),
        ParseCase("/system.slice/containerd.service/\(pod):cri-containerd:\(hex.dropLast())"),
        // ids where nothing says a runtime made them
        ParseCase("/\(hex)"), ParseCase("/system.slice/\(hex)"),
        ParseCase("/system.slice/containerd.service/\(pod):evil:\(hex)"),
        ParseCase("/system.slice/docker-\(hex).service"),
        // newlines and other bytes that are no id's
        ParseCase("/system.slice/docker-\(hex)\n.scope"),
        ParseCase("/system.slice/docker-\n\(hex.dropFirst()).scope"),
        ParseCase("/docker/\(hex.prefix(32))\n\(hex.suffix(31))"),
        ParseCase(bytes: Array("/system.slice/docker-\(hex.dropFirst(2))".utf8) + hostile + Array(".scope".utf8)),
        ParseCase(bytes: Array("/docker/".utf8) + hostile + Array(hex.dropFirst(2).utf8)),
        ParseCase(bytes: Array("/system.slice/docker-\(hex).scope".utf8) + hostile),
        // machine names: only their alphabet, escaped or not, and not too long
        ParseCase(bytes: Array("/machine.slice/machine-ab".utf8) + hostile + Array("cd.scope".utf8)),
        ParseCase(#"/machine.slice/machine-bad\x0aname.scope"#),
        ParseCase(#"/machine.slice/machine-bad\xffname.scope"#),
        ParseCase(#"/machine.slice/systemd-nspawn@a\xZZ.service"#),
        ParseCase(#"/machine.slice/systemd-nspawn@a\x2.service"#),
        ParseCase("/machine.slice/systemd-nspawn@a b.service"),
        ParseCase("/machine.slice/systemd-nspawn@.service"),
        ParseCase("/machine.slice/machine-\(String(repeating: "m", count: 65)).scope"),
        ParseCase(#"/machine.slice/machine-\#(String(repeating: #"\x2d"#, count: 65)).scope"#),
        // machine- alone, outside machine.slice, is just a word
        ParseCase("/user.slice/machine-foo.scope"),
    ]

    @Test(arguments: recognised + rejected)
    func parse(_ test: ParseCase) {
        let found = ContainerIdentity.parse(cgroupPath: test.path)
        #expect(found?.runtime == test.expected?.runtime)
        #expect(found?.id == test.expected?.id)
    }

    @Test func parseFromBufferAgreesWithArray() {
        let path = Array("/system.slice/docker-\(Self.hex).scope".utf8)
        let found = path.withUnsafeBufferPointer { ContainerIdentity.parse(cgroupPath: $0) }
        #expect(found?.runtime == .docker)
        #expect(found?.id == Self.hex)
    }

    // MARK: mount table

    @Test func cgroup2MountPointIsUnescapedAndPrefersTheWholeHierarchy() {
        let table = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            40 31 0:38 /kubepods /run/part rw,relatime shared:9 - cgroup2 cgroup2 rw
            41 31 0:38 / /sys/fs/cgroup/my\\040unified rw,relatime shared:9 master:2 - cgroup2 cgroup2 rw
            """
        let found = CgroupPathResolver.cgroup2MountPoint(inMountInfo: Array(table.utf8))
        #expect(found.map { String(decoding: $0, as: UTF8.self) } == "/sys/fs/cgroup/my unified")

        let partOnly = "40 31 0:38 /kubepods /run/part\\134x rw - cgroup2 cgroup2 rw\n"
        #expect(CgroupPathResolver.cgroup2MountPoint(inMountInfo: Array(partOnly.utf8)) == Array("/run/part\\x".utf8))

        let v1Only = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        #expect(CgroupPathResolver.cgroup2MountPoint(inMountInfo: Array(v1Only.utf8)) == nil)
    }

    @Test func withoutCgroup2TheResolverResolvesNothing() throws {
        let table = FileManager.default.temporaryDirectory.appendingPathComponent("fsprobe-mountinfo-\(UUID())")
        try "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
            .write(to: table, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: table) }
        let resolver = CgroupPathResolver(mountInfoPath: table.path)
        #expect(resolver.mountPoint == nil)
        #expect(resolver.info(forID: 0) == nil)
        #expect(resolver.info(forID: 1) == nil)
        #expect(resolver.misses == 0)

        let missing = CgroupPathResolver(mountInfoPath: "/nonexistent/mountinfo")
        #expect(missing.mountPoint == nil)
        #expect(missing.info(forID: 1) == nil)
    }

    @Test func pathsAreMadeRelativeToTheMount() {
        func below(_ mount: String, _ target: String) -> String? {
            CgroupPathResolver.pathBelow(mountPoint: Array(mount.utf8), target: Array(target.utf8))
                .map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(below("/sys/fs/cgroup", "/sys/fs/cgroup") == "/")
        #expect(below("/sys/fs/cgroup", "/sys/fs/cgroup/system.slice/a.service") == "/system.slice/a.service")
        #expect(below("/sys/fs/cgroup", "/sys/fs/cgroupx/a") == nil)
        #expect(below("/sys/fs/cgroup", "/elsewhere") == nil)
        #expect(below("/", "/a/b") == "/a/b")
    }

    // MARK: the kernel

    static var canResolve: Bool {
        getuid() == 0 && CgroupPathResolver().mountPoint != nil
    }

    @Test(.enabled(if: canResolve, "needs root and a cgroup2 mount"))
    func resolvesARealContainerCgroup() throws {
        let resolver = CgroupPathResolver()
        let mount = try #require(resolver.mountPoint.map { String(decoding: $0, as: UTF8.self) })
        let slice = "/fsprobe-test-\(UInt32.random(in: 0...UInt32.max)).slice"
        let scope = "\(slice)/docker-\(Self.hex).scope"
        try #require(mkdir(mount + slice, 0o755) == 0, "mkdir \(mount + slice): errno \(errno)")
        defer { rmdir(mount + slice) }
        try #require(mkdir(mount + scope, 0o755) == 0, "mkdir \(mount + scope): errno \(errno)")
        var removed = false
        defer { if !removed { rmdir(mount + scope) } }
        let id = try inode(mount + scope)

        let info = try #require(resolver.info(forID: id), "errno-disabled: \(String(describing: resolver.lookupsDisabledErrno))")
        #expect(info.id == id)
        #expect(String(decoding: info.path, as: UTF8.self) == scope)
        #expect(info.runtime == .docker)
        #expect(info.containerID == Self.hex)
        #expect(resolver.misses == 1 && resolver.hits == 0 && resolver.failures == 0)

        // A hit is the same shared instance.
        let again = try #require(resolver.info(forID: id))
        #expect(again === info)
        #expect(resolver.hits == 1 && resolver.misses == 1)

        // The parent: a cgroup that names no container.
        let parent = try #require(resolver.info(forID: try inode(mount + slice)))
        #expect(String(decoding: parent.path, as: UTF8.self) == slice)
        #expect(parent.containerID.isEmpty && parent.runtime == nil)

        #expect(rmdir(mount + scope) == 0)
        removed = true
        // Ids are not reused: what was learnt stays true of that id.
        #expect(resolver.info(forID: id) === info)

        // A resolver that never saw it finds nothing, once, until the retry.
        let clock = ManualClock()
        let fresh = CgroupPathResolver(capacity: 16, mountInfoPath: CgroupPathResolver.defaultMountInfoPath,
                                       retryAfterNanoseconds: 1_000, monotonicNow: { clock.now })
        #expect(fresh.info(forID: id) == nil)
        #expect(fresh.misses == 1 && fresh.failures == 1)
        #expect(fresh.info(forID: id) == nil)
        #expect(fresh.misses == 1 && fresh.failures == 1 && fresh.negativeHits == 1)
        clock.now += 1_000
        #expect(fresh.info(forID: id) == nil)
        #expect(fresh.misses == 2 && fresh.failures == 2)
        #expect(fresh.lookupsDisabledErrno == nil)
    }

    @Test(.enabled(if: canResolve, "needs root and a cgroup2 mount"))
    func resolvesOwnCgroupAndTheRoot() throws {
        let resolver = CgroupPathResolver()
        let mount = try #require(resolver.mountPoint.map { String(decoding: $0, as: UTF8.self) })
        let table = try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)
        let own = try #require(table.split(separator: "\n").first { $0.hasPrefix("0::") }?.dropFirst(3))
        let id = try inode(own == "/" ? mount : mount + own)

        let info = try #require(resolver.info(forID: id))
        #expect(String(decoding: info.path, as: UTF8.self) == String(own))
        #expect(info.id == id)

        let root = try #require(resolver.info(forID: try inode(mount)))
        #expect(root.path == Array("/".utf8))
        #expect(root.containerID.isEmpty && root.runtime == nil)

        let unknown = try #require(resolver.info(forID: 0))
        #expect(unknown.path == Array("/".utf8) && unknown.containerID.isEmpty)
    }

    /// The kernel marks a removed directory's link with " (deleted)"; a
    /// live cgroup named so is still found.
    @Test(.enabled(if: canResolve, "needs root and a cgroup2 mount"))
    func cgroupNamedLikeARemovedOneResolves() throws {
        let resolver = CgroupPathResolver()
        let mount = try #require(resolver.mountPoint.map { String(decoding: $0, as: UTF8.self) })
        let name = "/fsprobe-test-\(UInt32.random(in: 0...UInt32.max)) (deleted)"
        try #require(mkdir(mount + name, 0o755) == 0, "mkdir \(mount + name): errno \(errno)")
        defer { rmdir(mount + name) }
        let info = try #require(resolver.info(forID: try inode(mount + name)))
        #expect(String(decoding: info.path, as: UTF8.self) == name)
    }

    private func inode(_ path: String) throws -> UInt64 {
        var status = stat()
        try #require(stat(path, &status) == 0, "stat \(path): errno \(errno)")
        return UInt64(status.st_ino)
    }
}

/// A clock the test moves by hand.
private final class ManualClock: @unchecked Sendable {
    var now: UInt64 = 1_000_000
}
