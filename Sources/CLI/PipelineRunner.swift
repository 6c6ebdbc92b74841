import ArgumentParser
import Logging
import Dispatch
import FSProbeCore
import FSProbePipeline
import FSProbePipelineFile
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a pipeline file: validate, build every component, run until the
/// sources end or SIGINT/SIGTERM, then report where every event went.
/// SIGHUP reloads the file (`ReloadingRun`); SIGUSR1 reopens the sinks'
/// output files.
///
/// Nothing starts unless the whole file is valid: every problem is printed,
/// located, and the command exits 1.
struct PipelineRunner {
    let file: String
    /// Stats lines (interval, format), the stop's deadline, the metrics address.
    let options: RunOptions

    func run() throws {
        try options.logging.apply()
        let signals = SignalForwarder(blocking: [SIGINT, SIGTERM, SIGHUP, SIGUSR1])
        let document = try PipelineCommand.load(file)
        // Problems with the file are reported by the build, all together, before anything binds.
        let metrics = document.problems.isEmpty
            ? try MetricsEndpoint(address: options.metricsEndpointAddress ?? document.metricsAddress) : nil
        defer { metrics?.stop() }
        signal(SIGPIPE, SIG_IGN)
        let run: ReloadingRun
        do {
            run = try ReloadingRun(file: file, document: document, metrics: metrics)
        } catch let error as PipelineBuildError {
            FileHandleStderr.write(error.problems.map { "\($0)\n" }.joined())
            throw ExitCode(1)
        }
        signals.forward(deadline: options.shutdownTimeout, onDeadline: { run.interruptSinks() }) { run.stop() }
        signals.handle(SIGHUP) { run.reload() }
        signals.handle(SIGUSR1) { run.reopenSinks() }
        // Ready only now: from here SIGINT/SIGTERM deliver what was captured.
        run.announceReady()

        let format = options.statsFormat
        let ticker = options.statsInterval > 0
            ? StatsTicker(every: options.statsInterval) { Log.emit(StatsReport(run.stats).line(format), level: .info) } : nil
        defer { ticker?.stop() }
        try run.runUntilStopped()
        ticker?.stop()
        let stats = run.stats
        Log.emit(StatsReport(stats).line(format), level: .info)
        try ShutdownReport(counts: run.closingCounts, pipeline: stats).finish()
    }
}

/// Prints the first delivery error of each disk-buffered sink and stage:
/// delivery is retried, so one line says the sink is down, not one per retry.
final class DeliveryErrorReport: Sendable {
    private let reported = Mutex<Set<String>>([])

    func handle(_ error: DiskBufferedSink.DeliveryError) {
        guard reported.withLock({ $0.insert("\(error.sinkName)/\(error.stage.rawValue)").inserted }) else { return }
        Log.main.warning("\(String(describing: error).lineSafe) (retrying; events wait on disk)")
    }
}

/// Calls `report` every `seconds` on its own thread until `stop()`.
final class StatsTicker: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    private let thread: WorkerThread

    init(every seconds: Int, report: @escaping @Sendable () -> Void) {
        let done = self.done
        thread = WorkerThread {
            while done.wait(timeout: .now() + .seconds(seconds)) == .timedOut { report() }
        }
    }

    /// Idempotent.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        done.signal()
        thread.join()
    }
}
