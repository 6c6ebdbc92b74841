#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF
import CLibBPF
import FSProbeCore
import Logging
import FSProbePipeline
import Synchronization

/// The kernel event source: loads the BPF programs, installs the watches and
/// turns ring-buffer records into `FileEvent`s.
///
/// Loading happens in `init`, so every set-up problem (privileges, BTF,
/// backend, watched paths) is reported before anything starts. `run(emit:)`
/// then blocks on the ring buffer on the calling thread (a dedicated thread:
/// `ring_buffer__poll` is a blocking call) until `stop()`.
public final class KernelEventSource: RoundBasedEventSource, @unchecked Sendable {
    public let options: KernelProbeOptions
    public let backend: BackendKind
    public let watched: [WatchedPath]
    /// Backends `auto` tried before the one that runs, and why they did not.
    public let skippedBackends: [BackendSelector.Skipped]

    private let probe: KernelProbe
    private let watches: WatchTable
    private let follower: MoveFollower
    /// Used on the ring-buffer thread only (it keeps the path caches).
    private let decoder: KernelRecordDecoder
    /// Used on the ring-buffer thread only (it keeps the context caches).
    private let enricher = EventEnricher()
    private let stopping = Atomic<Bool>(false)
    private let suspending = Atomic<Bool>(false)
    private let sourceCounters = Mutex(KernelSourceCounters())
    private let logger: Logger
    /// The host and stream every event of this source carries.
    public let origin: EventOrigin
    /// The last sequence number given; ring-buffer thread only.
    private var sequence: UInt64 = 0

    /// The logger of a source built without one (through the process's
    /// logging system, as an embedder or fsprobe set it up).
    public static var defaultLogger: Logger { Logger(label: "fsprobe.kernel") }

    /// - Parameter paths: files or directories to watch; ignored (and may be
    ///   empty) when `options.pathsFiltering` is false.
    /// - Parameter logger: where the source says, at debug level, which
    ///   backend it attached, why it passed over others, and when it stops.
    /// - Parameter host: the `host` its events carry; nil for the machine's name.
    public init(paths: [String], options: KernelProbeOptions, logger: Logger = KernelEventSource.defaultLogger,
                host: String? = nil) throws {
        do {
            try options.validate()
        } catch {
            throw ProbeError.invalidSetting(error.setting, value: error.value, expected: error.expected)
        }
        if options.pathsFiltering && paths.isEmpty {
            throw ProbeError.invalidOption("no path to watch: give one or more paths, or turn paths filtering off to watch the whole file system")
        }
        var watched: [WatchedPath] = []
        for path in paths { watched.append(try WatchResolver.resolve(path)) }
        let opened = try BackendSelector.open(options: options)
        self.logger = logger
        self.origin = EventOrigin.starting(host: host)
        for skipped in opened.skipped {
            logger.debug("kernel source: backend \(skipped.backend.rawValue) passed over: \(skipped.reason)")
        }
        logger.debug("kernel source: backend \(opened.probe.backend.rawValue) attached", metadata: [
            "events": "\(EventType.allCases.filter { options.events.contains($0) }.map(\.name))",
            "watched": "\(watched.count)", "resolution": "\(options.resolutionMode)",
        ])
        self.probe = opened.probe
        self.backend = opened.probe.backend
        self.skippedBackends = opened.skipped
        self.options = options
        self.watched = watched
        let resolver = PathResolver(mode: options.resolutionMode, pathCacheEntries: options.pathCacheEntries,
                                    maps: opened.probe)
        self.decoder = KernelRecordDecoder(clock: BootClock(), backend: backend, resolver: resolver)
        self.watches = WatchTable(probe: probe, recursive: options.recursive)
        self.follower = MoveFollower(watches: watches, kernelDecides: opened.probe.backend != .tracepoint)
        for watch in watched {
            try watches.add(watch, kind: UInt32(FSP_WATCH_EXPLICIT))
        }
    }

    /// Adds a path to the watch set while running; takes effect at once,
    /// without reloading the programs.
    public func add(path: String) throws {
        try watches.add(try WatchResolver.resolve(path), kind: UInt32(FSP_WATCH_EXPLICIT))
    }

    /// Stops watching a path given to `init` or `add(path:)` (the same
    /// string, or one resolving to the same path); takes effect at once,
    /// without reloading the programs. Objects followed out of its tree
    /// stay watched.
    public func remove(path: String) throws {
        let resolved = try? WatchResolver.resolve(path).resolved
        guard try watches.remove(requested: path, resolved: resolved) else {
            throw WatchError(path: path, reason: "it is not watched (expected a path given when starting or to add(path:))")
        }
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
    }

    /// The programs stay attached and keep writing into the ring buffer.
    public var resumable: Bool { true }

    /// `run` returns after reading what the ring buffer holds, leaving the
    /// programs attached: what happens next waits in the ring buffer (its
    /// size bounds how long a pause may last before the kernel drops,
    /// counted) for the next `run`.
    public func suspend() {
        suspending.store(true, ordering: .releasing)
    }

    /// Counters of the kernel side and of this source's own decisions.
    public var kernelCounters: KernelSourceCounters {
        var counters = sourceCounters.withLock { $0 }
        counters.kernel = probe.counters()
        return counters
    }

    public var counters: SourceCounters {
        let detailed = kernelCounters
        return SourceCounters(kernelDropped: detailed.kernel.ringBufferFull, decodeErrors: detailed.undecodable)
    }

    public func run(emit: (consuming FileEvent) -> Void, endOfRound: () -> Void) throws {
        try withoutActuallyEscaping(emit) { emit in
            let context = RecordContext(source: self, emit: emit)
            let unmanaged = Unmanaged.passRetained(context)
            defer { unmanaged.release() }
            guard let ring = ring_buffer__new(probe.eventsFD, { ctx, data, size in
                guard let ctx, let data else { return 0 }
                // Borrowed, not taken: `run` holds the context for as long as
                // the ring buffer exists, and taking it retained and released
                // it, its source and its closure once per record.
                Unmanaged<RecordContext>.fromOpaque(ctx)._withUnsafeGuaranteedRef { context in
                    context.source.handle(UnsafeRawBufferPointer(start: data, count: size), emit: context.emit)
                }
                return 0
            }, unmanaged.toOpaque(), nil) else {
                throw ProbeError.loadFailed(stage: .openRingBuffer, errno: errno, detail: "")
            }
            defer { ring_buffer__free(ring) }
            while !stopping.load(ordering: .acquiring) && !suspending.load(ordering: .acquiring) {
                // The kernel wakes this reader at most once a millisecond or so
                // (fsp_wakeup_flag): what came in since without waking it is
                // read at the timeout, so nothing waits longer than it.
                var code = ring_buffer__poll(ring, FSP_READER_POLL_MS)
                if code == 0 { code = ring_buffer__consume(ring) }
                endRound(endOfRound)
                if code < 0 && code != -EINTR {
                    throw ProbeError.loadFailed(stage: .readEvents, errno: -code, detail: "ring buffer poll")
                }
            }
            // Stop producing (unless suspended), then hand over what the
            // kernel already wrote: everything before stop() is delivered.
            if stopping.load(ordering: .acquiring) {
                probe.detach()
                logger.debug("kernel source: stopped; programs detached")
            } else {
                suspending.store(false, ordering: .relaxed)
                logger.debug("kernel source: suspended; programs stay attached, events wait in the ring buffer")
            }
            _ = ring_buffer__consume(ring)
            endRound(endOfRound)
        }
    }

    /// Ends a round of records: what the decoder and enricher reuse within
    /// a round is forgotten, and the pipeline told.
    private func endRound(_ endOfRound: () -> Void) {
        decoder.endRound()
        enricher.endRound()
        endOfRound()
    }

    private func handle(_ record: UnsafeRawBufferPointer, emit: (consuming FileEvent) -> Void) {
        guard let event = decodedOrCounted(record) else { return }
        let marks = RenameFollowMarks(record: record)
        // The kernel passes up, flagged, the caller-supplied paths it could not
        // place (absolute, "..", several components, base = a watch's parent).
        if options.pathsFiltering && KernelRecordDecoder.needsUserSpaceFilter(record) && !matchesWatch(event) {
            if !marks.contains(.unselected) { sourceCounters.withLock { $0.filteredInUserSpace += 1 } }
            return
        }
        if options.followsMoves && event.type == .rename && event.retval == 0 {
            let outcome = follower.follow(event, marks: marks)
            if outcome != MoveFollower.Outcome() {
                sourceCounters.withLock {
                    $0.followedInUserSpace += UInt64(outcome.followed)
                    $0.followFailures += UInt64(outcome.failed)
                }
            }
        }
        // A rename passed up only to follow what it moved: not an event.
        if marks.contains(.unselected) { return }
        let unresolved = (event.source.resolution.contains(.unresolved) ? 1 : 0)
            + (event.target?.resolution.contains(.unresolved) == true ? 1 : 0)
        if unresolved > 0 { sourceCounters.withLock { $0.unresolvedPaths += UInt64(unresolved) } }
        deliver(consume event, emit: emit)
    }

    /// Completes `event` and hands it on. It takes the event (`consuming`),
    /// so the event is moved into the next stage rather than copied.
    private func deliver(_ event: consuming FileEvent, emit: (consuming FileEvent) -> Void) {
        enricher.enrich(&event)
        // Numbered as emitted, so a gap downstream is an event lost after
        // the source (the kernel's own losses are counted apart).
        sequence &+= 1
        event.origin = origin
        event.sequence = sequence
        emit(event)
    }

    /// The record's event; nil, counted as undecodable, if it has none.
    private func decodedOrCounted(_ record: UnsafeRawBufferPointer) -> FileEvent? {
        do {
            return try decoder.decode(record)
        } catch {
            sourceCounters.withLock { $0.undecodable += 1 }
            return nil
        }
    }

    private func matchesWatch(_ event: FileEvent) -> Bool {
        watches.matches(event.source.bytes) || (event.target.map { watches.matches($0.bytes) } ?? false)
    }

}

/// Counters of the kernel source, in more detail than `SourceCounters`.
public struct KernelSourceCounters: Sendable, Equatable {
    public var kernel = KernelCounters()
    /// Records that could not be decoded (ABI mismatch; should stay 0).
    public var undecodable: UInt64 = 0
    /// Events the kernel passed up for user space to filter, and that were not watched.
    public var filteredInUserSpace: UInt64 = 0
    /// Moved objects user space began to watch (the tracepoint backend,
    /// where following is user space's decision).
    public var followedInUserSpace: UInt64 = 0
    /// Moved objects user space could not add to the watch map (map full).
    public var followFailures: UInt64 = 0
    /// Objects moved out of the watch and watched since, by the kernel or
    /// by user space.
    public var movedObjectsFollowed: UInt64 { kernel.followed + followedInUserSpace }
    /// Objects moved out of the watch that could not be followed.
    public var movedObjectsNotFollowed: UInt64 { kernel.followFailed + followFailures }
    /// Paths cut at a cached directory user space could not resolve
    /// (`PathResolution.unresolved`): evicted from every cache before its
    /// event was read.
    public var unresolvedPaths: UInt64 = 0
}

/// What the C ring-buffer callback needs, passed as its context pointer.
private final class RecordContext {
    let source: KernelEventSource
    let emit: (consuming FileEvent) -> Void
    init(source: KernelEventSource, emit: @escaping (consuming FileEvent) -> Void) {
        self.source = source
        self.emit = emit
    }
}
