import ArgumentParser
import FSProbeCore
import FSProbePipeline

/// The options of a run, whether a pipeline file or the flags describe the
/// pipeline: declared once, for `fsprobe run` and `fsprobe [paths]`.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("stats-interval"),
            help: "With a pipeline file: print per-component counters on stderr every N seconds (0: only at the end).")
    var statsInterval: Int = 0

    @Option(name: .customLong("shutdown-timeout"),
            help: "Seconds SIGINT/SIGTERM may take delivering the events already captured; then fsprobe stops anyway, exit status 3 (0: no limit).")
    var shutdownTimeout: Int = ShutdownTimeout.defaultSeconds

    @Option(name: .customLong("metrics-address"),
            help: ArgumentHelp("Serve the run's counters as Prometheus text on http://HOST:PORT/metrics (overrides a pipeline file's metrics: address).",
                               valueName: "host:port"))
    var metricsAddress: String?

    @OptionGroup var logging: LogOptions

    @Option(name: .customLong("stats-format"),
            help: "With a pipeline file: the stats lines on stderr as 'text' or 'json' (one object per line).")
    var statsFormat: StatsFormat = .text

    enum StatsFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    /// `--metrics-address`, checked by `validate()`.
    var metricsEndpointAddress: MetricsAddress? { metricsAddress.flatMap(MetricsAddress.init) }

    func validate() throws {
        if let metricsAddress, MetricsAddress(metricsAddress) == nil {
            throw ValidationError("--metrics-address: invalid value \(metricsAddress.lineSafe): \(MetricsAddress.expected)")
        }
        try ShutdownTimeout.check(shutdownTimeout)
        guard statsInterval >= 0 else {
            throw ValidationError("invalid --stats-interval \(statsInterval): expected 0 or a number of seconds")
        }
    }
}
