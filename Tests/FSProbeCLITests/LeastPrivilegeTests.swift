import Foundation
import FSProbeTestSupport
import XCTest

/// fsprobe as a service runs it: not root, only the capabilities the README
/// lists (CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH; before Linux 5.11 also
/// CAP_SYS_RESOURCE, for RLIMIT_MEMLOCK; from 5.11 to 6.1 also
/// CAP_SYS_ADMIN, for libbpf's listing of the modules' BTF).
final class LeastPrivilegeTests: XCTestCase {
    /// `setpriv` running fsprobe as nobody, with `capabilities` kept across
    /// the change of user (ambient), and no other.
    static func asNobody(with capabilities: [String]) -> [String] {
        let list = capabilities.map { "+" + $0 }.joined(separator: ",")
        return ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            + (capabilities.isEmpty ? ["--inh-caps=-all"] : ["--inh-caps=-all,\(list)", "--ambient-caps=\(list)"])
    }

    static var documented: [String] {
        ["bpf", "perfmon", "dac_read_search"]
            + (kernelBefore(5, 11) ? ["sys_resource"] : kernelBefore(6, 2) ? ["sys_admin"] : [])
    }

    /// Whether the running kernel's release is below major.minor.
    static func kernelBefore(_ major: Int, _ minor: Int) -> Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split { !$0.isNumber }.prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return false }
        return (numbers[0], numbers[1]) < (major, minor)
    }

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw NotRoot() }
    }

    /// `--backend auto` takes the first backend these capabilities load
    /// (one that needs more is passed over, with its reason), and reports.
    func testTheDocumentedCapabilitiesAreEnoughWithAuto() throws {
        let dir = try makeScratch(name, prefix: "fsprobe-caps")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let probe = try FSProbeProcess([dir, "--backend", "auto", "-e", "open", "-f", "json"],
                                       prefix: Self.asNobody(with: Self.documented))
        probe.waitUntilReady()
        let file = "\(dir)/opened"
        let fd = open(file, O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        XCTAssertTrue(probe.stdoutArrives(containing: #""src_filename":"\#(file)""#), "stdout: \(String(decoding: probe.output, as: UTF8.self)); stderr: \(probe.errors)")
        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        XCTAssertFalse(probe.errors.contains("permission denied while"), probe.errors)
    }

    /// Without any capability, kernel-info cannot probe the ring buffer:
    /// it says so instead of "no".
    func testKernelInfoSaysUnknownWhenItCannotProbe() throws {
        let info = try FSProbeProcess.run(["kernel-info"], prefix: Self.asNobody(with: []))
        XCTAssertTrue(info.stdout.contains("BPF ring buffer: unknown — needs CAP_BPF (or root) to probe"), info.stdout)
        XCTAssertFalse(info.stdout.contains("BPF ring buffer: no"), info.stdout)
    }
}
