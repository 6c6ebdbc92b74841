import Foundation
import FSProbeTestSupport
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
            "\(file):2:21: unknown option 'pathz' for kernel: expected paths, events, recursive, follow, paths_filtering, ring_buffer_pages, backend, dentry_resolution_mode, kernel_cache_size, path_cache_size, host",
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

    /// A graph shows the file's shape: it needs none of the variables a
    /// deployment sets.
    /// `--environment` starts what the file declares: a database in a
    /// directory that does not exist passes the static check, not this one.
    func testValidateEnvironmentStartsEveryComponentAndNamesTheOneThatFails() throws {
        let sourceOptions = FSProbeProcess.kernelSourceTestOptions
        let good = try write("""
            sources:
              files: {type: kernel, paths: [\(dir!)]\(sourceOptions)}
            sinks:
              archive: {type: sqlite, inputs: [files], path: \(dir!)/events.db}
            """)
        let started = try FSProbeProcess.run(["pipeline", "validate", "--environment", good])
        XCTAssertEqual(started.status, 0, started.stderr)
        XCTAssertTrue(started.stdout.contains("\(good): source files: starts: backend "), started.stdout)
        XCTAssertTrue(started.stdout.contains("\(good): sink archive: opens and closes"), started.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir!)/events.db"))

        let bad = try write(try String(contentsOfFile: good, encoding: .utf8).replacingOccurrences(of: "\(dir!)/events.db", with: "\(dir!)/missing/events.db"))
        XCTAssertEqual(try FSProbeProcess.run(["pipeline", "validate", bad]).status, 0)
        let refused = try FSProbeProcess.run(["pipeline", "validate", "--environment", bad])
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.hasPrefix("\(bad):4:3: cannot start 'archive' (sqlite): "), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(dir!)/missing/events.db"), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
    }

    func testGraphNeedsNoVariable() throws {
        let file = try write("sources:\n  k: {type: kernel, paths: [/etc]}\nsinks:\n  s: {type: kafka, inputs: [k], brokers: \"${FSPROBE_TEST_UNSET_BROKERS}\", topic: t}\n")
        let graph = try FSProbeProcess.run(["pipeline", "graph", "--format", "mermaid", file])
        XCTAssertEqual(graph.status, 0, graph.stderr)
        XCTAssertEqual(graph.stdout, "flowchart LR\n  c0[\"k (kernel)\"]\n  c1[\"s (kafka)\"]\n  c0 --> c1\n")
        let valid = try FSProbeProcess.run(["pipeline", "validate", file])
        XCTAssertEqual(valid.status, 1, "validating needs the variables")
        XCTAssertTrue(valid.stderr.contains("FSPROBE_TEST_UNSET_BROKERS is not set"), valid.stderr)
    }

    func testUnreadableFileIsOneLine() throws {
        let result = try FSProbeProcess.run(["pipeline", "validate", "\(dir!)/missing.yaml"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "fsprobe: cannot read pipeline file \(dir!)/missing.yaml: No such file or directory\n")
    }

    func testComponentsListsEveryTypeWithItsOptions() throws {
        let result = try FSProbeProcess.run(["components"])
        XCTAssertEqual(result.status, 0)
        for line in ["sources:", "  kernel — file-system events from the kernel (eBPF)", "transforms:", "  filter — keeps the events matching every given condition (a list: any of its items); exclude: true drops them instead",
                     "sinks:", "    path (required): string — the file to write"] {
            XCTAssertTrue(result.stdout.contains(line + "\n"), "missing '\(line)' in \(result.stdout)")
        }
    }

    func testPipelineTestRunsInjectedEventsThroughTheRealTransformsAndReportsMismatches() throws {
        let file = try write("""
            sources:
              files: {type: kernel, paths: [/srv]}
            transforms:
              writes: {type: filter, inputs: [files], event_types: [modify, unlink]}
            sinks:
              out: {type: stdout, inputs: [writes]}
            tests:
              - name: writes pass
                inject:
                  files:
                    - {event_type: open, src_filename: /srv/a}
                    - {event_type: modify, src_filename: /srv/b, uid: 7}
                expect:
                  out:
                    - {event_type: modify, src_filename: /srv/b, uid: 7}
              - name: "wrong on purpose\\n"
                inject:
                  files:
                    - {event_type: unlink, src_filename: /srv/c}
                expect:
                  out:
                    - {event_type: unlink, src_filename: /srv/d}
            """)
        let result = try FSProbeProcess.run(["pipeline", "test", file])
        XCTAssertEqual(result.status, 1, result.stderr)
        // The case's name holds a real newline (YAML "\\n"): it is shown escaped, on one line.
        XCTAssertEqual(result.stdout, """
            PASS writes pass
            FAIL wrong on purpose\\u{a}
              \(file):21:7: sink 'out' event 1: src_filename is /srv/c, expected /srv/d
            1 passed, 1 failed

            """)
    }

    func testPipelineTestRefusesCasesNamingUnknownComponents() throws {
        let file = try write("""
            sources:
              files: {type: kernel, paths: [/srv]}
            sinks:
              out: {type: stdout, inputs: [files]}
            tests:
              - name: typo
                inject:
                  fils: [{event_type: open}]
                expect:
                  out: {count: 1}
            """)
        let result = try FSProbeProcess.run(["pipeline", "test", file])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "\(file):8:7: 'fils' is not a source of this pipeline (known: files)\n")
    }
}
