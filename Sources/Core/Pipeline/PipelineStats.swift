import FSProbeCore
import Synchronization

/// Why an event did not reach a sink.
public enum DropReason: String, CaseIterable, Sendable {
    /// A buffer was full and its policy is `.dropNewest`.
    case bufferFull = "buffer_full"
    /// The sink's `write` threw.
    case sinkError = "sink_error"
}

/// A snapshot of a pipeline's counters. Every event the source emitted is
/// in exactly one place: dropped at the input buffer, filtered, or handed to
/// every sink's buffer (where it is then delivered, dropped or still queued).
public struct PipelineStats: Sendable, Hashable {
    /// Events the sources emitted (an event reaching two consumers counts once).
    public var received: UInt64
    /// Events lost at the buffers in front of transforms because they were full.
    public var droppedBufferFull: UInt64
    /// Events removed by transforms (sum of `transforms[].filtered`).
    public var filtered: UInt64
    public var transforms: [TransformStats]
    public var sinks: [SinkStats]
    /// What the sources lost before the pipeline saw it (summed).
    public var source: SourceCounters
    public var sources: [SourceStats] = []

    /// Successful writes summed over all sinks (an event delivered to two
    /// sinks counts twice).
    public var deliveredTotal: UInt64 { sinks.reduce(0) { $0 + $1.delivered } }

    /// Drops for every reason, over the input buffer and every sink
    /// (filtered events are not drops).
    public var droppedTotal: UInt64 { DropReason.allCases.reduce(0) { $0 + dropped($1) } }

    /// Total drops for `reason`, over the input buffer and every sink.
    public func dropped(_ reason: DropReason) -> UInt64 {
        switch reason {
        case .bufferFull: droppedBufferFull + sinks.reduce(0) { $0 + $1.droppedBufferFull }
        case .sinkError: sinks.reduce(0) { $0 + $1.droppedSinkError }
        }
    }

    /// Counters of one sink.
    public struct SinkStats: Sendable, Hashable {
        public var name: String
        /// Events the destination took (`EventSink.confirmed`: written out,
        /// committed, acknowledged); for a sink without confirmations, events
        /// whose `write` succeeded, less those it later reported undeliverable.
        /// Never goes down.
        public var delivered: UInt64
        /// Events lost because this sink's buffer was full.
        public var droppedBufferFull: UInt64
        /// Events whose `write` threw, or that the sink reported undeliverable.
        public var droppedSinkError: UInt64
        /// `flush()` or `close()` calls that threw (events lost then are not
        /// known individually).
        public var flushErrors: UInt64
        /// Events accepted into the sink's buffer and not yet written.
        public var queued: Int
        /// Most events the sink's buffer holds (its disk buffer aside).
        public var capacity: Int = 0
        /// Events the sink accepted and its destination has not yet
        /// confirmed (messages awaiting a broker's acknowledgement, a batch
        /// not yet committed): delivered or dropped later.
        public var inFlight: Int = 0
        /// What the sink's disk buffer found when it was opened (nil: no disk buffer).
        public var diskBuffer: DiskBufferStats? = nil
    }

    /// A disk buffer's account of what an earlier run left in it.
    public struct DiskBufferStats: Sendable, Hashable {
        /// Events queued by an earlier run, delivered (or queued) in this one.
        public var replayed: Int
        /// Records lost to corruption: found when opening, or while reading.
        public var droppedCorrupt: UInt64
        /// Segment files that could not be read and were renamed aside.
        public var segmentsSetAside: Int
        /// Bytes of events on disk not yet delivered (now, not from an earlier run).
        public var queuedBytes: Int = 0

        /// Whether events were lost for good (those of a segment set aside
        /// are kept in its file, but not delivered).
        public var lostAny: Bool { droppedCorrupt > 0 || segmentsSetAside > 0 }
    }

    /// Over every sink's disk buffer (zeros without one).
    public var diskBuffers: DiskBufferStats {
        sinks.compactMap(\.diskBuffer).reduce(into: DiskBufferStats(replayed: 0, droppedCorrupt: 0, segmentsSetAside: 0)) {
            $0.replayed += $1.replayed
            $0.droppedCorrupt += $1.droppedCorrupt
            $0.segmentsSetAside += $1.segmentsSetAside
            $0.queuedBytes += $1.queuedBytes
        }
    }

    /// Counters of one transform.
    public struct TransformStats: Sendable, Hashable {
        public var name: String
        /// Events this transform dropped.
        public var filtered: UInt64
        /// Events lost because this transform's buffer was full.
        public var droppedBufferFull: UInt64 = 0
        /// Events accepted into its buffer and not yet processed.
        public var queued: Int = 0
        /// Most events its buffer holds.
        public var capacity: Int = 0
    }

    /// Counters of one source.
    public struct SourceStats: Sendable, Hashable {
        public var name: String
        public var emitted: UInt64
        public var counters: SourceCounters
        /// `emitted`, by type (every type present, zero or not).
        public var emittedByType: [EventType: UInt64] = [:]
    }
}

/// One event counter, updated by a worker thread and read by `stats`.
final class Counter: Sendable {
    private let atomic = Atomic<UInt64>(0)

    /// Relaxed increment: counters need no ordering with other memory.
    func increment(by amount: UInt64 = 1) {
        _ = atomic.wrappingAdd(amount, ordering: .relaxed)
    }

    var value: UInt64 { atomic.load(ordering: .relaxed) }
}

/// Counters a sink's thread updates.
final class SinkCounters: Sendable {
    let delivered = Counter()
    let writeErrors = Counter()
    let flushErrors = Counter()
}

extension PipelineStats {
    /// These counters with those of an earlier pipeline of the same run (a
    /// reload) added, component by component, matched by name: counts are
    /// summed; what is queued, in flight or held now is this pipeline's.
    /// A component only the earlier one had is kept, with nothing queued.
    public func adding(_ earlier: PipelineStats) -> PipelineStats {
        var total = self
        total.received += earlier.received
        total.droppedBufferFull += earlier.droppedBufferFull
        total.filtered += earlier.filtered
        for old in earlier.transforms {
            if let index = total.transforms.firstIndex(where: { $0.name == old.name }) {
                total.transforms[index].filtered += old.filtered
                total.transforms[index].droppedBufferFull += old.droppedBufferFull
            } else {
                total.transforms.append(TransformStats(name: old.name, filtered: old.filtered, droppedBufferFull: old.droppedBufferFull))
            }
        }
        for old in earlier.sinks {
            if let index = total.sinks.firstIndex(where: { $0.name == old.name }) {
                total.sinks[index].delivered += old.delivered
                total.sinks[index].droppedBufferFull += old.droppedBufferFull
                total.sinks[index].droppedSinkError += old.droppedSinkError
                total.sinks[index].flushErrors += old.flushErrors
                if let oldDisk = old.diskBuffer {
                    var disk = total.sinks[index].diskBuffer ?? DiskBufferStats(replayed: 0, droppedCorrupt: 0, segmentsSetAside: 0)
                    disk.droppedCorrupt += oldDisk.droppedCorrupt
                    disk.segmentsSetAside += oldDisk.segmentsSetAside
                    total.sinks[index].diskBuffer = disk
                }
            } else {
                var kept = old
                kept.queued = 0
                kept.inFlight = 0
                total.sinks.append(kept)
            }
        }
        for old in earlier.sources {
            if let index = total.sources.firstIndex(where: { $0.name == old.name }) {
                total.sources[index].emitted += old.emitted
                total.sources[index].emittedByType.merge(old.emittedByType, uniquingKeysWith: +)
                total.sources[index].counters.kernelDropped += old.counters.kernelDropped
                total.sources[index].counters.decodeErrors += old.counters.decodeErrors
            } else {
                total.sources.append(old)
            }
        }
        total.source = SourceCounters(kernelDropped: total.sources.reduce(0) { $0 + $1.counters.kernelDropped },
                                      decodeErrors: total.sources.reduce(0) { $0 + $1.counters.decodeErrors })
        return total
    }

    /// The same, with the source counters of `continuing` sources set to
    /// zero: those sources keep counting in the next pipeline (a reload that
    /// keeps them running), so only their emitted events are carried over.
    public func carried(continuing: Set<String>) -> PipelineStats {
        var carried = self
        for index in carried.sources.indices where continuing.contains(carried.sources[index].name) {
            carried.sources[index].counters = SourceCounters()
        }
        carried.source = SourceCounters(kernelDropped: carried.sources.reduce(0) { $0 + $1.counters.kernelDropped },
                                        decodeErrors: carried.sources.reduce(0) { $0 + $1.counters.decodeErrors })
        return carried
    }
}
