import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fsprobe binary run as a user or a service manager runs it: arguments
/// in, lines out, signals to stop it. One runner for every test that runs
/// the binary (the CLI tests, the sinks' end-to-end runs).
public final class FSProbeProcess: @unchecked Sendable {
    /// FSPROBE_BIN, or the debug build of this checkout.
    public static var binary: String { built("fsprobe") }

    /// Another executable of this package's build (`fsprobe-uring`),
    /// found beside FSPROBE_BIN when set.
    public static func built(_ name: String) -> String {
        let environment = ProcessInfo.processInfo.environment
        if let fsprobe = environment["FSPROBE_BIN"] {
            return name == "fsprobe" ? fsprobe
                : URL(fileURLWithPath: fsprobe).deletingLastPathComponent().appendingPathComponent(name).path
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/\(name)").path
    }

    /// What becomes of fsprobe's standard output.
    public enum Output {
        /// Read and kept (`output`, `outputLines`).
        case read
        /// A pipe nobody reads (a consumer that stalls): fsprobe blocks once it is full.
        case unread
        /// /dev/null.
        case discarded
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let lock = NSCondition()
    private var stderrText = ""
    private var stdoutData = Data()
    private var stdoutClosed = false
    private var stderrClosed = false

    /// The backend under test (FSPROBE_TEST_BACKEND, set by the kernel
    /// matrix for each run of the suite), or nil for fsprobe's own choice.
    public static var testBackend: String? { ProcessInfo.processInfo.environment["FSPROBE_TEST_BACKEND"] }

    /// The ring buffer size the kernel matrix runs fsprobe with
    /// (FSPROBE_TEST_RING_PAGES), or nil for the default. Under emulation
    /// the kernel's clearing of the default 16 MiB ring makes every start
    /// about 0.3 s slower, and the suite starts fsprobe many times; its
    /// event counts fit in 4 MiB.
    public static var testRingPages: Int? { ProcessInfo.processInfo.environment["FSPROBE_TEST_RING_PAGES"].flatMap { Int($0) } }

    /// What a pipeline file's kernel source adds for the kernel matrix
    /// (`, backend: B, ring_buffer_pages: N`), the flags' counterpart of
    /// what `init` adds to a command line; empty outside the matrix.
    public static var kernelSourceTestOptions: String {
        (testBackend.map { ", backend: \($0)" } ?? "") + (testRingPages.map { ", ring_buffer_pages: \($0)" } ?? "")
    }

    /// Subcommands that take none of the watch flags (--backend,
    /// --perf-buffer-size): they load nothing, every backend, or a pipeline
    /// file, which names its own.
    static let commandsWithoutWatchFlags: Set = ["kernel-info", "pipeline", "components", "run", "--pipeline", "query"]

    /// - Parameter prefix: a command fsprobe runs under (`setpriv …`).
    public init(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = [],
                stdout: Output = .read) throws {
        var arguments = arguments
        if !Self.commandsWithoutWatchFlags.contains(arguments.first ?? "") {
            if let backend = Self.testBackend, !arguments.contains("--backend") {
                arguments += ["--backend", backend]
            }
            if let pages = Self.testRingPages, !arguments.contains("--perf-buffer-size") {
                arguments += ["--perf-buffer-size", "\(pages)"]
            }
        }
        if prefix.isEmpty {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: prefix[0])
            process.arguments = Array(prefix.dropFirst()) + [Self.binary] + arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = stdout == .discarded ? FileHandle.nullDevice : stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // One reader thread per pipe: blocking reads see EOF reliably, which
        // readabilityHandler does not on every platform.
        if stdout == .read {
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
    public static func run(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = []) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let probe = try FSProbeProcess(arguments, environment: environment, prefix: prefix)
        let status = probe.waitForExit()
        return (status, String(decoding: probe.output, as: UTF8.self), probe.errors)
    }

    /// Waits up to `timeout` seconds until stderr holds `text`; whether it does.
    public func stderrArrives(containing text: String, timeout: TimeInterval = 30) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        defer { lock.unlock() }
        while !stderrText.contains(text) {
            if stderrClosed || !lock.wait(until: deadline) { return stderrText.contains(text) }
        }
        return true
    }

    /// Waits up to `timeout` seconds until stdout holds `text`; whether it does.
    public func stdoutArrives(containing text: String, timeout: TimeInterval = 30) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        let bytes = Data(text.utf8)
        lock.lock()
        defer { lock.unlock() }
        while stdoutData.range(of: bytes) == nil {
            if stdoutClosed || !lock.wait(until: deadline) { return stdoutData.range(of: bytes) != nil }
        }
        return true
    }

    /// Sends SIGTERM (a user's Ctrl-C, a service stop) and waits for the exit.
    public func terminate() -> Int32 { signal(SIGTERM) }

    /// SIGKILL: no chance to flush anything.
    public func kill() -> Int32 { signal(SIGKILL) }

    private func signal(_ number: Int32) -> Int32 {
        Glibc.kill(process.processIdentifier, number)
        return waitForExit()
    }

    /// The exit status, once both output pipes are closed.
    public func waitForExit() -> Int32 {
        process.waitUntilExit()
        lock.lock()
        while !(stdoutClosed && stderrClosed) { lock.wait() }
        lock.unlock()
        return process.terminationStatus
    }

    public var output: Data {
        lock.lock()
        defer { lock.unlock() }
        return stdoutData
    }

    public var errors: String {
        lock.lock()
        defer { lock.unlock() }
        return stderrText
    }

    /// stdout split into lines (without the newline).
    public var outputLines: [Data] {
        output.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map { Data($0) }
    }

    /// The last `fsprobe: stats:` line.
    public var finalStats: String {
        errors.split(separator: "\n").last { $0.hasPrefix("fsprobe: stats:") }.map(String.init) ?? ""
    }
}

