import Foundation
import FSProbeTestSupport
import XCTest

/// `fsprobe kernel-info` reports what this kernel runs, by really loading the backends.
final class KernelInfoTests: XCTestCase {
    func testReportsTheRunningKernelAndAWorkingBackend() throws {
        guard geteuid() == 0 else { throw NotRoot() }
        let result = try FSProbeProcess.run(["kernel-info"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(result.stdout.contains("kernel: \(release)\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("BTF: yes"), result.stdout)
        // Every kernel the tests run on has BTF and syscall tracepoints.
        XCTAssertTrue(result.stdout.contains("backend tracepoint: loads and attaches"), result.stdout)
        // Each backend in auto's order, loading or saying why not; auto takes the first that loads.
        var firstWorking: String?
        for backend in ["fentry", "kprobe", "tracepoint"] {
            let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("backend \(backend): ") }.map(String.init)
            let status = try XCTUnwrap(line, "no line for \(backend): \(result.stdout)")
            if status == "backend \(backend): loads and attaches" {
                firstWorking = firstWorking ?? backend
            } else {
                XCTAssertTrue(status.hasPrefix("backend \(backend): unavailable: ") && status.count > "backend \(backend): unavailable: ".count, status)
            }
        }
        XCTAssertTrue(result.stdout.hasSuffix("--backend auto: \(firstWorking ?? "?")\n"), result.stdout)
        if access("/sys/bus/event_source/devices/kprobe", F_OK) != 0 {
            XCTAssertTrue(result.stdout.contains("backend kprobe: unavailable: the kernel has no kprobes"), result.stdout)
        }
        // Tracing and kprobe programs may use task storage from 5.12, and
        // the fentry and kprobe backends keep an open's entry state there
        // when they may: the probe must tell 5.10 from 6.x.
        let version = release.split { !$0.isNumber }.prefix(2).compactMap { Int($0) }
        let taskStorage = version.lexicographicallyPrecedes([5, 12]) ? "no" : "yes"
        XCTAssertTrue(result.stdout.contains("task storage in tracing programs: \(taskStorage) — "), "\(version): \(result.stdout)")
    }

    /// `--backend auto` takes the backend kernel-info names, and its ready
    /// line gives the reason for each backend it passed over.
    func testAutoNamesItsChoiceAndWhyItSkippedTheOthers() throws {
        guard geteuid() == 0 else { throw NotRoot() }
        let info = try FSProbeProcess.run(["kernel-info"])
        let choice = try XCTUnwrap(info.stdout.split(separator: "\n").last.map { $0.replacingOccurrences(of: "--backend auto: ", with: "") })
        let probe = try FSProbeProcess(["/tmp", "--backend", "auto", "-e", "open"])
        probe.waitUntilReady()
        XCTAssertEqual(probe.terminate(), 0)
        let ready = try XCTUnwrap(probe.errors.split(separator: "\n").first { $0.hasPrefix("fsprobe: ready: ") })
        XCTAssertTrue(ready.hasPrefix("fsprobe: ready: backend \(choice)"), "\(ready) vs \(info.stdout)")
        for backend in ["fentry", "kprobe", "tracepoint"] {
            if backend == choice { break }
            let marker = "backend \(backend): unavailable: "
            let reason = try XCTUnwrap(info.stdout.split(separator: "\n").first { $0.hasPrefix(marker) }).dropFirst(marker.count)
            XCTAssertTrue(ready.contains("\(backend): \(reason)"), "\(ready) lacks the reason for \(backend)")
        }
    }

    func testSaysWhyNothingRunsWithoutBTF() throws {
        guard geteuid() == 0 else { throw NotRoot() }
        let result = try FSProbeProcess.run(["kernel-info"], environment: ["FSPROBE_KERNEL_BTF": "/nonexistent/btf"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdout.contains("BTF: no"), result.stdout)
        XCTAssertTrue(result.stdout.contains("backend tracepoint: unavailable: this kernel exposes no BTF"), result.stdout)
        XCTAssertTrue(result.stdout.contains("--backend auto: no backend can run on this kernel"), result.stdout)
        XCTAssertEqual(result.stderr, "")
    }
}
