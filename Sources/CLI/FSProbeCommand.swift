import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `fsprobe`: the root command. Without a subcommand it watches paths, like
/// the original FSProbe (`fsprobe [paths] [flags]`).
@main
struct FSProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsprobe",
        abstract: "A file-system event notifier based on eBPF.",
        discussion: """
            fsprobe hooks file-system operations in the kernel and resolves each \
            path there, so the paths it reports are absolute and resolved.
            """,
        subcommands: [WatchCommand.self, RunCommand.self, QueryCommand.self, KernelInfoCommand.self, PipelineCommand.self, ComponentsCommand.self],
        defaultSubcommand: WatchCommand.self
    )

    /// Parses and runs, reporting any error as one line on stderr: a user
    /// needs the culprit and the fix, not a usage dump or a stack trace.
    static func main() {
        Log.bootstrap()
        let arguments: [String]
        do {
            arguments = try ArgumentCompatibility.rewrite(Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandleStderr.write("fsprobe: \(error)\n")
            Glibc.exit(2)
        }
        // `fsprobe -h` documents the default command, watching, which is
        // what users run, then lists the others.
        if arguments == ["-h"] || arguments == ["--help"] {
            print(WatchCommand.helpMessage(columns: nil))
            print(subcommandList)
            return
        }
        if arguments == ["--version"] {
            print(FSProbeVersion.line)
            return
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            // An ExitCode thrown by a command has already said what it had to say.
            let message = error is ExitCode ? "" : Self.oneLine(message(for: error))
            if !message.isEmpty { FileHandleStderr.write("fsprobe: \(Self.strippingErrorPrefix(message))\n") }
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }

    /// The commands besides watching, for `fsprobe --help`.
    static var subcommandList: String {
        var commands: [(name: String, abstract: String)] = []
        for command in configuration.subcommands where command != WatchCommand.self {
            commands.append((command.configuration.commandName ?? "", command.configuration.abstract))
        }
        let width = commands.map(\.name.count).max() ?? 0
        var text = "SUBCOMMANDS:\n"
        for (name, abstract) in commands {
            text += "  " + name + String(repeating: " ", count: width - name.count + 2) + abstract + "\n"
        }
        return text + "\n  See 'fsprobe help <subcommand>' for its options; 'fsprobe --version' for the version.\n"
    }

    /// The parser's message on one line: a list it puts below ("Please
    /// provide one of the following:" and one "- value" per line) joins the
    /// first line, comma-separated; other lines after the first are dropped.
    static func oneLine(_ message: String) -> String {
        let lines = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first else { return message }
        guard first.hasSuffix(":") else { return first }
        let items = lines.dropFirst().prefix { $0.hasPrefix("- ") }.map { String($0.dropFirst(2)) }
        return items.isEmpty ? first : first + " " + items.joined(separator: ", ")
    }

    static func strippingErrorPrefix(_ message: String) -> String {
        // ArgumentParser starts its messages with "Error: " on some paths.
        var text = message
        if text.hasPrefix("Error: ") { text.removeFirst(7) }
        return text
    }
}

enum FileHandleStderr {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }
}
