import ArgumentParser

/// `fsprobe run FILE`: runs a pipeline file (also `fsprobe --pipeline FILE`).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline file: its sources, transforms and sinks.",
        discussion: """
            The whole file is checked first (as by 'fsprobe pipeline validate'); nothing \
            starts unless it is valid. SIGINT or SIGTERM stops the sources, drains every \
            buffer, flushes the sinks and exits 0 (3 when events were lost; a second \
            signal or --shutdown-timeout stops at once).
            """
    )

    @Argument(help: "The pipeline file (YAML).")
    var file: String

    @OptionGroup var runOptions: RunOptions

    func run() throws {
        try PipelineRunner(file: file, options: runOptions).run()
    }
}
