import ArgumentParser
import Logging
import Foundation
import FSProbeCore
import FSProbePipeline

/// The start-up line on stderr: which backend runs, on what. Scripts can wait
/// for "fsprobe: ready" before generating activity.
struct StartupReport {
    let source: any EventSource
    /// The source's name in a pipeline file (none for a flags-only run).
    var name: String? = nil

    var line: String? {
        guard let readiness = source.readiness else { return nil }
        return "fsprobe: ready: " + (name.map { "source \($0.lineSafe): " } ?? "") + readiness
    }

    func print() {
        if let line { Log.emit(line, level: .info) }
    }
}

/// The closing line on stderr: where every event went.
struct ShutdownReport {
    /// Every source's `closingCounts`, summed by group and label, in the
    /// order they were first seen.
    let counts: [ClosingCount]
    let pipeline: PipelineStats

    init(sources: [any EventSource], pipeline: PipelineStats) {
        self.init(counts: sources.flatMap(\.closingCounts), pipeline: pipeline)
    }

    /// `counts` of every source the run had (a reload retires some).
    init(counts allCounts: [ClosingCount], pipeline: PipelineStats) {
        var counts: [ClosingCount] = []
        for count in allCounts {
            if let index = counts.firstIndex(where: { $0.group == count.group && $0.label == count.label }) {
                counts[index].value += count.value
            } else {
                counts.append(count)
            }
        }
        self.counts = counts
        self.pipeline = pipeline
    }

    /// Events captured and never delivered: lost before the pipeline (the
    /// kernel's ring buffer full), or dropped in user space (a full buffer,
    /// a sink that failed).
    var lostEvents: UInt64 {
        counts.filter(\.isLoss).reduce(0) { $0 + $1.value } + pipeline.droppedTotal
    }

    /// Prints the line; then, when events were lost (these, or a disk
    /// buffer's from an earlier run: corrupt, or set aside), ends the command with
    /// `ExitStatus.eventsLost`, so a supervisor or a script can tell.
    func finish() throws {
        // Said even with -q when events were lost: that is a warning.
        let lost = lostEvents > 0 || pipeline.diskBuffers.lostAny
        Log.emit(line, level: lost ? .warning : .notice)
        if lostEvents > 0 || pipeline.diskBuffers.lostAny { throw ExitCode(ExitStatus.eventsLost) }
    }

    /// "N events received, N delivered", the losses, the user-space drops,
    /// the other numbers shown with the totals, then each group.
    var line: String {
        let totals = counts.filter { $0.group.isEmpty }
        var first = ["\(pipeline.received) events received", "\(pipeline.deliveredTotal) delivered"]
        first += totals.filter(\.isLoss).map(Self.text)
        first.append("\(pipeline.droppedTotal) dropped in user space")
        first += totals.filter { !$0.isLoss }.map(Self.text)
        var groups: [String] = []
        for count in counts where !count.group.isEmpty && !groups.contains(count.group) { groups.append(count.group) }
        let sections = [first.joined(separator: ", ")]
            + groups.map { group in "\(group): " + counts.filter { $0.group == group }.map(Self.text).joined(separator: ", ") }
            + (pipeline.sinks.contains { $0.diskBuffer != nil } ? [Self.diskBufferSummary(pipeline.diskBuffers)] : [])
        return "fsprobe: stopped: " + sections.joined(separator: "; ")
    }

    private static func text(_ count: ClosingCount) -> String { "\(count.value) \(count.label)" }

    static func diskBufferSummary(_ disk: PipelineStats.DiskBufferStats) -> String {
        "disk buffers: \(disk.replayed) events replayed from an earlier run, \(disk.droppedCorrupt) lost to corruption, "
            + "\(disk.segmentsSetAside) segments set aside"
    }
}

/// Per-component counters on one stderr line (`--stats-interval`, and at
/// the end of a pipeline run), so an operator sees where events go.
struct StatsReport {
    let stats: PipelineStats

    init(_ stats: PipelineStats) { self.stats = stats }

    func line(_ format: RunOptions.StatsFormat) -> String {
        switch format {
        case .text: line
        case .json: json
        }
    }

    var line: String {
        var parts = ["received \(stats.received)", "kernel lost \(stats.source.kernelDropped)"]
        for transform in stats.transforms {
            parts.append("\(transform.name.lineSafe): filtered \(transform.filtered), dropped buffer_full \(transform.droppedBufferFull), queued \(transform.queued)")
        }
        for sink in stats.sinks {
            parts.append("\(sink.name.lineSafe): delivered \(sink.delivered), dropped buffer_full \(sink.droppedBufferFull), "
                + "dropped sink_error \(sink.droppedSinkError), queued \(sink.queued), in flight \(sink.inFlight)"
                + (sink.diskBuffer.map { ", replayed \($0.replayed), dropped corrupt \($0.droppedCorrupt), set aside \($0.segmentsSetAside)" } ?? ""))
        }
        return "fsprobe: stats: " + parts.joined(separator: "; ")
    }
}

extension StatsReport {
    /// The same counters as one JSON object (`--stats-format json`), for a
    /// log collector; `"type": "stats"` tells it from fsprobe's other lines.
    var json: String {
        let report = JSONStats(
            received: stats.received, kernelLost: stats.source.kernelDropped,
            transforms: stats.transforms.map {
                .init(name: $0.name, filtered: $0.filtered, droppedBufferFull: $0.droppedBufferFull, queued: $0.queued)
            },
            sinks: stats.sinks.map {
                .init(name: $0.name, delivered: $0.delivered, droppedBufferFull: $0.droppedBufferFull,
                      droppedSinkError: $0.droppedSinkError, queued: $0.queued, inFlight: $0.inFlight,
                      diskBuffer: $0.diskBuffer.map {
                          .init(replayed: $0.replayed, droppedCorrupt: $0.droppedCorrupt, setAside: $0.segmentsSetAside,
                                queuedBytes: $0.queuedBytes)
                      })
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // Encoding plain numbers and strings cannot fail; JSON escapes every control character.
        return String(decoding: try! encoder.encode(report), as: UTF8.self)
    }

    private struct JSONStats: Encodable {
        var type = "stats"
        let received: UInt64
        let kernelLost: UInt64
        let transforms: [Transform]
        let sinks: [Sink]

        struct Transform: Encodable {
            let name: String
            let filtered, droppedBufferFull: UInt64
            let queued: Int
        }

        struct Sink: Encodable {
            let name: String
            let delivered, droppedBufferFull, droppedSinkError: UInt64
            let queued, inFlight: Int
            let diskBuffer: DiskBuffer?
        }

        struct DiskBuffer: Encodable {
            let replayed: Int
            let droppedCorrupt: UInt64
            let setAside, queuedBytes: Int
        }
    }
}

/// What a sink found when it opened (`EventSink.startupNotes`: events of
/// an earlier run in its disk buffer, some lost), said once at start-up.
struct SinkStartupReport {
    let sinkName: String
    let sink: any EventSink

    var lines: [String] {
        sink.startupNotes.map { "fsprobe: sink \(sinkName.lineSafe): \($0)" }
    }
}

/// fsprobe's exit statuses besides 0 (every captured event delivered), 1
/// (what the system refused: a missing path, privileges, the kernel) and 2
/// (a flag or value fsprobe refuses), each said in one line (README).
enum ExitStatus {
    /// Stopped as asked, but some events were lost: the `stopped:` line
    /// says how many, and where (kernel ring buffer, user space).
    static let eventsLost: Int32 = 3
}

/// `--shutdown-timeout`: how long a stop may take delivering what was
/// captured, well under the 90 s after which systemd kills a service.
enum ShutdownTimeout {
    static let defaultSeconds = 30
    static let maxSeconds = 3600

    static func check(_ seconds: Int) throws {
        guard (0...maxSeconds).contains(seconds) else {
            throw ValidationError("invalid --shutdown-timeout \(seconds): expected 0 (no limit) to \(maxSeconds) seconds")
        }
    }
}
