import ArgumentParser
import Foundation
import FSProbeCore

/// `fsprobe pipeline validate|graph FILE`: pipeline files checked and drawn
/// without loading anything into the kernel.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Check or draw a pipeline file.",
        subcommands: [Validate.self, Graph.self]
    )

    /// Reads and parses FILE, with the process environment for `${VAR}`.
    static func load(_ path: String) throws -> PipelineDocument {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read pipeline file \(path.lineSafe): \(String(cString: strerror(errno)))")
        }
        return PipelineDocument(file: path, text: String(decoding: data, as: UTF8.self),
                                environment: ProcessInfo.processInfo.environment)
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every problem of a pipeline file, as FILE:LINE:COLUMN: message; exit 1 if any.")

        @Argument(help: "The pipeline file (YAML).")
        var file: String

        func run() throws {
            let document = try PipelineCommand.load(file)
            let problems = PipelineValidator().problems(in: document)
            guard problems.isEmpty else {
                FileHandleStderr.write(problems.map { "\($0)\n" }.joined())
                throw ExitCode(1)
            }
            let counts = ComponentRole.allCases.map { role in
                "\(document.components.filter { $0.role == role }.count) \(role.section)"
            }
            print("\(file.lineSafe): valid: " + counts.joined(separator: ", "))
        }
    }

    struct Graph: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the topology of a pipeline file as Graphviz DOT or Mermaid.")

        @Argument(help: "The pipeline file (YAML).")
        var file: String

        @Option(help: "dot or mermaid.")
        var format: GraphFormat = .dot

        func run() throws {
            let document = try PipelineCommand.load(file)
            if let problem = document.problems.first {
                throw ValidationError("\(problem)")
            }
            print(PipelineGraph.render(document, as: format.format), terminator: "")
        }
    }
}

enum GraphFormat: String, ExpressibleByArgument, CaseIterable {
    case dot, mermaid

    var format: PipelineGraph.Format { self == .dot ? .dot : .mermaid }
}

/// `fsprobe components`: every component type a pipeline file can use, with its options.
struct ComponentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "components",
        abstract: "List the source, transform and sink types of pipeline files, with their options.")

    func run() {
        for role in ComponentRole.allCases {
            print("\(role.section):")
            for type in ComponentRegistry.builtIn.types where type.role == role {
                print("  \(type.name) — \(type.summary)")
                for option in type.options {
                    print("    \(option.name)\(option.required ? " (required)" : ""): \(option.kind) — \(option.summary)")
                }
            }
        }
    }
}
