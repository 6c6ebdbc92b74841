import CoreMetrics
import FSProbeCore
import FSProbePipeline
import Prometheus
import Synchronization

/// A running pipeline's counters as Prometheus metrics.
///
/// The counters are read, not pushed: a scrape takes a snapshot of
/// `Pipeline.stats` and of every source's `closingCounts`, the same numbers
/// the stderr lines print, so the two always agree and the event path pays
/// nothing for them. Only each sink's latency histogram is recorded as
/// events pass, through swift-metrics (`factory`, handed to the pipeline's
/// `PipelineConfiguration.metricsFactory`).
public final class PipelineMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Give it to `PipelineConfiguration.metricsFactory`.
    public let factory: PrometheusMetricsFactory
    private let snapshot: Mutex<Snapshot?> = Mutex(nil)
    /// What each counter stood at when last published, to add only the difference.
    private let published = Mutex<[CounterKey: UInt64]>([:])

    /// Latency buckets, from 100 µs (a busy stdout) to 10 s (a sink retrying).
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    private struct Snapshot: Sendable {
        let stats: @Sendable () -> PipelineStats
        let sources: [(name: String, source: any EventSource)]
    }

    private struct CounterKey: Hashable {
        let name: String
        let labels: [String]
    }

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[PipelineMetricLabels.eventLatency] = Self.latencyBuckets
        self.factory = factory
    }

    /// The pipeline (its `stats`) and its named sources whose counters a
    /// scrape publishes. Until then a scrape shows only the latencies.
    public func observe(stats: @escaping @Sendable () -> PipelineStats, sources: [(name: String, source: any EventSource)]) {
        snapshot.withLock { $0 = Snapshot(stats: stats, sources: sources) }
    }

    /// The Prometheus text exposition (format 0.0.4) of the counters now.
    public func exposition() -> [UInt8] {
        publish()
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// Brings every counter and gauge up to the pipeline's current numbers.
    private func publish() {
        guard let snapshot = snapshot.withLock({ $0 }) else { return }
        let stats = snapshot.stats()
        published.withLock { published in
            func count(_ name: String, _ help: String, _ labels: [(String, String)], _ value: UInt64) {
                let key = CounterKey(name: name, labels: labels.map { "\($0.0)=\($0.1)" })
                let counter = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
                let previous = published[key] ?? 0
                // Counters never go down; a source's number that did (it
                // cannot today) would be held, not published as a reset.
                if value > previous {
                    counter.increment(by: Int64(clamping: value - previous))
                    published[key] = value
                }
            }
            func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int) {
                registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels).set(Int64(value))
            }

            for source in stats.sources {
                for (type, value) in source.emittedByType.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                    count("fsprobe_events_received_total", "Events a source emitted into the pipeline, by type.",
                          [("source", source.name), ("type", type.name)], value)
                }
                count("fsprobe_decode_errors_total", "Kernel records a source could not decode.",
                      [("source", source.name)], source.counters.decodeErrors)
            }
            for (name, source) in snapshot.sources {
                for closing in source.closingCounts {
                    count("fsprobe_\(closing.metric)_total", "Counted by the source: \(closing.group.isEmpty ? "" : closing.group + ", ")\(closing.label).",
                          [("source", name)], closing.value)
                }
                for level in source.gauges {
                    gauge("fsprobe_\(level.metric)", level.help, [("source", name)], level.value)
                }
            }
            for transform in stats.transforms {
                let component = ("component", transform.name)
                count("fsprobe_filtered_events_total", "Events a transform removed.", [component], transform.filtered)
                count("fsprobe_dropped_events_total", Help.dropped, [component, ("reason", DropReason.bufferFull.rawValue)],
                      transform.droppedBufferFull)
                gauge("fsprobe_queued_events", Help.queued, [component], transform.queued)
                gauge("fsprobe_buffer_capacity_events", Help.capacity, [component], transform.capacity)
            }
            for sink in stats.sinks {
                let component = ("component", sink.name)
                count("fsprobe_delivered_events_total", "Events a sink's destination took.", [component], sink.delivered)
                count("fsprobe_dropped_events_total", Help.dropped, [component, ("reason", DropReason.bufferFull.rawValue)],
                      sink.droppedBufferFull)
                count("fsprobe_dropped_events_total", Help.dropped, [component, ("reason", DropReason.sinkError.rawValue)],
                      sink.droppedSinkError)
                count("fsprobe_sink_flush_errors_total", "Flushes or closes of a sink that failed.", [component], sink.flushErrors)
                gauge("fsprobe_queued_events", Help.queued, [component], sink.queued)
                gauge("fsprobe_buffer_capacity_events", Help.capacity, [component], sink.capacity)
                gauge("fsprobe_in_flight_events", "Events a sink accepted and its destination has not yet confirmed.",
                      [component], sink.inFlight)
                if let disk = sink.diskBuffer {
                    gauge("fsprobe_disk_buffer_bytes", "Bytes of events in a sink's disk buffer, not yet delivered.",
                          [component], disk.queuedBytes)
                    count("fsprobe_disk_buffer_replayed_events_total", "Events of an earlier run found in a sink's disk buffer.",
                          [component], UInt64(disk.replayed))
                    count("fsprobe_disk_buffer_corrupt_events_total", "Records of a sink's disk buffer lost to corruption.",
                          [component], disk.droppedCorrupt)
                }
            }
        }
    }

    /// The whole name given (its unit, `_total`, included), with its `# HELP` text.
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private enum Help {
        static let dropped = "Events lost at a component: its buffer full (buffer_full) or its sink failing (sink_error)."
        static let queued = "Events waiting in a component's buffer (and a sink's own store)."
        static let capacity = "Most events a component's buffer holds."
    }
}
