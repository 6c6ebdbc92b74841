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

    @Option(name: .customLong("stats-interval"), help: "Print per-component counters on stderr every N seconds (0: only at the end).")
    var statsInterval: Int = 0

    @Option(name: .customLong("shutdown-timeout"),
            help: "Seconds SIGINT/SIGTERM may take delivering the events already captured; then fsprobe stops anyway, exit status 3 (0: no limit).")
    var shutdownTimeout: Int = ShutdownTimeout.defaultSeconds

    func validate() throws {
        try ShutdownTimeout.check(shutdownTimeout)
        guard statsInterval >= 0 else {
            throw ValidationError("invalid --stats-interval \(statsInterval): expected 0 or a number of seconds")
        }
    }

    func run() throws {
        try PipelineRunner(file: file, statsInterval: statsInterval, shutdownTimeout: shutdownTimeout).run()
    }
}
