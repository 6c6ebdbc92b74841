import Foundation
import FSProbeTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `--log-level`, `FSPROBE_LOG_LEVEL`, `-q` and `--log-format json`: what
/// fsprobe says on stderr while it runs.
final class LoggingTests: ScratchTestCase {
    /// Directories made so far (a test may run fsprobe several times).
    var made = 0

    /// Quiet runs print no ready line: events are awaited on stdout
    /// instead, making directories until the first is reported.
    func awaitFirstEvent(_ probe: FSProbeProcess) throws {
        let deadline = Date().addingTimeInterval(30)
        while probe.outputLines.isEmpty {
            guard Date() < deadline else { throw FSProbeProcess.Failure("no event reported; stderr: \(probe.errors)") }
            try FileManager.default.createDirectory(atPath: "\(dir!)/d\(made)", withIntermediateDirectories: false)
            made += 1
            usleep(20_000)
        }
    }

    func testQuietAndAWarningLevelSayNothingWhenAllGoesWell() throws {
        for (arguments, environment) in [(["-q"], [:]), ([], ["FSPROBE_LOG_LEVEL": "WARNING"])] {
            let probe = try FSProbeProcess([dir, "-e", "mkdir", "-f", "json"] + arguments + backendFlags,
                                           environment: environment, readingStdout: true)
            try awaitFirstEvent(probe)
            XCTAssertEqual(probe.terminate(), 0, probe.errors)
            XCTAssertEqual(probe.errors, "", "\(arguments) \(environment)")
        }
    }

    /// Every stderr line a JSON object: time, level, logger, message; the
    /// pipeline's own debug records among them.
    func testJSONLogsAreOneObjectALineWithTheirLevels() throws {
        let probe = try FSProbeProcess([dir, "-e", "mkdir", "--log-format", "json", "--log-level", "debug"] + backendFlags)
        probe.waitForStderr(containing: #""message":"ready: backend "#, timeout: 30)
        try FileManager.default.createDirectory(atPath: "\(dir!)/new\nline", withIntermediateDirectories: false)
        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        let records = try probe.errors.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String], String($0))
        }
        for record in records {
            XCTAssertEqual(Set(record.keys).isSuperset(of: ["time", "level", "logger", "message"]), true, "\(record)")
            XCTAssertNotNil(ISO8601DateFormatter.withFractionalSeconds.date(from: record["time"] ?? ""), "\(record)")
        }
        let levels = Dictionary(grouping: records, by: { $0["level"] ?? "" })
        XCTAssertTrue(levels["debug"]?.contains { $0["message"] == "pipeline: starting" } == true, probe.errors)
        XCTAssertTrue(levels["debug"]?.contains {
            $0["logger"] == "fsprobe.kernel" && $0["message"]?.hasPrefix("kernel source: backend ") == true && $0["events"] == #"["mkdir"]"#
        } == true, probe.errors)
        XCTAssertTrue(levels["debug"]?.contains { $0["message"] == "kernel source: stopped; programs detached" } == true, probe.errors)
        XCTAssertTrue(levels["info"]?.contains { $0["message"]?.hasPrefix("ready: backend ") == true } == true, probe.errors)
        XCTAssertTrue(levels["notice"]?.contains { $0["message"]?.hasPrefix("stopped: 1 events received, 1 delivered") == true } == true,
                      probe.errors)
    }

    /// What the libraries say (librdkafka, through the Kafka sink) follows
    /// the format too: a broker nobody answers on yields JSON lines only.
    func testLibraryLinesAreJSONToo() throws {
        let listener = try Scrape.listen()
        close(listener.fd)  // a port nothing listens on: every connection is refused
        let sourceOptions = FSProbeProcess.kernelSourceTestOptions
        let pipeline = "\(dir!)/pipeline.yaml"
        try """
            sources:
              files: {type: kernel, paths: [\(dir!)], events: [mkdir]\(sourceOptions)}
            sinks:
              stream: {type: kafka, inputs: [files], brokers: "127.0.0.1:\(listener.port)", topic: t}
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let probe = try FSProbeProcess(["run", pipeline, "--log-format", "json", "--shutdown-timeout", "1"])
        // Ready first (a signal before it stops fsprobe as during start-up,
        // with one line), then a line of librdkafka's.
        probe.waitForStderr(containing: #""message":"ready: "#, timeout: 30)
        probe.waitForStderr(containing: #""logger":"fsprobe.kafka""#, timeout: 30)
        _ = probe.terminate()
        let lines = probe.errors.split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 2)
        for line in lines {
            let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            XCTAssertNotNil(record?["level"], "not a JSON record: \(line)")
        }
        XCTAssertTrue(probe.errors.contains("librdkafka"), probe.errors)
    }

    func testBadLevelsAreRefusedNamingWhereTheyCameFrom() throws {
        try assertOneLineError([dir, "--log-level", "loud"], mentions: ["--log-level: invalid value loud", "trace", "critical"])
        try assertOneLineError([dir], mentions: ["FSPROBE_LOG_LEVEL: invalid value loud", "warning"],
                               environment: ["FSPROBE_LOG_LEVEL": "loud"])
        try assertOneLineError([dir, "-q", "--log-level", "debug"], mentions: ["-q/--quiet and --log-level"])
    }
}

extension ISO8601DateFormatter {
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
