import FSProbeCore
import Logging
import FSProbePipeline
import FSProbePipelineFile
import Synchronization

/// A pipeline file's run across reloads (SIGHUP).
///
/// A reload reads the file again and checks it whole; with a problem, the
/// running pipeline carries on and every problem is printed. Otherwise the
/// running pipeline ends as a stop ends it (everything captured is
/// delivered, sinks flushed and closed), except that each source whose
/// declaration did not change is suspended rather than stopped: its BPF
/// programs stay attached and what happens meanwhile waits in its ring
/// buffer, to be read by the next pipeline, which takes the same source.
/// So no event of an unchanged source is lost across a reload. Changed
/// sources are built anew (the old one is retired), and every transform and
/// sink is rebuilt from the new file (sinks reopen their files, databases
/// and brokers; a disk buffer is handed from the old sink to the new).
/// The counters add up across reloads.
final class ReloadingRun: Sendable {
    private let file: String
    private let metrics: MetricsEndpoint?
    private let state: Mutex<State>

    private struct State {
        var current: Generation
        /// What the earlier pipelines counted (sources' own counters left
        /// out where the source runs on).
        var carried: PipelineStats?
        /// The closing counts of sources a reload retired.
        var retiredCounts: [ClosingCount] = []
        var pending: PipelineDocument?
        var stopping = false
    }

    /// One pipeline built from one version of the file.
    private struct Generation: @unchecked Sendable {
        let document: PipelineDocument
        let sources: [(name: String, source: any EventSource)]
        let pipeline: Pipeline
        let registry: InstanceRegistry
    }

    init(file: String, document: PipelineDocument, metrics: MetricsEndpoint?) throws {
        self.file = file
        self.metrics = metrics
        let first = try Self.start(document, reusing: [:], metrics: metrics, carried: { nil })
        state = Mutex(State(current: first))
        observe(first)
    }

    /// The ready lines of the first pipeline's sources. Only once a signal
    /// stops the run by delivering what was captured: a SIGTERM between
    /// "ready" and that point ended fsprobe as during start-up (exit 0,
    /// nothing delivered), losing the events captured after the line.
    func announceReady() {
        let sources = state.withLock { $0.current.sources }
        for (name, source) in sources { StartupReport(source: source, name: name).print() }
    }

    /// Counters over every pipeline of the run.
    var stats: PipelineStats {
        let (pipeline, carried) = state.withLock { ($0.current.pipeline, $0.carried) }
        return Self.total(pipeline.stats, carried)
    }

    /// The closing counts of every source the run had.
    var closingCounts: [ClosingCount] {
        state.withLock { $0.retiredCounts + $0.current.sources.flatMap(\.source.closingCounts) }
    }

    /// Runs pipeline after pipeline until one ends without a reload pending.
    func runUntilStopped() throws {
        defer { state.withLock { $0.current.registry.unregister() } }
        while true {
            let current = state.withLock { $0.current }
            try current.pipeline.run()
            guard let next = state.withLock({ state -> PipelineDocument? in
                defer { state.pending = nil }
                return state.pending
            }) else { break }
            try handOver(from: current, to: next)
        }
    }

    func stop() {
        let pipeline = state.withLock { state in
            state.stopping = true
            return state.current.pipeline
        }
        pipeline.stop()
    }

    func interruptSinks() { state.withLock { $0.current.pipeline }.interruptSinks() }

    func reopenSinks() {
        // Asked first, said after: once the line is out, the next event goes to the new file.
        state.withLock { $0.current.pipeline }.reopenSinks()
        Log.main.info("SIGUSR1: the sinks reopen their output files before their next event")
    }

    /// SIGHUP, on the signal thread: checks the file again and, when it is
    /// valid and differs, ends the running pipeline for `runUntilStopped` to
    /// start the next.
    func reload() {
        let document: PipelineDocument
        do {
            document = try PipelineCommand.load(file)
        } catch {
            Log.main.warning("reload: \("\(error)".lineSafe); kept the running pipeline")
            return
        }
        let problems = PipelineValidator(registry: .standard).problems(in: document)
        guard problems.isEmpty else {
            let listed = problems.map(\.description).joined(separator: "\n")
            Log.main.warning("reload: \(file.lineSafe) has \(problems.count) problem\(problems.count == 1 ? "" : "s"); kept the running pipeline:\n\(listed)")
            return
        }
        let pipeline = state.withLock { state -> Pipeline? in
            guard !state.stopping else { return nil }
            if Self.sameComponents(document, state.pending ?? state.current.document) {
                return nil
            }
            state.pending = document
            return state.current.pipeline
        }
        guard let pipeline else {
            Log.main.notice("reload: \(file.lineSafe) unchanged (or stopping): nothing to do")
            return
        }
        if document.metricsAddress != state.withLock({ $0.current.document.metricsAddress }) {
            Log.main.warning("reload: the metrics address changes at the next start, not on reload")
        }
        pipeline.suspend()
    }

    /// Between two pipelines: the old one has delivered everything and
    /// closed its sinks; its unchanged sources are suspended.
    private func handOver(from old: Generation, to document: PipelineDocument) throws {
        let kept = Dictionary(uniqueKeysWithValues: old.sources.filter { entry in
            entry.source.resumable && document.components.contains { new in
                old.document.components.contains { $0.hasSameSettings(as: new) && $0.name == entry.name }
            }
        }.map { ($0.name, $0.source) })
        let carried = state.withLock { Self.total(old.pipeline.stats.carried(continuing: Set(kept.keys)), $0.carried) }
        old.registry.unregister()
        let next: Generation
        do {
            next = try Self.start(document, reusing: kept, metrics: metrics, carried: { carried })
            let started = next.sources.filter { kept[$0.name] !== $0.source }
            Log.main.notice("""
                reload: \(file.lineSafe): sources kept running: \(Self.names(kept.keys)); \
                started: \(Self.names(started.map(\.name))); transforms and sinks restarted
                """)
            for (name, source) in started { StartupReport(source: source, name: name).print() }
        } catch {
            // The new file was valid but a component failed to start (a
            // database it cannot open, a program the kernel refuses).
            let reason = (error as? PipelineBuildError)?.problems.map(\.description).joined(separator: "; ") ?? "\(error)"
            Log.main.error("reload: cannot start the new pipeline: \(reason.lineSafe); running the previous one again")
            let all = Dictionary(uniqueKeysWithValues: old.sources.filter(\.source.resumable).map { ($0.name, $0.source) })
            next = try Self.start(old.document, reusing: all, metrics: metrics, carried: { carried })
        }
        let retired = old.sources.filter { entry in !next.sources.contains { $0.source === entry.source } }
        let stopping = state.withLock { state in
            state.carried = carried
            state.retiredCounts += retired.flatMap(\.source.closingCounts)
            state.current = next
            return state.stopping
        }
        for (_, source) in retired { source.stop() }
        observe(next)
        // A stop during the hand-over: the new pipeline still delivers what
        // its sources captured meanwhile, then ends.
        if stopping { next.pipeline.stop() }
    }

    /// Builds and registers one pipeline (not started).
    private static func start(_ document: PipelineDocument, reusing: [String: any EventSource], metrics: MetricsEndpoint?,
                              carried: () -> PipelineStats?) throws -> Generation {
        let built = try PipelineBuilder(registry: .standard).build(document, reusing: reusing,
                                                                    onDeliveryError: DeliveryErrorReport().handle)
        let sources = built.components.compactMap { entry -> (name: String, source: any EventSource)? in
            if case .source(let source) = entry.component { (entry.name, source) } else { nil }
        }
        var sinks: [any EventSink] = []
        for case (let name, .sink(let sink)) in built.components {
            for line in SinkStartupReport(sinkName: name, sink: sink).lines { Log.emit(line, level: .notice) }
            sinks.append(sink)
        }
        let registry = InstanceRegistry(sources: sources.map(\.source), outputs: InstanceRegistry.outputs(of: sinks))
        for warning in registry.register() { Log.emit(warning, level: .warning) }
        let reaction = SinkFailureReaction()
        var configuration = PipelineConfiguration().reporting(to: metrics)
        configuration.logger = Log.main
        let pipeline = try Pipeline(topology: built.topology, configuration: configuration,
                                    errorHandler: reaction.handle)
        reaction.pipeline = pipeline
        return Generation(document: document, sources: sources, pipeline: pipeline, registry: registry)
    }

    private func observe(_ generation: Generation) {
        metrics?.metrics.observe(stats: { [self] in stats }, sources: generation.sources)
    }

    private static func total(_ stats: PipelineStats, _ carried: PipelineStats?) -> PipelineStats {
        carried.map { stats.adding($0) } ?? stats
    }

    /// Whether two versions of the file declare the same components.
    private static func sameComponents(_ a: PipelineDocument, _ b: PipelineDocument) -> Bool {
        a.components.count == b.components.count
            && a.components.allSatisfy { new in b.components.contains { $0.hasSameSettings(as: new) } }
    }

    private static func names(_ names: some Sequence<String>) -> String {
        let sorted = names.sorted()
        return sorted.isEmpty ? "none" : sorted.map(\.lineSafe).joined(separator: ", ")
    }
}
