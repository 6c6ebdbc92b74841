import ArgumentParser
import Foundation
import Logging
import Synchronization

/// What fsprobe says while it runs (ready, stats, reloads, warnings, the
/// stopped line), through swift-log, to stderr: as `fsprobe: MESSAGE` lines
/// (the default, what scripts wait for), or as one JSON object a line for
/// journald and container log collectors (`--log-format json`).
///
/// Errors that end the command before it runs (a refused flag) are not log
/// records: they are always the one `fsprobe: …` line.
enum Log {
    /// The run's logger; also handed to the pipeline (`PipelineConfiguration.logger`).
    static let main = Logger(label: "fsprobe")

    /// The level and format every fsprobe logger follows; set by `LogOptions`.
    static let settings = Mutex(Settings())

    struct Settings: Sendable {
        var level: Logger.Level = .info
        var format: LogOptions.Format = .text
    }

    /// Logs `line`, a report's line as printed without logging ("fsprobe:
    /// ready: …"): its `fsprobe: ` goes, the text log format puts it back.
    static func emit(_ line: String, level: Logger.Level) {
        let message = line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)) : line
        main.log(level: level, "\(message)")
    }

    private static let prefix = "fsprobe: "

    /// Every `Logger` of the process, fsprobe's modules' included, writes
    /// through `ConsoleLogHandler`. Call once, first thing.
    static func bootstrap() {
        LoggingSystem.bootstrap { label in ConsoleLogHandler(label: label) }
    }
}

/// `--log-level`, `-q` and `--log-format`, shared by every command that runs a pipeline.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, json
    }

    static let levels = Logger.Level.allCases.map(\.rawValue)

    @Option(name: .customLong("log-level"),
            help: ArgumentHelp("Least level logged: \(levels.joined(separator: ", ")) (default info, or FSPROBE_LOG_LEVEL).", valueName: "level"))
    var level: String?

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only warnings and errors (--log-level warning).")
    var quiet = false

    @Option(name: .customLong("log-format"), help: "stderr lines as 'text' (fsprobe: …) or 'json' (one object a line).")
    var format: Format = .text

    /// The level asked for: the flag, else `FSPROBE_LOG_LEVEL`, else info.
    func resolvedLevel(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Logger.Level {
        if quiet {
            guard level == nil else { throw ValidationError("-q/--quiet and --log-level both set the level: give one") }
            return .warning
        }
        if let level {
            guard let parsed = Logger.Level(rawValue: level) else {
                throw ValidationError("--log-level: invalid value \(level.lineSafe): expected \(Self.levels.joined(separator: ", "))")
            }
            return parsed
        }
        if let text = environment["FSPROBE_LOG_LEVEL"], !text.isEmpty {
            guard let parsed = Logger.Level(rawValue: text.lowercased()) else {
                throw ValidationError("FSPROBE_LOG_LEVEL: invalid value \(text.lineSafe): expected \(Self.levels.joined(separator: ", "))")
            }
            return parsed
        }
        return .info
    }

    func validate() throws { _ = try resolvedLevel() }

    /// Makes these the settings of every logger.
    func apply() throws {
        let level = try resolvedLevel()
        Log.settings.withLock { $0 = Log.Settings(level: level, format: format) }
    }
}

/// Writes records to stderr in `Log.settings`' format, at its level.
struct ConsoleLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    /// Process-wide (`--log-level`): a logger's own setting is not kept.
    var logLevel: Logger.Level {
        get { Log.settings.withLock { $0.level } }
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let own = event.metadata { all.merge(own) { _, new in new } }
        switch Log.settings.withLock({ $0.format }) {
        case .text:
            // Messages are written line-safe; metadata is for the JSON form.
            FileHandleStderr.write("fsprobe: \(event.message)\n")
        case .json:
            FileHandleStderr.write(Self.json(event, metadata: all, label: label) + "\n")
        }
    }

    private static func json(_ event: LogEvent, metadata: Logger.Metadata, label: String) -> String {
        var object: [String: String] = metadata.mapValues(\.description)
        let time = ISO8601DateFormatter()
        time.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        object["time"] = time.string(from: Date())
        object["level"] = event.level.rawValue
        object["message"] = "\(event.message)"
        object["logger"] = label
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A dictionary of strings always encodes; JSON escapes every control character.
        return String(decoding: try! encoder.encode(object), as: UTF8.self)
    }
}
