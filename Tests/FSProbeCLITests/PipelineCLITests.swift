import Foundation
import XCTest

/// `fsprobe pipeline validate|graph` and `fsprobe components`, as a user runs them.
final class PipelineCLITests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = try makeScratch(name)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    func write(_ yaml: String) throws -> String {
        let path = "\(dir!)/pipeline.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testValidateReportsEveryProblemOnItsOwnLineAndFails() throws {
        let file = try write("sources:\n  k: {type: kernel, pathz: [/etc]}\nsinks:\n  s: {type: stdout, inputs: [k, ghost]}\n")
        let result = try FSProbeProcess.run(["pipeline", "validate", file])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(result.stderr.split(separator: "\n").map(String.init), [
            "\(file):2:21: unknown option 'pathz' for kernel: expected paths, events, recursive, follow, paths_filtering, backend",
            "\(file):4:33: input 'ghost' of 's' is not a source or transform of this pipeline (known: k)",
        ])
    }

    func testValidFileAndItsGraph() throws {
        let file = try write("sources:\n  k: {type: kernel, paths: [/etc]}\nsinks:\n  s: {type: stdout, inputs: [k], format: json}\n")
        let valid = try FSProbeProcess.run(["pipeline", "validate", file])
        XCTAssertEqual(valid.status, 0, valid.stderr)
        XCTAssertEqual(valid.stdout, "\(file): valid: 1 sources, 0 transforms, 1 sinks\n")
        let graph = try FSProbeProcess.run(["pipeline", "graph", "--format", "mermaid", file])
        XCTAssertEqual(graph.status, 0, graph.stderr)
        XCTAssertEqual(graph.stdout, "flowchart LR\n  c0[\"k (kernel)\"]\n  c1[\"s (stdout)\"]\n  c0 --> c1\n")
    }

    func testUnreadableFileIsOneLine() throws {
        let result = try FSProbeProcess.run(["pipeline", "validate", "\(dir!)/missing.yaml"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "fsprobe: cannot read pipeline file \(dir!)/missing.yaml: No such file or directory\n")
    }

    func testComponentsListsEveryTypeWithItsOptions() throws {
        let result = try FSProbeProcess.run(["components"])
        XCTAssertEqual(result.status, 0)
        for line in ["sources:", "  kernel — file-system events from the kernel (eBPF)", "transforms:", "  filter — keeps the events that match every given condition",
                     "sinks:", "    path (required): string — the file to write"] {
            XCTAssertTrue(result.stdout.contains(line + "\n"), "missing '\(line)' in \(result.stdout)")
        }
    }
}
