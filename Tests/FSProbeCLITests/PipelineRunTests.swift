import Foundation
import FSProbeTestSupport
import XCTest

/// `fsprobe run FILE` and `fsprobe --pipeline FILE`: pipeline files running
/// against the kernel, as a user runs them.
final class PipelineRunTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = try makeScratch(name)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// The kernel source's options for the backend under test.
    var sourceOptions: String { FSProbeProcess.kernelSourceTestOptions }

    func write(_ yaml: String) throws -> String {
        let path = "\(dir!)/pipeline.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func lines(of path: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.split(separator: UInt8(ascii: "\n")).map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])
        }
    }

    /// A second, quiet source shows how several sources are reported: one
    /// ready line each, one sum per number on the stopped line.
    func testOneSourceFansOutToAnArchiveAndAFilteredFileAndSIGTERMDeliversEverything() throws {
        let watched = "\(dir!)/watched", quiet = "\(dir!)/quiet"
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: quiet, withIntermediateDirectories: false)
        let file = try write("""
            sources:
              files: {type: kernel, paths: [\(watched)], events: [open, mkdir, unlink]\(sourceOptions)}
              nothing: {type: kernel, paths: [\(quiet)], events: [mkdir]\(sourceOptions)}
            transforms:
              dirs: {type: filter, inputs: [files], event_types: [mkdir]}
            sinks:
              archive: {type: file, inputs: [files, nothing], path: \(dir!)/all.jsonl}
              directories: {type: file, inputs: [dirs], path: \(dir!)/dirs.jsonl, buffer_size: 16}
            """)
        let probe = try FSProbeProcess(["run", file])
        probe.waitForStderr(containing: "fsprobe: ready: source nothing: ")
        XCTAssertTrue(probe.errors.contains("fsprobe: ready: source files: backend "), probe.errors)
        // open(2) directly: FileManager may write a temporary file and rename it.
        let fd = open("\(watched)/f", O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        try FileManager.default.createDirectory(atPath: "\(watched)/d1", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: "\(watched)/d2", withIntermediateDirectories: false)
        try FileManager.default.removeItem(atPath: "\(watched)/f")
        XCTAssertEqual(probe.terminate(), 0, probe.errors)

        let all = try lines(of: "\(dir!)/all.jsonl")
        let dirs = try lines(of: "\(dir!)/dirs.jsonl")
        XCTAssertEqual(dirs.map { $0["event_type"] as? String }, ["mkdir", "mkdir"])
        XCTAssertEqual(dirs.map { $0["src_filename"] as? String }, ["\(watched)/d1", "\(watched)/d2"])
        // The archive has every event, the two mkdirs among them, in order.
        XCTAssertEqual(all.filter { $0["event_type"] as? String == "mkdir" }.map { $0["src_filename"] as? String },
                       ["\(watched)/d1", "\(watched)/d2"])
        XCTAssertTrue(all.contains { $0["event_type"] as? String == "unlink" && $0["src_filename"] as? String == "\(watched)/f" })
        XCTAssertTrue(all.contains { $0["event_type"] as? String == "open" && $0["src_filename"] as? String == "\(watched)/f" })
        for sink in ["all", "dirs"] {
            let mode = try FileManager.default.attributesOfItem(atPath: "\(dir!)/\(sink).jsonl")[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o600, sink)
        }
        // The closing stats account for each sink separately.
        let stats = try XCTUnwrap(probe.errors.split(separator: "\n").last { $0.hasPrefix("fsprobe: stats:") })
        XCTAssertTrue(stats.contains("received \(all.count);"), String(stats))
        XCTAssertTrue(stats.contains("dirs: filtered \(all.count - 2),"), String(stats))
        XCTAssertTrue(stats.contains("archive: delivered \(all.count), dropped buffer_full 0, dropped sink_error 0, queued 0"), String(stats))
        XCTAssertTrue(stats.contains("directories: delivered 2, dropped buffer_full 0, dropped sink_error 0, queued 0"), String(stats))
        let stopped = try XCTUnwrap(probe.errors.split(separator: "\n").last { $0.hasPrefix("fsprobe: stopped:") })
        XCTAssertTrue(stopped.hasPrefix("fsprobe: stopped: \(all.count) events received, \(all.count + 2) delivered, 0 lost"), String(stopped))
        for label in ["lost (kernel ring buffer full)", "truncated paths", "directory cache:", "hits", "discarders:", "followed:"] {
            XCTAssertEqual(stopped.components(separatedBy: label).count, 2, "'\(label)' once, summed over both sources: \(stopped)")
        }
    }

    func testABrokenFileIsRefusedBeforeAnythingStartsWithEveryProblemLocated() throws {
        let file = try write("""
            sources:
              files: {type: kernel, paths: [\(dir!)]}
            transforms:
              dirs: {type: filtre, inputs: [files]}
            sinks:
              archive: {type: file, inputs: [filez], path: \(dir!)/out.jsonl}
            """)
        let result = try FSProbeProcess.run(["run", file])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr.split(separator: "\n").map(String.init), [
            "\(file):4:3: transform 'dirs' feeds nothing: no transform or sink names it in its inputs",
            "\(file):4:16: unknown transform type 'filtre': expected one of filter, sample, fields",
            "\(file):6:34: input 'filez' of 'archive' is not a source or transform of this pipeline (known: dirs, files)",
        ])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir!)/out.jsonl"), "a sink was opened")

        let badIndent = try write("sources:\n  files:\n    type: kernel\n   paths: [/etc]\nsinks:\n  out: {type: stdout, inputs: [files]}\n")
        let syntax = try FSProbeProcess.run(["--pipeline", badIndent])
        XCTAssertEqual(syntax.status, 1)
        XCTAssertTrue(syntax.stderr.hasPrefix("\(badIndent):4:"), syntax.stderr)
        XCTAssertTrue(syntax.stderr.contains("YAML syntax"), syntax.stderr)
        XCTAssertFalse(syntax.stderr.contains("ready"), syntax.stderr)
    }

    func testAComponentThatCannotStartIsNamedAndNothingRuns() throws {
        let file = try write("""
            sources:
              files: {type: kernel, paths: [\(dir!)]\(sourceOptions)}
            sinks:
              archive: {type: file, inputs: [files], path: \(dir!)/missing/out.jsonl}
            """)
        let result = try FSProbeProcess.run(["run", file])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "\(file):4:3: cannot start 'archive' (file): cannot open output file '\(dir!)/missing/out.jsonl': No such file or directory\n")
    }

    func testPipelineFlagRefusesPathsBesideIt() throws {
        let result = try FSProbeProcess.run(["--pipeline", "\(dir!)/p.yaml", "/etc"])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr, "fsprobe: --pipeline runs the file's sources: remove the paths (/etc)\n")
    }
}
