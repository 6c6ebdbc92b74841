import ArgumentParser

/// The options of a run, whether a pipeline file or the flags describe the
/// pipeline: declared once, for `fsprobe run` and `fsprobe [paths]`.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("stats-interval"),
            help: "With a pipeline file: print per-component counters on stderr every N seconds (0: only at the end).")
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
}
