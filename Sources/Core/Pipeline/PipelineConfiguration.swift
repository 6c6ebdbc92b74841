import CoreMetrics
import FSProbeCore
import Logging

/// Settings of a `Pipeline`, with defaults that suit the command line.
public struct PipelineConfiguration: Sendable {
    /// Capacity of the buffer between the source and the transforms
    /// (`--chan-size`).
    public var bufferCapacity: Int = 4096
    /// What the source's `emit` does when that buffer is full. `.block`
    /// pushes back on the source (the kernel then drops, and counts, in its
    /// ring buffer); `.dropNewest` keeps the source reading and counts drops here.
    public var overflowPolicy: OverflowPolicy = .block
    /// Most events a stage takes from its buffer at once. Bigger batches mean
    /// fewer lock round-trips; smaller ones mean lower latency per event.
    public var batchSize: Int = 256
    /// Where each sink's event latency goes (`PipelineMetricLabels`); nil
    /// records none, at no cost. The counters are not pushed: read `stats`.
    public var metricsFactory: (any MetricsFactory)?
    /// Where the pipeline says how its stages start and end (debug level);
    /// nil says nothing. Its errors go to the `errorHandler`, not here.
    public var logger: Logger?

    public init(bufferCapacity: Int = 4096, overflowPolicy: OverflowPolicy = .block, batchSize: Int = 256,
                metricsFactory: (any MetricsFactory)? = nil) {
        self.bufferCapacity = bufferCapacity
        self.overflowPolicy = overflowPolicy
        self.batchSize = batchSize
        self.metricsFactory = metricsFactory
    }
}

/// A sink with its own buffer settings, as a declarative pipeline describes
/// each sink (Vector's per-sink `buffer.max_events` / `when_full`).
///
/// With `.block`, a sink that falls behind eventually stalls the others once
/// its buffer is full (nothing is lost); with `.dropNewest` it loses its own
/// events and never slows the others.
public struct PipelineSink: Sendable {
    public var sink: any EventSink
    /// Capacity of this sink's buffer; nil means the pipeline's `bufferCapacity`.
    public var bufferCapacity: Int?
    public var overflowPolicy: OverflowPolicy

    public init(_ sink: any EventSink, bufferCapacity: Int? = nil, overflowPolicy: OverflowPolicy = .block) {
        self.sink = sink
        self.bufferCapacity = bufferCapacity
        self.overflowPolicy = overflowPolicy
    }
}

/// A failure of one sink, passed to the pipeline's error handler.
public struct PipelineError: Error, CustomStringConvertible {
    public enum Stage: String, Sendable {
        case write, flush, close
    }

    public var sinkName: String
    public var stage: Stage
    public var underlying: any Error

    public var description: String { "sink '\(sinkName)': \(stage.rawValue) failed: \(underlying)" }
}
