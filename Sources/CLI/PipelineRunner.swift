import ArgumentParser
import Dispatch
import FSProbeCore
import FSProbePipeline
import FSProbePipelineFile
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a pipeline file: validate, build every component, run until the
/// sources end or SIGINT/SIGTERM/SIGHUP, then report where every event went.
///
/// Nothing starts unless the whole file is valid: every problem is printed,
/// located, and the command exits 1.
struct PipelineRunner {
    let file: String
    /// Stats lines (interval, format), the stop's deadline, the metrics address.
    let options: RunOptions

    func run() throws {
        let signals = SignalForwarder(blocking: [SIGINT, SIGTERM, SIGHUP])
        let document = try PipelineCommand.load(file)
        // Problems with the file are reported below, all together, before anything binds.
        let metrics = document.problems.isEmpty
            ? try MetricsEndpoint(address: options.metricsEndpointAddress ?? document.metricsAddress) : nil
        defer { metrics?.stop() }
        let built: (topology: PipelineTopology, components: [(name: String, component: BuiltComponent)])
        do {
            built = try PipelineBuilder(registry: .standard).build(document, onDeliveryError: DeliveryErrorReport().handle)
        } catch {
            FileHandleStderr.write(error.problems.map { "\($0)\n" }.joined())
            throw ExitCode(1)
        }
        let sources = built.components.compactMap { entry -> (name: String, source: any EventSource)? in
            if case .source(let source) = entry.component { (entry.name, source) } else { nil }
        }
        for case (let name, .sink(let sink)) in built.components {
            for line in SinkStartupReport(sinkName: name, sink: sink).lines { FileHandleStderr.write(line + "\n") }
        }
        let sinks = built.components.compactMap { entry -> (any EventSink)? in
            if case .sink(let sink) = entry.component { sink } else { nil }
        }
        let registry = InstanceRegistry(sources: sources.map(\.source), outputs: InstanceRegistry.outputs(of: sinks))
        for warning in registry.register() { FileHandleStderr.write(warning + "\n") }
        defer { registry.unregister() }
        signal(SIGPIPE, SIG_IGN)
        let reaction = SinkFailureReaction()
        let pipeline = try Pipeline(topology: built.topology, configuration: PipelineConfiguration().reporting(to: metrics),
                                    errorHandler: reaction.handle)
        reaction.pipeline = pipeline
        metrics?.observe(pipeline, sources: sources)
        signals.forward(deadline: options.shutdownTimeout, onDeadline: { pipeline.interruptSinks() }) { pipeline.stop() }

        for (name, source) in sources { StartupReport(source: source, name: name).print() }
        let format = options.statsFormat
        let ticker = options.statsInterval > 0
            ? StatsTicker(every: options.statsInterval) { FileHandleStderr.write(StatsReport(pipeline.stats).line(format) + "\n") } : nil
        defer { ticker?.stop() }
        try pipeline.run()
        ticker?.stop()
        let stats = pipeline.stats
        FileHandleStderr.write(StatsReport(stats).line(format) + "\n")
        try ShutdownReport(sources: sources.map(\.source), pipeline: stats).finish()
    }
}

/// Prints the first delivery error of each disk-buffered sink and stage:
/// delivery is retried, so one line says the sink is down, not one per retry.
final class DeliveryErrorReport: Sendable {
    private let reported = Mutex<Set<String>>([])

    func handle(_ error: DiskBufferedSink.DeliveryError) {
        guard reported.withLock({ $0.insert("\(error.sinkName)/\(error.stage.rawValue)").inserted }) else { return }
        FileHandleStderr.write("fsprobe: \(String(describing: error).lineSafe) (retrying; events wait on disk)\n")
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
