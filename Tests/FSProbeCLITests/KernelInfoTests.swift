import Foundation
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
        XCTAssertTrue(result.stdout.contains("backend tracepoint: loads and attaches"), result.stdout)
        XCTAssertTrue(result.stdout.contains("backend fentry: unavailable: "), "every backend is listed with a reason")
        XCTAssertTrue(result.stdout.hasSuffix("--backend auto: tracepoint\n"), result.stdout)
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
