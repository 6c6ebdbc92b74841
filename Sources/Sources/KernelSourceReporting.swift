import FSProbeCore
import FSProbePipeline

/// What the kernel source tells the operator of a run (`EventSource`'s
/// reporting requirements): the backend and what it watches, and the
/// kernel's and the decoder's counters.
extension KernelEventSource {
    /// "backend tracepoint (fentry: …); events open,mkdir; watching /srv (recursive)".
    public var readiness: String? {
        let events = EventType.allCases.filter { options.events.contains($0) }.map(\.name).joined(separator: ",")
        let skipped = skippedBackends.map { "\($0.backend.rawValue): \($0.reason)" }
        let watching = options.pathsFiltering
            ? watched.map { String(lineEscaping: $0.resolved) }.joined(separator: ",")
                + (options.recursive ? " (recursive)" : " (immediate children)")
            : "the whole file system"
        return "backend \(backend.rawValue)"
            + (skipped.isEmpty ? "" : " (\(skipped.joined(separator: "; ")))")
            + "; events \(events); watching \(watching)"
    }

    public var scope: SourceScope {
        options.pathsFiltering ? .paths(watched.map { ($0.resolved, options.recursive) }) : .everything
    }

    public var closingCounts: [ClosingCount] {
        let counters = kernelCounters
        let kernel = counters.kernel
        return [
            ClosingCount(kernel.ringBufferFull, "lost (kernel ring buffer full)", isLoss: true, metric: "kernel_lost_events"),
            ClosingCount(kernel.truncated, "truncated paths", metric: "truncated_paths"),
            ClosingCount(counters.unresolvedPaths, "unresolved paths", metric: "unresolved_paths"),
            ClosingCount(kernel.cacheHits, "hits", group: "directory cache", metric: "directory_cache_hits"),
            ClosingCount(kernel.cacheMisses, "misses", group: "directory cache", metric: "directory_cache_misses"),
            ClosingCount(kernel.cacheBypassed, "bypassed", group: "directory cache", metric: "directory_cache_bypassed"),
            ClosingCount(kernel.discardersAdded, "directories", group: "discarders", metric: "discarders_added"),
            ClosingCount(kernel.discarded, "events dropped early", group: "discarders", metric: "discarded_events"),
            ClosingCount(counters.movedObjectsFollowed, "moved objects", group: "followed", metric: "moved_objects_followed"),
            ClosingCount(counters.movedObjectsNotFollowed, "not (watch map full)", group: "followed", metric: "moved_objects_not_followed"),
        ]
    }
}
