import ArgumentParser
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

    /// The benchmarks' floor (Benchmarks/OpenCost): the same hooks, each
    /// program returning at once. Hidden: it reports nothing.
    @Flag(name: .customLong("bench-empty-programs"),
          help: ArgumentHelp("Benchmarks only: attach the hooks with empty programs (reports nothing).", visibility: .hidden))
    var benchEmptyPrograms = false

    /// The flag that sets `setting`.
    static func flag(_ setting: KernelProbeOptions.Setting) -> String {
        switch setting {
        case .ringBufferPages: "--perf-buffer-size"
        case .kernelCacheEntries: "--kernel-cache-size"
        case .pathCacheEntries: "--path-cache-size"
        case .maxWatchedInodes: "\(setting)"  // no flag sets it: only an embedding program can
        case .events: "--event"
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
            guard output == nil else {
                throw ValidationError("--pipeline runs the file's sinks: remove -o/--output (add a file sink to the file)")
            }
            return
        }
        guard runOptions.statsInterval == 0 else {
            throw ValidationError("--stats-interval applies to --pipeline runs only (the stopped line gives the counters)")
        }
        guard (1...BoundedBuffer<FileEvent>.maxCapacity).contains(chanSize) else {
            throw ValidationError("invalid --chan-size \(chanSize): expected 1 to \(BoundedBuffer<FileEvent>.maxCapacity) events")
        }
        // The kernel source's own checks, here so that every bad flag is
        // refused the same way (exit status 2) before anything is loaded.
        do {
            try probeOptions.validate()
        } catch {
            throw ValidationError("invalid \(Self.flag(error.setting)) \(error.value): expected \(error.expected)")
        }
        if pathsFiltering && paths.isEmpty {
            throw ValidationError("no path to watch: give one or more paths, or --paths-filtering=false for the whole file system")
        }
    }

    var eventTypes: EventTypeSet {
        event.isEmpty ? .openOnly : EventTypeSet(event.flatMap(\.types))
    }

    var probeOptions: KernelProbeOptions {
        var options = KernelProbeOptions()
        options.events = eventTypes
        options.pathsFiltering = pathsFiltering
        options.recursive = recursive
        options.follow = follow
        options.ringBufferPages = perfBufferSize
        options.backend = backend.backend
        options.resolutionMode = dentryResolutionMode
        options.kernelCacheEntries = kernelCacheSize
        options.pathCacheEntries = pathCacheSize
        options.emptyPrograms = benchEmptyPrograms
        // Where the kernel's BTF is read; settable to check fsprobe's behaviour
        // on a kernel without BTF, or to point at BTF shipped separately.
        if let btf = getenv("FSPROBE_KERNEL_BTF") { options.kernelBTFPath = String(cString: btf) }
        return options
    }

    func run() throws {
        if let pipeline {
            try PipelineRunner(file: pipeline, statsInterval: runOptions.statsInterval, shutdownTimeout: runOptions.shutdownTimeout).run()
            return
        }
        let signals = SignalForwarder(blocking: [SIGINT, SIGTERM, SIGHUP])
        let sink = try makeSink()
        let source = try KernelEventSource(paths: pathsFiltering ? paths : [], options: probeOptions)
        // A closed stdout becomes EPIPE, handled by SinkFailureReaction, rather than a silent kill.
        let registry = InstanceRegistry(sources: [source], outputs: InstanceRegistry.outputs(of: [sink]))
        for warning in registry.register() { FileHandleStderr.write(warning + "\n") }
        defer { registry.unregister() }
        signal(SIGPIPE, SIG_IGN)
        let reaction = SinkFailureReaction()
        let pipeline = Pipeline(source: source, transforms: [], sinks: [sink], bufferCapacity: chanSize,
                                errorHandler: reaction.handle)
        reaction.pipeline = pipeline
        signals.forward(deadline: runOptions.shutdownTimeout, onDeadline: { pipeline.interruptSinks() }) { pipeline.stop() }

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
