import Foundation
import FSProbeTestSupport
#if canImport(Glibc)
import Glibc
#endif

extension FSProbeProcess {
    /// `fsprobe run FILE` as a service manager runs it: writes `yaml` to
    /// `directory/pipeline.yaml`, starts it with standard output discarded,
    /// and returns once every kernel source reported ready.
    static func runPipeline(yaml: String, in directory: URL, environment: [String: String] = [:],
                            arguments: [String] = []) throws -> FSProbeProcess {
        let file = directory.appendingPathComponent("pipeline.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let run = try FSProbeProcess(["run", file.path] + arguments, environment: environment, stdout: .discarded)
        guard run.stderrArrives(containing: "fsprobe: ready", timeout: 60) else {
            throw Failure("fsprobe did not become ready; stderr: \(run.errors)")
        }
        return run
    }

    /// Waits (up to `timeout`) until stderr holds `text`; returns whether it does.
    func waitForStderr(containing text: String, timeout: Duration = .seconds(30)) -> Bool {
        stderrArrives(containing: text, timeout: Double(timeout.components.seconds))
    }
}

/// Creates (open O_CREAT + close) and then unlinks files, as a workload
/// whose events are known in advance.
enum Workload {
    static func create(_ path: String) throws {
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FSProbeProcess.Failure("open \(path): errno \(errno)") }
        close(fd)
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw FSProbeProcess.Failure("unlink \(path): errno \(errno)") }
    }
}
