import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

/// Paths seen from somewhere else than fsprobe's root: a process in a
/// chroot, in a private mount namespace, in a container made with
/// pivot_root. The reported path is the host's view where the host can see
/// the object, flagged as another mount namespace's view where it cannot;
/// the process's own view comes with it. Run for each resolution mode, with
/// the caches warmed on the directories the processes then use.
final class PathViewTests: XCTestCase {
    func testPerfBuffer() throws { try runViews(.perfBuffer) }
    func testFragments() throws { try runViews(.fragments) }
    func testSingleFragment() throws { try runViews(.singleFragment) }

    private func runViews(_ mode: ResolutionMode) throws {
        try requireRoot()
        try chrootAndPrivateNamespace(mode)
        try pivotedRoot(mode)
    }

    /// What one reported path must be.
    private struct Expected {
        var type: EventType
        var path: String
        var processPath: String?
        var target: (path: String, processPath: String)?
        var foreign = false
    }

    private func chrootAndPrivateNamespace(_ mode: ResolutionMode) throws {
        let scratch = try Scratch("PathView\(mode.rawValue)")
        defer { scratch.remove() }
        let w = scratch.path
        for directory in ["jail/etc", "ns"] {
            try FileManager.default.createDirectory(atPath: scratch.url(directory), withIntermediateDirectories: true)
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: scratch.url("jail/etc/warm"), contents: nil))
        XCTAssertTrue(FileManager.default.createFile(atPath: scratch.url("plain"), contents: nil))
        let recorder = try EventRecorder(paths: [w], events: [.open, .mkdir, .rename, .unlink, .rmdir]) { $0.resolutionMode = mode }
        defer { try? recorder.stop() }

        // Cache jail and jail/etc, and check fsprobe's own view on the way.
        for round in 0..<3 {
            let from = recorder.count
            XCTAssertGreaterThanOrEqual(touch(scratch.url("jail/etc/warm")), 0)
            let own = recorder.firstEvent(from: from, timeout: 10) { $0.pid == UInt32(getpid()) && $0.type == .open }
            XCTAssertEqual(own?.event.source.string, scratch.url("jail/etc/warm"), "round \(round)")
            XCTAssertEqual(own?.event.source.processPath, scratch.url("jail/etc/warm"), "our root is /")
            XCTAssertEqual(own?.event.source.resolution.contains(.foreignMountNamespace), false)
        }

        // A chroot into a directory the caches hold: the host path, and the
        // jail's view below it.
        let jail = strdup(scratch.url("jail"))!
        defer { free(jail) }
        let chrooted = try runChild { () -> Int32 in
            guard chroot(jail) == 0, chdir("/") == 0 else { return 10 }
            let fd = open("/etc/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return 11 }
            close(fd)
            guard mkdir("/d", 0o755) == 0, rename("/etc/f", "/d/g") == 0, unlink("/d/g") == 0,
                  rmdir("/d") == 0 else { return 12 }
            return 0
        }
        check(recorder, pid: chrooted, what: "chroot", [
            Expected(type: .open, path: "\(w)/jail/etc/f", processPath: "/etc/f"),
            Expected(type: .mkdir, path: "\(w)/jail/d", processPath: "/d"),
            Expected(type: .rename, path: "\(w)/jail/etc/f", processPath: "/etc/f",
                     target: ("\(w)/jail/d/g", "/d/g")),
            Expected(type: .unlink, path: "\(w)/jail/d/g", processPath: "/d/g"),
            Expected(type: .rmdir, path: "\(w)/jail/d", processPath: "/d"),
        ])

        // A private mount namespace with a tmpfs only it has: same names,
        // but seen from another namespace's root, and flagged so.
        let ns = strdup(scratch.url("ns"))!, inNamespace = strdup(scratch.url("ns/f"))!, plain = strdup(scratch.url("plain"))!
        defer { for text in [ns, inNamespace, plain] { free(text) } }
        let unshared = try runChild { () -> Int32 in
            guard unshareMountNamespace() == 0, mount("none", "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0,
                  mount("tmpfs", ns, "tmpfs", 0, "size=1m") == 0 else { return 20 }
            let fd = open(inNamespace, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return 21 }
            close(fd)
            let again = open(plain, O_RDONLY | O_CLOEXEC)
            guard again >= 0 else { return 22 }
            close(again)
            return 0
        }
        check(recorder, pid: unshared, what: "private mount namespace", [
            Expected(type: .open, path: "\(w)/ns/f", processPath: "\(w)/ns/f", foreign: true),
            Expected(type: .open, path: "\(w)/plain", processPath: "\(w)/plain", foreign: true),
        ])
    }

    /// A container's root: a tmpfs made the root with pivot_root in a new
    /// mount namespace, its old root detached (or, over an initramfs, which
    /// pivot_root refuses, moved onto "/" and chrooted into). Nothing above the tmpfs is
    /// reachable, so the path is the container's "/f", flagged as another
    /// namespace's, never a host path made up for it. No watch can name the
    /// container's files from the host, so this load does not filter paths.
    private func pivotedRoot(_ mode: ResolutionMode) throws {
        let scratch = try Scratch("PathViewPivot\(mode.rawValue)")
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.url("ctr"), withIntermediateDirectories: true)
        let recorder = try EventRecorder(paths: [], events: [.open, .mkdir]) {
            $0.resolutionMode = mode
            $0.pathsFiltering = false
        }
        defer { try? recorder.stop() }
        let ctr = strdup(scratch.url("ctr"))!
        defer { free(ctr) }
        let contained = try runChild { () -> Int32 in
            guard unshareMountNamespace() == 0, mount("none", "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0,
                  mount("tmpfs", ctr, "tmpfs", 0, "size=1m") == 0, chdir(ctr) == 0,
                  mkdir("old", 0o755) == 0 else { return 30 }
            if pivotRoot(".", "old") == 0 {
                guard chdir("/") == 0, umount2("/old", Int32(MNT_DETACH)) == 0 else { return 31 }
            } else {
                // The root is an initramfs, which pivot_root refuses: move
                // the new root over it and chroot, as runtimes do there.
                guard errno == EINVAL, mount(".", "/", nil, UInt(MS_MOVE), nil) == 0, chroot(".") == 0,
                      chdir("/") == 0 else { return 32 }
            }
            guard mkdir("/etc", 0o755) == 0 else { return 33 }
            for _ in 0..<3 {  // the second and third walks may stop at a cached /etc
                let fd = open("/etc/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
                guard fd >= 0 else { return 34 }
                close(fd)
            }
            return 0
        }
        let opens = Expected(type: .open, path: "/etc/f", processPath: "/etc/f", foreign: true)
        let w = scratch.path
        check(recorder, pid: contained, what: "pivot_root container", [
            // Before pivot_root: the host's names, from the new namespace.
            Expected(type: .mkdir, path: "\(w)/ctr/old", processPath: "\(w)/ctr/old", foreign: true),
            Expected(type: .mkdir, path: "/etc", processPath: "/etc", foreign: true),
            opens, opens, opens,
        ])
    }

    /// Compares the child's events of these types, in order, with `expected`.
    private func check(_ recorder: EventRecorder, pid: pid_t, what: String, _ expected: [Expected],
                       file: StaticString = #filePath, line: UInt = #line) {
        let types = Set(expected.map(\.type))
        // The child's last operation is the last expected event: once it is
        // in, every earlier one is (one thread, ordered ring buffer).
        var remaining = expected.count
        guard let last = recorder.firstEvent(from: 0, timeout: 30, where: { event in
            guard event.pid == UInt32(pid), types.contains(event.type) else { return false }
            remaining -= 1
            return remaining == 0
        }) else {
            XCTFail("\(what): \(expected.count) events expected from pid \(pid), got: \(recorder.recorded.filter { $0.pid == UInt32(pid) }.map(EventRecorder.describe))", file: file, line: line)
            return
        }
        let events = recorder.events(in: 0..<(last.index + 1)).filter { $0.pid == UInt32(pid) && types.contains($0.type) }
        for (event, expectation) in zip(events, expected) {
            let label = "\(what): \(expectation.type.name) \(expectation.path)"
            XCTAssertEqual(event.type, expectation.type, label, file: file, line: line)
            XCTAssertEqual(event.source.string, expectation.path, label, file: file, line: line)
            XCTAssertEqual(event.source.processPath, expectation.processPath, "\(label): process view", file: file, line: line)
            XCTAssertEqual(event.source.resolution.contains(.foreignMountNamespace), expectation.foreign,
                           "\(label): flagged as another namespace's", file: file, line: line)
            XCTAssertTrue(event.source.resolution.isDisjoint(with: [.truncated, .unresolved, .detached]),
                          "\(label): \(event.source.resolution)", file: file, line: line)
            if let target = expectation.target {
                XCTAssertEqual(event.target?.string, target.path, "\(label): target", file: file, line: line)
                XCTAssertEqual(event.target?.processPath, target.processPath, "\(label): target's process view", file: file, line: line)
            }
        }
    }
}

/// pivot_root(2), through syscall(2): glibc has no wrapper, and Swift
/// cannot call the variadic syscall() directly.
private typealias Syscall2 = @convention(c) (Int, UnsafePointer<CChar>, UnsafePointer<CChar>) -> Int
private let syscallFunction: Syscall2? = {
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syscall").map { unsafeBitCast($0, to: Syscall2.self) }
}()
private let sysPivotRoot = 155  // x86_64

private func pivotRoot(_ newRoot: UnsafePointer<CChar>, _ putOld: UnsafePointer<CChar>) -> Int32 {
    Int32(syscallFunction?(sysPivotRoot, newRoot, putOld) ?? -1)
}
