import Foundation
import FSProbeTestSupport
import XCTest

/// Every refused flag or value: one line naming the culprit and what is
/// accepted, exit status 2, and a name in a message never breaks its line.
/// Nothing here loads BPF: host only (HOST_ONLY in scripts/vm/per-backend.sh).
final class FlagErrorTests: XCTestCase {
    /// Bad flags are refused alike: one line, exit status 2, whatever checks them.
    func testEveryBadFlagExitsTwoWithOneLine() throws {
        let cases: [([String], [String])] = [
            (["/tmp", "-s", "-1"], ["--chan-size", "-1", "1 to 16777216"]),
            // Sizes that once passed, then crashed or allocated gigabytes up front.
            (["/tmp", "-s", "4611686018427387904"], ["--chan-size", "4611686018427387904", "1 to 16777216"]),
            (["/tmp", "-s", "16777217"], ["--chan-size", "1 to 16777216"]),
            (["/tmp", "--stats-interval", "-1"], ["--stats-interval", "-1"]),
            (["/tmp", "--stats-interval", "5"], ["--stats-interval", "--pipeline"]),
            (["/tmp", "--shutdown-timeout", "-1"], ["--shutdown-timeout", "-1", "0 (no limit) to 3600"]),
            (["run", "pipelines/none.yaml", "--shutdown-timeout", "3601"], ["--shutdown-timeout", "3601"]),
            (["/tmp", "--kernel-cache-size", "-5"], ["--kernel-cache-size", "-5", "1 to"]),
            (["/tmp", "--perf-buffer-size", "0"], ["--perf-buffer-size", "power of two"]),
            (["--pipeline", "pipelines/none.yaml", "-e", "mkdir"], ["--pipeline", "-e/--event"]),
            (["--pipeline", "pipelines/none.yaml", "-o", "/tmp/x"], ["--pipeline", "-o/--output"]),
            (["run", "/tmp"], ["/tmp", "is a directory"]),
            (["pipeline", "validate", "/dev/zero"], ["/dev/zero", "not a regular file"]),
        ]
        for (arguments, mentions) in cases {
            try assertOneLineError(arguments, mentions: mentions)
            XCTAssertEqual(try FSProbeProcess.run(arguments).status, 2, "exit status for \(arguments)")
        }
    }

    func testPathsInErrorsAreEscapedNotCutOrForged() throws {
        let forged = "/nonexistent/a\nfsprobe: stopped: 0 events received\u{1b}[2J"
        try assertOneLineError([forged], mentions: ["a\\u{a}fsprobe: stopped: 0 events received\\u{1b}[2J", "No such file"])
        try assertOneLineError(["/tmp", "-o", forged], mentions: ["cannot open output file", "a\\u{a}fsprobe", "No such file"])
    }

    func testValidateRefusesWhatPipelineTestRefuses() throws {
        let file = NSTemporaryDirectory() + "fsprobe-validate-\(getpid()).yaml"
        defer { unlink(file) }
        try """
            sources:
              k: {type: kernel, paths: [/tmp]}
            sinks:
              out: {type: stdout, inputs: [k]}
            tests:
              - name: a case without expectations
                events: [{type: open, src_filename: /tmp/x}]
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let validate = try FSProbeProcess.run(["pipeline", "validate", file])
        let test = try FSProbeProcess.run(["pipeline", "test", file])
        XCTAssertEqual(validate.status, 1, validate.stderr)
        XCTAssertEqual(test.status, 1, test.stderr)
        XCTAssertFalse(validate.stderr.isEmpty)
        XCTAssertEqual(validate.stderr, test.stderr, "the same problems, in the same words")
    }
}
