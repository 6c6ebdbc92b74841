import Benchmark
import Foundation
import FSProbeCore
import FSProbeSources
import FSProbeTestSupport

// Throughput (events/s) and allocations per event of decoding ring-buffer
// records — the first user-space step for every kernel event. Records are
// built with the ABI layout of ebpf/fsprobe.h; `*` metrics are per event.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )

    // An open of a file 10 levels deep (the original FSProbe's scenario 1 depth).
    let open = KernelRecordBuilder(
        type: .open, source: (0..<10).map { "component\($0)" } + ["file.txt"]).build()
    Benchmark("Decode record (open, depth 10)") { benchmark in
        decode(open, benchmark)
    }

    // A rename: two paths, the second from the caller's string.
    var renameBuilder = KernelRecordBuilder(type: .rename, source: ["home", "user", "project", "draft.txt"])
    renameBuilder.target = ["home", "user", "project", "final.txt"]
    let rename = renameBuilder.build()
    Benchmark("Decode record (rename, two paths)") { benchmark in
        decode(rename, benchmark)
    }

    // The same open with the process's context as the kernel sends it: the
    // executable as a third path, whose bytes are shared while they repeat.
    var withContextBuilder = KernelRecordBuilder(
        type: .open, source: (0..<10).map { "component\($0)" } + ["file.txt"])
    withContextBuilder.executable = ["usr", "bin", "python3.13"]
    withContextBuilder.cgroupID = 1  // the root cgroup: resolvable on any host with cgroup2
    let withContext = withContextBuilder.build()
    // Within a round the decoder reuses the previous record's process when
    // it is the same; the first record of a round decodes it in full.
    Benchmark("Decode record (open, depth 10, with executable)") { benchmark in
        decode(withContext, benchmark)
    }
    Benchmark("Decode record (open, depth 10, with executable), each in its own round") { benchmark in
        decode(withContext, benchmark, newRoundEach: true)
    }

    // An extended attribute set: its name is shared while it repeats.
    var xattrBuilder = KernelRecordBuilder(type: .setattr, source: (0..<10).map { "component\($0)" } + ["file.txt"])
    xattrBuilder.flags = 16  // FSP_SETATTR_XATTR
    xattrBuilder.executable = ["usr", "bin", "setfattr"]
    xattrBuilder.xattrName = Array("security.capability".utf8)
    let xattr = xattrBuilder.build()
    Benchmark("Decode record (setxattr, depth 10, with executable)") { benchmark in
        decode(xattr, benchmark)
    }

    // User space's share of the context: account names, the cgroup's path
    // and container, the mount point of each path, once their caches hold
    // them (the steady state: few users, cgroups and mounts, many events).
    Benchmark("Enrich (names, cgroup, mounts; cached)") { benchmark in
        let enricher = EventEnricher()
        var event = onRootMount(withContext)
        enricher.enrich(&event)
        guard event.source.mount != nil, event.process.cgroup != nil, event.process.userName != nil else {
            fatalError("enrichment found nothing on this host: the benchmark would measure misses")
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var copy = event
            enricher.enrich(&copy)
            blackHole(copy)
        }
    }
    // The same, each event the first of its round: every lookup goes to
    // its cache (within a round, the enricher reuses the last answer).
    Benchmark("Enrich (names, cgroup, mounts; cached), each in its own round") { benchmark in
        let enricher = EventEnricher()
        let event = onRootMount(withContext)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var copy = event
            enricher.endRound()
            enricher.enrich(&copy)
            blackHole(copy)
        }
    }

    // Decode then format as JSON: the CLI's whole per-event user-space work.
    Benchmark("Decode + JSON line (open, depth 10)") { benchmark in
        let decoder = KernelRecordDecoder(clock: BootClock(realtimeMinusBoottime: 0))
        let encoder = JSONLineEncoder()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(80_000)
        benchmark.startMeasurement()
        open.withUnsafeBytes { record in
            for _ in benchmark.scaledIterations {
                guard let event = try? decoder.decode(record) else { fatalError("benchmark record does not decode") }
                encoder.encode(event, into: &buffer)
                if buffer.count >= 65_536 { buffer.removeAll(keepingCapacity: true) }
            }
        }
        blackHole(buffer)
    }
}

func decode(_ record: [UInt8], _ benchmark: Benchmark, newRoundEach: Bool = false) {
    let decoder = KernelRecordDecoder(clock: BootClock(realtimeMinusBoottime: 0))
    benchmark.startMeasurement()
    record.withUnsafeBytes { bytes in
        for _ in benchmark.scaledIterations {
            if newRoundEach { decoder.endRound() }
            blackHole(try? decoder.decode(bytes))
        }
    }
}

/// The record's event, its file and executable on the mount at "/", so that
/// enriching it finds their mount on any host.
func onRootMount(_ record: [UInt8]) -> FileEvent {
    let decoder = KernelRecordDecoder(clock: BootClock(realtimeMinusBoottime: 0))
    var event = try! record.withUnsafeBytes { try decoder.decode($0) }
    let root = rootMount()
    event.source.mountID = root.id
    event.source.device = root.device
    event.process.executable?.mountID = root.id
    event.process.executable?.device = root.device
    return event
}

/// The id and device (kernel encoding) of the mount at "/", from this
/// process's mount table.
func rootMount() -> (id: UInt32, device: UInt32) {
    let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    for line in table.split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard fields.count > 4, fields[4] == "/", let id = UInt32(fields[0]) else { continue }
        let numbers = fields[2].split(separator: ":").compactMap { UInt32($0) }
        guard numbers.count == 2 else { continue }
        return (id, numbers[0] << 20 | numbers[1])
    }
    fatalError("no mount at / in /proc/self/mountinfo")
}
