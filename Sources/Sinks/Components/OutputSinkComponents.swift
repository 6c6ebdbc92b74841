import FSProbeCore

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

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        path = try options.required("path", options.string("path"))
        guard !path.isEmpty else { throw ComponentOptionError(option: "path", "is empty: expected a file path") }
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
        "file", summary: "appends JSON lines to a file (created 0600)",
        options: [OptionSpec("path", .string, required: true, "the file to write")]
    ) { (options: FileSinkOptions, context) in
        try FileSink(path: options.path, format: .json, name: context.name)
    }
}
