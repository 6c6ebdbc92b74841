import FSProbeCore
import FSProbePipeline

/// `type: kernel` in a pipeline file: file-system events from the kernel.
public struct KernelSourceOptions: ComponentOptionsDecodable {
    public var paths: [String]
    public var probe = KernelProbeOptions()
    /// The `host` its events carry; nil for the machine's name.
    public var host: String?

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        paths = options.strings("paths") ?? []
        if let names = options.strings("events") {
            var types: [EventType] = []
            for name in names {
                if name == "all" { types += EventType.allCases; continue }
                guard let type = EventType(name: name) else {
                    throw ComponentOptionError(option: "events", "unknown event type '\(name)'")
                }
                types.append(type)
            }
            probe.events = EventTypeSet(types)
        } else {
            probe.events = EventTypeSet(EventType.allCases)
        }
        probe.recursive = try options.bool("recursive") ?? true
        probe.follow = try options.bool("follow") ?? true
        probe.pathsFiltering = try options.bool("paths_filtering") ?? true
        if let pages = try options.integer("ring_buffer_pages", in: Int.min...Int.max) { probe.ringBufferPages = pages }
        if let backend = try options.string("backend"), backend != "auto" {
            guard let kind = BackendKind(rawValue: backend) else {
                throw ComponentOptionError(option: "backend", "expected auto, \(BackendKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(backend)'")
            }
            probe.backend = kind
        }
        if let mode = try options.choice("dentry_resolution_mode", as: ResolutionMode.self) {
            probe.resolutionMode = mode
        }
        // Sizes are only read here; `validate` judges them, with the
        // bounds and units (and the mode's) in its message.
        probe.kernelCacheEntries = try options.integer("kernel_cache_size", in: Int.min...Int.max)
        if let entries = try options.integer("path_cache_size", in: Int.min...Int.max) {
            probe.pathCacheEntries = entries
        }
        do {
            try probe.validate()
        } catch {
            throw ComponentOptionError(option: Self.option(error.setting), "invalid value \(error.value): expected \(error.expected)")
        }
        if let name = try options.string("host") {
            guard EventOrigin.isValidHost(name) else {
                throw ComponentOptionError(option: "host", "invalid value '\(name)': expected 1 to 255 bytes of UTF-8 without control characters")
            }
            host = name
        }
        if probe.pathsFiltering && paths.isEmpty {
            throw ComponentOptionError(option: "paths", "no path to watch: list paths, or set paths_filtering: false for the whole file system")
        }
    }

    /// The source these options describe.
    public func makeSource() throws -> KernelEventSource {
        try KernelEventSource(paths: probe.pathsFiltering ? paths : [], options: probe, host: host)
    }

    /// The option of a pipeline file that sets `setting`.
    static func option(_ setting: KernelProbeOptions.Setting) -> String {
        switch setting {
        case .ringBufferPages: "ring_buffer_pages"
        case .kernelCacheEntries: "kernel_cache_size"
        case .pathCacheEntries: "path_cache_size"
        case .maxWatchedInodes: "\(setting)"  // no option sets it: only an embedding program can
        case .events: "events"
        }
    }
}

extension ComponentType {
    public static let kernelSource = ComponentType.source(
        "kernel", summary: "file-system events from the kernel (eBPF)",
        options: [
            OptionSpec("paths", .stringList, "files and directories to watch"),
            OptionSpec("events", .choiceList(EventType.allCases.map(\.name) + ["all"]), "event types to report (default: all)"),
            OptionSpec("recursive", .bool, "watch directories recursively (default: true)"),
            OptionSpec("follow", .bool, "keep watching files moved out of a watched directory (default: true)"),
            OptionSpec("paths_filtering", .bool, "report only events on the watched paths (default: true)"),
            OptionSpec("ring_buffer_pages", .positiveInteger, "kernel-to-user ring buffer, in 4 KiB pages, a power of two (default: \(KernelProbeOptions.defaultRingBufferPages))"),
            OptionSpec("backend", .choice(["auto"] + BackendKind.allCases.map(\.rawValue)), "hook backend (default: auto)"),
            OptionSpec("dentry_resolution_mode", .choice(ResolutionMode.allCases.map(\.rawValue)),
                       "where the paths of the directories the kernel's walks stop at are cached (default: perf_buffer)"),
            OptionSpec("kernel_cache_size", .positiveInteger,
                       "entries of the kernel's directory cache (default: 16384; 1024 with single_fragment, at most 65536)"),
            OptionSpec("path_cache_size", .positiveInteger,
                       "entries of user space's cache of directory paths (default: 32768, at most 1048576)"),
            OptionSpec("host", .string, "the host name its events carry in `host` (default: the machine's name)"),
        ]
    ) { (options: KernelSourceOptions, _) in
        try options.makeSource()
    }
}
