import ArgumentParser
import Logging
import FSProbeMetrics
import FSProbePipeline

/// `--metrics-address` (or a pipeline file's `metrics:`): the run's
/// counters as Prometheus text on `http://ADDRESS/metrics`, for as long as
/// the pipeline runs.
struct MetricsEndpoint {
    let metrics = PipelineMetrics()
    let server: MetricsServer

    /// Binds before anything is loaded, so a port in use stops the run
    /// early (exit 1) rather than after the kernel programs are attached.
    /// Says where it serves on stderr; nil when no address is set.
    init?(address: MetricsAddress?) throws {
        guard let address else { return nil }
        do {
            server = try MetricsServer(address: address, metrics: metrics)
        } catch {
            Log.main.error("\(error.description.lineSafe)")
            throw ExitCode(1)
        }
        Log.main.info("metrics: http://\(server.boundAddress)/metrics")
    }

    func observe(_ pipeline: Pipeline, sources: [(name: String, source: any EventSource)]) {
        metrics.observe(stats: { pipeline.stats }, sources: sources)
    }

    func stop() { server.stop() }
}

extension PipelineConfiguration {
    /// The configuration with the latencies going to `endpoint`, if any.
    func reporting(to endpoint: MetricsEndpoint?) -> PipelineConfiguration {
        var configuration = self
        configuration.metricsFactory = endpoint?.metrics.factory
        return configuration
    }
}
