import ArgumentParser
import FSProbeCore
import FSProbePipeline
import FSProbeSources

/// The start-up line on stderr: which backend runs, on what. Scripts can wait
/// for "fsprobe: ready" before generating activity.
struct StartupReport {
    let source: KernelEventSource
    let options: KernelProbeOptions
    let paths: [String]

    var line: String {
        let events = EventType.allCases.filter { options.events.contains($0) }.map(\.name).joined(separator: ",")
        let skipped = source.skippedBackends.map { "\($0.backend.rawValue): \($0.reason)" }
        let scope = options.pathsFiltering
            ? source.watched.map { String(lineEscaping: $0.resolved) }.joined(separator: ",")
                + (options.recursive ? " (recursive)" : " (immediate children)")
            : "the whole file system"
        return "fsprobe: ready: backend \(source.backend.rawValue)"
            + (skipped.isEmpty ? "" : " (\(skipped.joined(separator: "; ")))")
            + "; events \(events); watching \(scope)"
    }

    func print() { FileHandleStderr.write(line + "\n") }
}

/// The closing line on stderr: where every event went.
struct ShutdownReport {
    let sources: [KernelSourceCounters]
    let pipeline: PipelineStats

    /// Events captured and never delivered: lost in the kernel's ring buffer,
    /// or dropped in user space (a full buffer, a sink that failed).
    var lostEvents: UInt64 {
        sources.reduce(0) { $0 + $1.kernel.ringBufferFull } + pipeline.droppedTotal
    }

    /// Prints the line; then, when events were lost (these, or a disk
    /// buffer's from an earlier run: corrupt, or set aside), ends the command with
    /// `ExitStatus.eventsLost`, so a supervisor or a script can tell.
    func finish() throws {
        FileHandleStderr.write(line + "\n")
        if lostEvents > 0 || pipeline.diskBuffers.lostAny { throw ExitCode(ExitStatus.eventsLost) }
    }

    var line: String {
        let received = pipeline.received
        let delivered = pipeline.deliveredTotal
        let lost = sources.reduce(0) { $0 + $1.kernel.ringBufferFull }
        let dropped = pipeline.droppedTotal
        let truncated = sources.reduce(0) { $0 + $1.kernel.truncated }
        let unresolved = sources.reduce(0) { $0 + $1.unresolvedPaths }
        let hits = sources.reduce(0) { $0 + $1.kernel.cacheHits }
        let misses = sources.reduce(0) { $0 + $1.kernel.cacheMisses }
        let bypassed = sources.reduce(0) { $0 + $1.kernel.cacheBypassed }
        let discarded = sources.reduce(0) { $0 + $1.kernel.discarded }
        let discarders = sources.reduce(0) { $0 + $1.kernel.discardersAdded }
        let followed = sources.reduce(0) { $0 + $1.movedObjectsFollowed }
        let notFollowed = sources.reduce(0) { $0 + $1.movedObjectsNotFollowed }
        return "fsprobe: stopped: \(received) events received, \(delivered) delivered, "
            + "\(lost) lost (kernel ring buffer full), \(dropped) dropped in user space, "
            + "\(truncated) truncated paths, \(unresolved) unresolved paths; "
            + "directory cache: \(hits) hits, \(misses) misses, \(bypassed) bypassed; "
            + "discarders: \(discarders) directories, \(discarded) events dropped early; "
            + "followed: \(followed) moved objects, \(notFollowed) not (watch map full)"
            + (pipeline.sinks.contains { $0.diskBuffer != nil } ? "; " + Self.diskBufferSummary(pipeline.diskBuffers) : "")
    }

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
