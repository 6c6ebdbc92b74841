import ArgumentParser
import Foundation
import FSProbeCore
import FSProbePipeline
import FSProbePipelineFile

/// `fsprobe pipeline validate|graph FILE`: pipeline files checked and drawn
/// without loading anything into the kernel.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Check, draw or test a pipeline file.",
        subcommands: [Validate.self, Graph.self, Test.self]
    )

    /// Reads and parses FILE, with the process environment for `${VAR}`
    /// (`asWritten`: every `${…}` kept as the file writes it).
    static func load(_ path: String, asWritten: Bool = false) throws -> PipelineDocument {
        try PipelineDocument(file: path, text: read(path), environment: asWritten ? nil : ProcessInfo.processInfo.environment)
    }

    /// Pipeline files are small: a larger one is a mistake (a log, a device).
    static let maxFileBytes = 1 << 20

    static func read(_ path: String) throws -> String {
        func refuse(_ reason: String) -> ValidationError {
            ValidationError("cannot read pipeline file \(path.lineSafe): \(reason)")
        }
        var status = stat()
        guard stat(path, &status) == 0 else { throw refuse(String(cString: strerror(errno))) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw refuse("is a directory (expected a YAML file)")
        default: throw refuse("not a regular file (expected a YAML file)")
        }
        guard status.st_size <= maxFileBytes else {
            throw refuse("\(status.st_size) bytes (expected a YAML file of at most \(maxFileBytes) bytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw refuse(String(cString: strerror(errno)))
        }
        return String(decoding: data, as: UTF8.self)
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every problem of a pipeline file, as FILE:LINE:COLUMN: message; exit 1 if any.")

        @Argument(help: "The pipeline file (YAML).")
        var file: String

        @Flag(help: """
            Also start every component as a run would, then stop it: load the kernel sources' BPF programs, \
            open the sinks (creating missing files and databases), connect to brokers. Needs a run's privileges.
            """)
        var environment = false

        func run() throws {
            // The tests section too: what `pipeline test` would refuse, validate refuses.
            let (document, _) = try PipelineCommand.checked(file, tester: PipelineTester(registry: .standard))
            let counts = ComponentRole.allCases.map { role in
                "\(document.components.filter { $0.role == role }.count) \(role.section)"
            }
            print("\(file.lineSafe): valid: " + counts.joined(separator: ", "))
            if environment { try startAndStop(document) }
        }

        /// Builds every component (what fails says which, where it is
        /// declared, and why; exit 1), says what each source runs on, and
        /// closes everything again without reading an event.
        private func startAndStop(_ document: PipelineDocument) throws {
            let built: [(name: String, component: BuiltComponent)]
            do {
                built = try PipelineBuilder(registry: .standard).build(document).components
            } catch {
                FileHandleStderr.write(error.problems.map { "\($0)\n" }.joined())
                throw ExitCode(1)
            }
            var failed = false
            for (name, component) in built {
                switch component {
                case .source(let source):
                    print("\(file.lineSafe): source \(name.lineSafe): starts: \(source.readiness ?? "ready")")
                    source.stop()
                case .transform:
                    break
                case .sink(let sink):
                    do {
                        try sink.close()
                        print("\(file.lineSafe): sink \(name.lineSafe): opens and closes")
                    } catch {
                        FileHandleStderr.write("\(file.lineSafe): sink \(name.lineSafe): \("\(error)".lineSafe)\n")
                        failed = true
                    }
                }
            }
            if failed { throw ExitCode(1) }
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
            // The shape of the file, whatever the deployment's variables.
            let document = try PipelineCommand.load(file, asWritten: true)
            if let problem = document.problems.first {
                throw ValidationError("\(problem)")
            }
            print(PipelineGraph.render(document, as: format.format), terminator: "")
        }
    }
}

extension PipelineCommand {
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the test cases of a pipeline file's tests section: injected events through the real transforms, checked at each sink.",
            discussion: "Prints PASS or FAIL per case; exits 1 if any case fails or the file has problems.")

        @Argument(help: "The pipeline file (YAML) with a tests section.")
        var file: String

        func run() throws {
            let tester = PipelineTester(registry: .standard)
            let (document, cases) = try PipelineCommand.checked(file, tester: tester)
            guard !cases.isEmpty else {
                throw ValidationError("\(file.lineSafe) has no test cases: add a tests section (see fsprobe pipeline test --help)")
            }
            var failed = 0
            for testCase in cases {
                let failures = try tester.run(testCase, document: document)
                print("\(failures.isEmpty ? "PASS" : "FAIL") \(testCase.name.lineSafe)")
                for failure in failures { print("  \(failure.lineSafe)") }
                if !failures.isEmpty { failed += 1 }
            }
            print("\(cases.count - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

extension PipelineCommand {
    /// Reads and checks a pipeline file, its tests section included: every
    /// problem printed in file order and exit 1, or the document and its
    /// test cases.
    static func checked(_ file: String, tester: PipelineTester) throws -> (PipelineDocument, [PipelineTester.Case]) {
        let text = try read(file)
        let document = PipelineDocument(file: file, text: text, environment: ProcessInfo.processInfo.environment)
        let (cases, caseProblems) = tester.cases(in: document, text: text)
        let problems = (PipelineValidator(registry: .standard).problems(in: document) + caseProblems)
            .sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
        guard problems.isEmpty else {
            FileHandleStderr.write(problems.map { "\($0)\n" }.joined())
            throw ExitCode(1)
        }
        return (document, cases)
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
            for type in ComponentRegistry.standard.types where type.role == role {
                print("  \(type.name) — \(type.summary)")
                for option in type.options {
                    print("    \(option.name)\(option.required ? " (required)" : ""): \(option.kind) — \(option.summary)")
                }
            }
        }
    }
}
