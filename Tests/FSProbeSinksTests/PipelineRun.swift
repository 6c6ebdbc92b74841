import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `fsprobe run FILE` as a service manager runs it: started, awaited until
/// it reports ready, then stopped with SIGTERM (or killed with SIGKILL).
/// Runs the binary the CLI tests run (FSPROBE_BIN, or the debug build).
final class FSProbeRun: @unchecked Sendable {
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["FSPROBE_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/fsprobe").path
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let process = Process()
    private let stderrPipe = Pipe()
    private let condition = NSCondition()
    private var stderrText = ""
    private var stderrClosed = false

    /// Writes `yaml` to `directory/pipeline.yaml` and runs it; returns once
    /// every kernel source reported ready.
    init(yaml: String, in directory: URL, environment: [String: String] = [:], arguments: [String] = []) throws {
        let file = directory.appendingPathComponent("pipeline.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["run", file.path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        Thread { [self] in
            let handle = stderrPipe.fileHandleForReading
            while true {
                let data = handle.availableData
                condition.lock()
                if data.isEmpty { stderrClosed = true } else { stderrText += String(decoding: data, as: UTF8.self) }
                condition.broadcast()
                condition.unlock()
                if data.isEmpty { return }
            }
        }.start()
        let deadline = Date(timeIntervalSinceNow: 60)
        condition.lock()
        defer { condition.unlock() }
        while !stderrText.contains("fsprobe: ready") {
            if stderrClosed || !condition.wait(until: deadline) {
                throw Failure(description: "fsprobe did not become ready; stderr: \(stderrText)")
            }
        }
    }

    /// SIGTERM, then the exit status once stderr is closed.
    func terminate() -> Int32 { signal(SIGTERM) }

    /// SIGKILL: no chance to flush anything.
    func kill() -> Int32 { signal(SIGKILL) }

    private func signal(_ number: Int32) -> Int32 {
        Glibc.kill(process.processIdentifier, number)
        process.waitUntilExit()
        condition.lock()
        while !stderrClosed { condition.wait() }
        condition.unlock()
        return process.terminationStatus
    }

    var errors: String {
        condition.lock()
        defer { condition.unlock() }
        return stderrText
    }

    /// Waits (up to `timeout`) until stderr holds `text`; returns whether it does.
    func waitForStderr(containing text: String, timeout: Duration = .seconds(30)) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds))
        condition.lock()
        defer { condition.unlock() }
        while !stderrText.contains(text) {
            if stderrClosed || !condition.wait(until: deadline) { return stderrText.contains(text) }
        }
        return true
    }

    /// The last `fsprobe: stats:` line.
    var finalStats: String { errors.split(separator: "\n").last { $0.hasPrefix("fsprobe: stats:") }.map(String.init) ?? "" }
}

/// Creates (open O_CREAT + close) and then unlinks files, as a workload
/// whose events are known in advance.
enum Workload {
    static func create(_ path: String) throws {
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FSProbeRun.Failure(description: "open \(path): errno \(errno)") }
        close(fd)
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw FSProbeRun.Failure(description: "unlink \(path): errno \(errno)") }
    }
}
