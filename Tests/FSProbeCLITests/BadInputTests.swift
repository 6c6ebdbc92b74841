import Foundation
import FSProbeTestSupport
import XCTest

/// Every bad input gives one line on stderr naming the culprit, and a non-zero exit.
final class BadInputTests: XCTestCase {
    func testMissingWatchedPath() throws {
        try assertOneLineError(["/nonexistent/fsprobe-path"], mentions: ["/nonexistent/fsprobe-path", "No such file"])
    }

    func testUnknownEvent() throws {
        try assertOneLineError(["/tmp", "-e", "opne"], mentions: ["opne", "one of the following: open, mkdir", "modify, all"])
    }

    func testUnknownFormat() throws {
        try assertOneLineError(["/tmp", "--format", "xml"], mentions: ["xml", "table", "json"])
    }

    func testUnknownResolutionMode() throws {
        try assertOneLineError(["/tmp", "--dentry-resolution-mode", "magic"], mentions: ["magic", "perf_buffer"])
    }

    func testCacheSizesOutOfRange() throws {
        try assertOneLineError(["/tmp", "--kernel-cache-size", "0"], mentions: ["--kernel-cache-size", "0", "1048576"])
        try assertOneLineError(["/tmp", "--dentry-resolution-mode", "single_fragment", "--kernel-cache-size", "100000"],
                               mentions: ["--kernel-cache-size", "100000", "65536", "single_fragment"])
        try assertOneLineError(["/tmp", "--path-cache-size", "0"], mentions: ["--path-cache-size", "0", "1048576"])
    }

    func testZeroChannelSize() throws {
        try assertOneLineError(["/tmp", "--chan-size", "0"], mentions: ["--chan-size", "0", "1 to 16777216"])
    }

    func testRingBufferSizeNotAPowerOfTwo() throws {
        try assertOneLineError(["/tmp", "--perf-buffer-size", "100"], mentions: ["--perf-buffer-size", "100", "power of two"])
    }

    func testBadBooleanValue() throws {
        try assertOneLineError(["/tmp", "--follow=maybe"], mentions: ["follow"])
    }

    func testUnwritableOutput() throws {
        try assertOneLineError(["/tmp", "-o", "/nonexistent-dir/events.json"], mentions: ["/nonexistent-dir/events.json"])
    }

    /// A backend kernel-info calls unavailable, when forced, fails with its
    /// reason and no fallback; where every backend runs, forcing one runs it.
    func testForcedBackendRunsOrSaysWhyNot() throws {
        guard geteuid() == 0 else { throw NotRoot() }
        let info = try FSProbeProcess.run(["kernel-info"])
        var unavailable = 0
        for backend in ["fentry", "kprobe", "tracepoint"] {
            let marker = "backend \(backend): unavailable: "
            if let line = info.stdout.split(separator: "\n").first(where: { $0.hasPrefix(marker) }) {
                unavailable += 1
                try assertOneLineError(["/tmp", "--backend", backend], mentions: [backend, String(line.dropFirst(marker.count))])
            } else {
                let probe = try FSProbeProcess(["/tmp", "--backend", backend, "-e", "open"])
                probe.waitUntilReady()
                XCTAssertTrue(probe.errors.contains("fsprobe: ready: backend \(backend);"), probe.errors)
                XCTAssertEqual(probe.terminate(), 0)
            }
        }
        XCTAssertLessThan(unavailable, 3, "tracepoint runs on every test machine: \(info.stdout)")
    }

    func testWithoutPrivileges() throws {
        try assertOneLineError(["/tmp"], mentions: ["root"],
                               prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
    }

    func testKernelWithoutBTF() throws {
        try assertOneLineError(["/tmp"], mentions: ["BTF", "CONFIG_DEBUG_INFO_BTF"],
                               environment: ["FSPROBE_KERNEL_BTF": "/nonexistent/vmlinux"])
    }

    func testNoPathWithFilteringOn() throws {
        try assertOneLineError([], mentions: ["path", "--paths-filtering=false"])
    }

    func testHelpExitsZero() throws {
        let result = try FSProbeProcess.run(["--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("--dentry-resolution-mode"))
        XCTAssertTrue(result.stdout.contains("--chan-size"))
    }
}
