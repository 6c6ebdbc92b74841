import ArgumentParser
import Logging
import FSProbeCore
import FSProbePipeline
import FSProbeSinks
import FSProbeSources
#if canImport(Glibc)
import Glibc
#endif

/// `fsprobe [paths] [flags]`: watch paths and print their events.
/// Flags and defaults follow the original FSProbe.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch files and directories and report their events (the default command).",
        usage: "fsprobe [<paths> ...] [<options>]",
        discussion: """
            fsprobe hooks file-system operations in the kernel and resolves each path \
            there, so the paths it reports are absolute and resolved.

            Example: sudo fsprobe /tmp -e open -e rename --format json
            """
    )

    @Argument(help: "Files or directories to watch (relative paths are resolved).")
    var paths: [String] = []

    @Option(name: [.customShort("s"), .customLong("chan-size")], help: "Capacity of the user-space event buffer.")
    var chanSize: Int = 1000

    @Option(name: .customLong("dentry-resolution-mode"),
            help: "Where the paths of the directories the kernel's walks stop at are cached: perf_buffer (in user space, learnt from events), fragments (in the kernel, one entry per directory) or single_fragment (in the kernel, one whole path per directory).")
    var dentryResolutionMode: ResolutionMode = .perfBuffer

    @Option(name: .customLong("kernel-cache-size"),
            help: "Entries of the kernel's directory cache (default: 16384; 1024 with single_fragment, whose entries are 4 KiB).")
    var kernelCacheSize: Int?

    @Option(name: .customLong("path-cache-size"),
            help: "Entries of user space's cache of directory paths, least recently used out first.")
    var pathCacheSize: Int = KernelProbeOptions.defaultPathCacheEntries

    @Option(name: [.short, .customLong("event")],
            help: ArgumentHelp("Event type to report; repeat the flag or separate with commas; 'all' for every type. Default: open.",
                               valueName: "open|mkdir|link|rename|setattr|unlink|rmdir|modify|all"))
    var event: [EventTypeList] = []

    @Flag(inversion: .prefixedNo,
          help: "Keep watching files and directories moved out of a watched directory (also --follow=false).")
    var follow = true

    @Option(name: [.short, .customLong("format")], help: "Output format: table, json or none.")
    var format: OutputFormatOption = .table

    @Option(name: [.short, .customLong("output")], help: "Write events to this file (created 0600) instead of stdout.")
    var output: String?

    @Flag(name: .customLong("paths-filtering"), inversion: .prefixedNo,
          help: "Report only events on the watched paths; --paths-filtering=false reports the whole file system.")
    var pathsFiltering = true

    @Option(name: .customLong("perf-buffer-size"),
            help: "Kernel-to-user ring buffer size, in 4 KiB pages (a power of two).")
    var perfBufferSize: Int = KernelProbeOptions.defaultRingBufferPages

    @Flag(name: [.short, .customLong("recursive")], inversion: .prefixedNo,
          help: "Watch subdirectories to any depth (also -r=false: only immediate children).")
    var recursive = true

    @Option(name: .customLong("backend"),
            help: "Hook backend: auto, fentry, kprobe or tracepoint (auto picks the best the kernel accepts).")
    var backend: BackendOption = .auto

    @Option(name: .customLong("pipeline"), help: "Run this pipeline file instead of the pipeline the flags describe (as 'fsprobe run FILE').")
    var pipeline: String?

    @OptionGroup var runOptions: RunOptions

    @Option(name: .customLong("host"),
            help: ArgumentHelp("The host name events carry (`host`, and the stream of `event_id`).", valueName: "name"))
    var host: String?

    /// The benchmarks' floor (Benchmarks/OpenCost): the same hooks, each
    /// program returning at once. Hidden: it reports nothing.
    @Flag(name: .customLong("bench-empty-programs"),
          help: ArgumentHelp("Benchmarks only: attach the hooks with empty programs (reports nothing).", visibility: .hidden))
    var benchEmptyPrograms = false

    /// The kernel source as a pipeline file would declare it: the flags
    /// become the `kernel` component's options, so that one decoder
    /// (`KernelSourceOptions`) turns either into the probe's options, and
    /// names a refused value by its option, which `flag(of:)` turns into the
    /// flag that set it.
    var kernelSourceOptions: [String: OptionValue] {
        var values: [String: OptionValue] = [
            "paths": .list(paths),
            "events": .list(EventType.allCases.filter { eventTypes.contains($0) }.map(\.name)),
            "recursive": .scalar("\(recursive)"),
            "follow": .scalar("\(follow)"),
            "paths_filtering": .scalar("\(pathsFiltering)"),
            "ring_buffer_pages": .scalar("\(perfBufferSize)"),
            "backend": .scalar(backend.rawValue),
            "dentry_resolution_mode": .scalar(dentryResolutionMode.rawValue),
            "path_cache_size": .scalar("\(pathCacheSize)"),
        ]
        if let kernelCacheSize { values["kernel_cache_size"] = .scalar("\(kernelCacheSize)") }
        if let host { values["host"] = .scalar(host) }
        return values
    }

    /// The flag that sets the kernel source's `option`.
    static func flag(of option: String) -> String {
        switch option {
        case "paths": "paths"
        case "events": "-e/--event"
        case "ring_buffer_pages": "--perf-buffer-size"
        case "kernel_cache_size", "path_cache_size", "dentry_resolution_mode", "paths_filtering", "backend":
            "--" + option.replacingOccurrences(of: "_", with: "-")
        case "host": "--host"
        case "recursive": "-r/--recursive"
        case "follow": "--follow"
        default: option  // an option no flag sets (an embedder's setting)
        }
    }

    func validate() throws {
        if pipeline != nil {
            // The file describes sources and sinks; flags describing them too would be ignored silently.
            guard paths.isEmpty else {
                throw ValidationError("--pipeline runs the file's sources: remove the paths (\(paths.map(\.lineSafe).joined(separator: " ")))")
            }
            guard event.isEmpty else {
                throw ValidationError("--pipeline runs the file's sources: remove -e/--event (a kernel source's events: option selects them)")
            }
            guard host == nil else {
                throw ValidationError("--pipeline runs the file's sources: remove --host (a kernel source's host: option sets it)")
            }
            guard output == nil else {
                throw ValidationError("--pipeline runs the file's sinks: remove -o/--output (add a file sink to the file)")
            }
            return
        }
        guard runOptions.statsInterval == 0 else {
            throw ValidationError("--stats-interval applies to --pipeline runs only (the stopped line gives the counters)")
        }
        guard runOptions.statsFormat == .text else {
            throw ValidationError("--stats-format applies to --pipeline runs only (the stopped line gives the counters)")
        }
        guard (1...BoundedBuffer<FileEvent>.maxCapacity).contains(chanSize) else {
            throw ValidationError("invalid --chan-size \(chanSize): expected 1 to \(BoundedBuffer<FileEvent>.maxCapacity) events")
        }
        if pathsFiltering && paths.isEmpty {
            throw ValidationError("no path to watch: give one or more paths, or --paths-filtering=false for the whole file system")
        }
        // The kernel source's own checks, here so that every bad flag is
        // refused the same way (exit status 2) before anything is loaded.
        _ = try kernelSource()
    }

    var eventTypes: EventTypeSet {
        event.isEmpty ? .openOnly : EventTypeSet(event.flatMap(\.types))
    }

    /// The kernel source the flags describe (checked, not loaded).
    func kernelSource() throws -> KernelSourceOptions {
        var source: KernelSourceOptions
        do {
            source = try KernelSourceOptions(ComponentOptions(component: "fsprobe", values: kernelSourceOptions))
        } catch {
            throw ValidationError("\(Self.flag(of: error.option)): \(error.message)")
        }
        source.probe.emptyPrograms = benchEmptyPrograms
        // Where the kernel's BTF is read; settable to check fsprobe's behaviour
        // on a kernel without BTF, or to point at BTF shipped separately.
        if let btf = getenv("FSPROBE_KERNEL_BTF") { source.probe.kernelBTFPath = String(cString: btf) }
        return source
    }

    func run() throws {
        if let pipeline {
            try PipelineRunner(file: pipeline, options: runOptions).run()
            return
        }
        try runOptions.logging.apply()
        let signals = SignalForwarder(blocking: [SIGINT, SIGTERM, SIGHUP, SIGUSR1])
        let metrics = try MetricsEndpoint(address: runOptions.metricsEndpointAddress)
        defer { metrics?.stop() }
        let sink = try makeSink()
        let source = try kernelSource().makeSource()
        // A closed stdout becomes EPIPE, handled by SinkFailureReaction, rather than a silent kill.
        let registry = InstanceRegistry(sources: [source], outputs: InstanceRegistry.outputs(of: [sink]))
        for warning in registry.register() { Log.emit(warning, level: .warning) }
        defer { registry.unregister() }
        signal(SIGPIPE, SIG_IGN)
        let reaction = SinkFailureReaction()
        var configuration = PipelineConfiguration(bufferCapacity: chanSize).reporting(to: metrics)
        configuration.logger = Log.main
        let pipeline = Pipeline(source: source, transforms: [], sinks: [sink], configuration: configuration,
                                errorHandler: reaction.handle)
        reaction.pipeline = pipeline
        // "source": the stage's name in a flags-only run, as in `stats`.
        metrics?.observe(pipeline, sources: [("source", source)])
        signals.forward(deadline: runOptions.shutdownTimeout, onDeadline: { pipeline.interruptSinks() }) { pipeline.stop() }
        // No file to reload: both signals reopen the -o file (logrotate).
        for number in [SIGHUP, SIGUSR1] {
            signals.handle(number) {
                pipeline.reopenSinks()
                Log.main.info("\(String(cString: strsignal(number))): the output file is reopened before the next event")
            }
        }

        StartupReport(source: source).print()
        try pipeline.run()
        try ShutdownReport(sources: [source], pipeline: pipeline.stats).finish()
    }

    func makeSink() throws -> any EventSink {
        let format: OutputFormat = switch format {
        case .table: .table
        case .json: .json
        case .none: .none
        }
        if let output { return try FileSink(path: output, format: format) }
        return StdoutSink(format: format)
    }
}
