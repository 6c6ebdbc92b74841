import Foundation
import FSProbeTestSupport
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP reloads a pipeline file; SIGUSR1 reopens output files (logrotate).
final class ReloadTests: ScratchTestCase {
    var watched: String { "\(dir!)/watched" }
    var pipeline: String { "\(dir!)/pipeline.yaml" }

    /// A kernel source watching `watched` for mkdir, into the file sinks named.
    func writePipeline(sinks: [(name: String, path: String)], extra: String = "") throws {
        let sourceOptions = FSProbeProcess.kernelSourceTestOptions
        try ("""
            sources:
              files: {type: kernel, paths: [\(watched)], events: [mkdir]\(sourceOptions)}
            sinks:

            """ + sinks.map { "  \($0.name): {type: file, inputs: [files], path: \($0.path)}\n" }.joined() + extra)
            .write(toFile: pipeline, atomically: true, encoding: .utf8)
    }

    func startRun() throws -> FSProbeProcess {
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: true)
        let probe = try FSProbeProcess(["run", pipeline])
        probe.waitUntilReady()
        return probe
    }

    /// The paths of the complete lines of `file`. Polled while fsprobe
    /// writes, the file may end in the part of a line written so far; that
    /// part is left for the next poll (once fsprobe has stopped, a line cut
    /// short would show as a missing event).
    func paths(in file: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: file) else { return [] }
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let complete = data[..<(data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? data.startIndex)]
        return try complete.split(separator: UInt8(ascii: "\n")).map {
            let event = try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])
            return try XCTUnwrap(event["src_filename"] as? String)
        }
    }

    func testABrokenFileKeepsTheRunningPipelineAndSaysWhy() throws {
        try writePipeline(sinks: [("archive", "\(dir!)/a.jsonl")])
        let probe = try startRun()
        try FileManager.default.createDirectory(atPath: "\(watched)/before", withIntermediateDirectories: false)
        try "sources:\n  files: {type: kernel, paths: [\(watched)]}\nsinks:\n  archive: {type: nosuch, inputs: [files]}\n"
            .write(toFile: pipeline, atomically: true, encoding: .utf8)
        kill(probe.process.processIdentifier, SIGHUP)
        probe.waitForStderr(containing: "fsprobe: reload: \(pipeline) has 1 problem; kept the running pipeline:", timeout: 30)
        XCTAssertTrue(probe.errors.contains("\(pipeline):4:19: unknown sink type 'nosuch'"), probe.errors)
        try FileManager.default.createDirectory(atPath: "\(watched)/after", withIntermediateDirectories: false)
        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        XCTAssertEqual(try paths(in: "\(dir!)/a.jsonl"), ["\(watched)/before", "\(watched)/after"])
    }

    /// The sink moves to another file while directories are made without
    /// pause: the kernel source runs on, and every directory is in exactly
    /// one of the two files. The generator keeps at most 2,000 directories
    /// ahead of what the files hold, so it tests the reload and not whether
    /// a loop of mkdir outruns fsprobe on this machine (it does, on two
    /// cores with the debug build: that is the benchmarks' business).
    func testAValidChangeLosesNoEventWhileAGeneratorRuns() throws {
        let first = "\(dir!)/first.jsonl", second = "\(dir!)/second.jsonl"
        try writePipeline(sinks: [("archive", first)])
        let probe = try startRun()
        let reloaded = Atomic<Bool>(false)
        let made = Mutex<[String]>([])
        let generator = Thread { [watched] in
            var index = 0, afterReload = 0
            let written = WrittenLines(paths: [first, second])
            // Until well after the reload: 2,000 more directories.
            while afterReload < 2_000 {
                if index % 100 == 0 {
                    while index - written.count() > 2_000 { usleep(1_000) }
                }
                let path = "\(watched)/d\(index)"
                if mkdir(path, 0o755) == 0 { made.withLock { $0.append(path) } }
                index += 1
                if reloaded.load(ordering: .relaxed) { afterReload += 1 }
            }
        }
        generator.start()
        // Reload once the first sink has events: mid-stream.
        XCTAssertTrue(waitUntil { ((try? self.paths(in: first).count) ?? 0) > 500 })
        try writePipeline(sinks: [("archive", second)])
        kill(probe.process.processIdentifier, SIGHUP)
        probe.waitForStderr(containing: "fsprobe: reload: \(pipeline): sources kept running: files; started: none", timeout: 30)
        reloaded.store(true, ordering: .relaxed)
        XCTAssertTrue(waitUntil { generator.isFinished })
        XCTAssertEqual(probe.terminate(), 0, probe.errors)

        let before = try paths(in: first), after = try paths(in: second)
        let all = made.withLock { $0 }
        XCTAssertGreaterThan(before.count, 500)
        XCTAssertGreaterThanOrEqual(after.count, 2_000)
        XCTAssertEqual(before.count + after.count, all.count, "events lost or repeated across the reload")
        let missing = Set(all).subtracting(before + after), unexpected = Set(before + after).subtracting(all)
        XCTAssertTrue(missing.isEmpty && unexpected.isEmpty,
                      "\(missing.count) missing, e.g. \(missing.prefix(3)); \(unexpected.count) unexpected, e.g. \(unexpected.prefix(3))")
        let stopped = try XCTUnwrap(probe.errors.split(separator: "\n").last { $0.hasPrefix("fsprobe: stopped:") }.map(String.init))
        XCTAssertTrue(stopped.hasPrefix("fsprobe: stopped: \(all.count) events received, \(all.count) delivered, 0 lost (kernel ring buffer full)"), stopped)
    }

    /// logrotate renames the file and sends SIGUSR1: the next event goes to
    /// a new file at the path, created 0600.
    func testSIGUSR1ReopensFileSinksAfterARotation() throws {
        let log = "\(dir!)/events.jsonl"
        try writePipeline(sinks: [("archive", log)])
        let probe = try startRun()
        try FileManager.default.createDirectory(atPath: "\(watched)/one", withIntermediateDirectories: false)
        XCTAssertTrue(waitUntil { ((try? self.paths(in: log).count) ?? 0) == 1 })
        XCTAssertEqual(rename(log, log + ".1"), 0)
        kill(probe.process.processIdentifier, SIGUSR1)
        probe.waitForStderr(containing: "fsprobe: SIGUSR1: the sinks reopen their output files", timeout: 30)
        try FileManager.default.createDirectory(atPath: "\(watched)/two", withIntermediateDirectories: false)
        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        XCTAssertEqual(try paths(in: log + ".1"), ["\(watched)/one"])
        XCTAssertEqual(try paths(in: log), ["\(watched)/two"])
        let mode = try FileManager.default.attributesOfItem(atPath: log)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    /// Polls a condition that an event will make true (up to 30 s).
    func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while !condition() {
            guard Date() < deadline else { return false }
            usleep(10_000)
        }
        return true
    }
}

/// The lines of files that only grow, counted by reading what was added
/// since the last count.
private final class WrittenLines {
    private var files: [(path: String, read: off_t, lines: Int)]

    init(paths: [String]) {
        files = paths.map { ($0, 0, 0) }
    }

    func count() -> Int {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for index in files.indices {
            let fd = open(files[index].path, O_RDONLY)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            while true {
                let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, files[index].read) }
                guard got > 0 else { break }
                files[index].read += off_t(got)
                files[index].lines += buffer[..<got].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            }
        }
        return files.reduce(0) { $0 + $1.lines }
    }
}
