import FSProbeCore
import FSProbePipeline

/// `type: stdout` in a pipeline file.
public struct StdoutSinkOptions: ComponentOptionsDecodable {
    public var format: OutputFormat

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        format = switch try options.string("format") ?? "table" {
        case "table": .table
        case "json": .json
        case let other: throw ComponentOptionError(option: "format", "expected table or json, got '\(other)'")
        }
    }
}

/// `type: file` in a pipeline file: JSON lines appended to a file created 0600.
public struct FileSinkOptions: ComponentOptionsDecodable {
    public var path: String
    public var rotation: FileSink.Rotation?
    public var sync: FileSink.SyncPolicy

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        path = try options.required("path", options.string("path"))
        guard !path.isEmpty else { throw ComponentOptionError(option: "path", "is empty: expected a file path") }
        let keep = try options.integer("max_files", in: 1...1000)
        if let maxBytes = try options.integer("max_bytes", in: 4096...Int.max) {
            rotation = FileSink.Rotation(maxBytes: maxBytes, keep: keep ?? 5)
        } else if keep != nil {
            throw ComponentOptionError(option: "max_files", "applies only with max_bytes (rotation by size)")
        }
        sync = try options.choice("fsync", as: FileSink.SyncPolicy.self) ?? .never
    }
}

extension ComponentType {
    public static let stdoutSink = ComponentType.sink(
        "stdout", summary: "prints events on standard output",
        options: [OptionSpec("format", .choice(["table", "json"]), "output format (default: table)")]
    ) { (options: StdoutSinkOptions, context) in
        StdoutSink(format: options.format, name: context.name)
    }

    public static let fileSink = ComponentType.sink(
        "file", summary: "appends JSON lines to a file (created 0600), rotated by size if asked",
        options: [
            OptionSpec("path", .string, required: true, "the file to write"),
            OptionSpec("max_bytes", .positiveInteger, "rotate when the file reaches this size (at least 4096): it becomes PATH.1, older ones shift"),
            OptionSpec("max_files", .positiveInteger, "with max_bytes: rotated files kept, PATH.1 to PATH.N (default 5)"),
            OptionSpec("fsync", .choice(FileSink.SyncPolicy.allCases.map(\.rawValue)), "never (default) or every_flush: fdatasync after each batch"),
        ]
    ) { (options: FileSinkOptions, context) in
        try FileSink(path: options.path, format: .json, name: context.name, rotation: options.rotation, sync: options.sync)
    }
}
