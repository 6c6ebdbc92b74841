import Foundation
import XCTest

/// The fsprobe binary run as a user runs it: arguments in, lines out.
final class FSProbeProcess: @unchecked Sendable {
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["FSPROBE_BIN"] { return path }
        // Default: the debug build next to the test bundle.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/fsprobe").path
    }

    let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let lock = NSCondition()
    private var stderrText = ""
    private var stdoutData = Data()
    private var stdoutClosed = false
    private var stderrClosed = false

    /// The backend under test (FSPROBE_TEST_BACKEND, set by the kernel
    /// matrix for each run of the suite), or nil for fsprobe's own choice.
    static var testBackend: String? { ProcessInfo.processInfo.environment["FSPROBE_TEST_BACKEND"] }

    /// Subcommands that take no --backend (they load nothing, or every backend).
    static let commandsWithoutBackend: Set = ["kernel-info", "pipeline", "components", "run", "--pipeline"]

    /// - Parameter readingStdout: false leaves standard output a pipe nobody
    ///   reads (a consumer that stalls): fsprobe blocks once it is full.
    init(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = [],
         readingStdout: Bool = true) throws {
        var arguments = arguments
        if let backend = Self.testBackend, !arguments.contains("--backend"),
           !Self.commandsWithoutBackend.contains(arguments.first ?? "") {
            arguments += ["--backend", backend]
        }
        if prefix.isEmpty {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: prefix[0])
            process.arguments = Array(prefix.dropFirst()) + [Self.binary] + arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // One reader thread per pipe: blocking reads see EOF reliably, which
        // readabilityHandler does not on every platform.
        if readingStdout {
            Thread { [self] in drain(stdoutPipe.fileHandleForReading, isStdout: true) }.start()
        } else {
            stdoutClosed = true
        }
        Thread { [self] in drain(stderrPipe.fileHandleForReading, isStdout: false) }.start()
    }

    private func drain(_ handle: FileHandle, isStdout: Bool) {
        while true {
            let data = handle.availableData
            lock.lock()
            if data.isEmpty {
                if isStdout { stdoutClosed = true } else { stderrClosed = true }
            } else if isStdout {
                stdoutData.append(data)
            } else {
                stderrText += String(decoding: data, as: UTF8.self)
            }
            lock.broadcast()
            lock.unlock()
            if data.isEmpty { return }
        }
    }

    /// Runs fsprobe to completion (for commands that exit by themselves).
    static func run(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = []) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let probe = try FSProbeProcess(arguments, environment: environment, prefix: prefix)
        let status = probe.waitForExit()
        return (status, String(decoding: probe.output, as: UTF8.self), probe.errors)
    }

    /// Waits until fsprobe says it is ready (programs attached, watches set).
    func waitUntilReady(timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) {
        waitForStderr(containing: "fsprobe: ready", timeout: timeout, file: file, line: line)
    }

    /// Waits until stderr holds `text` (fails the test after `timeout`).
    func waitForStderr(containing text: String, timeout: TimeInterval = 30, file: StaticString = #filePath,
                       line: UInt = #line) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        defer { lock.unlock() }
        while !stderrText.contains(text) {
            if stderrClosed || !lock.wait(until: deadline) {
                XCTFail("fsprobe never wrote '\(text)'; stderr: \(stderrText)", file: file, line: line)
                return
            }
        }
    }

    /// Sends SIGTERM (a user's Ctrl-C / service stop) and waits for the exit.
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        return waitForExit()
    }

    func waitForExit() -> Int32 {
        process.waitUntilExit()
        lock.lock()
        while !(stdoutClosed && stderrClosed) { lock.wait() }
        lock.unlock()
        return process.terminationStatus
    }

    var output: Data {
        lock.lock()
        defer { lock.unlock() }
        return stdoutData
    }

    var errors: String {
        lock.lock()
        defer { lock.unlock() }
        return stderrText
    }

    /// stdout split into lines (without the newline).
    var outputLines: [Data] {
        output.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map { Data($0) }
    }
}

func makeScratch(_ name: String) throws -> String {
    let base = FileManager.default.temporaryDirectory.resolvingSymlinksInPath().path
    let path = "\(base)/fsprobe-cli-\(name.filter { $0.isLetter || $0.isNumber })-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension XCTestCase {
    /// fsprobe run with `arguments` fails with one line on stderr, prefixed
    /// `fsprobe: `, holding every string of `expected`, and nothing on stdout.
    func assertOneLineError(_ arguments: [String], mentions expected: [String], environment: [String: String] = [:],
                            prefix: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try FSProbeProcess.run(arguments, environment: environment, prefix: prefix)
        XCTAssertNotEqual(result.status, 0, "exit status for \(arguments)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line on stderr for \(arguments), got: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("fsprobe: "), result.stderr, file: file, line: line)
        for word in expected {
            XCTAssertTrue(result.stderr.contains(word), "'\(word)' missing from: \(result.stderr)", file: file, line: line)
        }
        XCTAssertEqual(result.stdout, "", file: file, line: line)
    }
}
