import Benchmark
import BenchmarkSupport
import FSProbeCore
import FSProbeMetrics
import FSProbePipeline
import FSProbeSinks

#if canImport(Glibc)
import Glibc
#endif

// Throughput (events/s) and allocations per event of the user-space hot path,
// kernel excluded. Every benchmark runs `scaledIterations` events per
// iteration, so metrics marked `*` in the output are per event.
// Decoding kernel records is measured by the sibling target DecodeBenchmarks.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )

    Benchmark("JSON line encode (open)") { benchmark in
        encode(Samples.open, benchmark) { encoder, event, buffer in encoder.encode(event, into: &buffer) }
    }

    Benchmark("JSON line encode (rename, hostile names)") { benchmark in
        encode(Samples.hostileRename, benchmark) { encoder, event, buffer in encoder.encode(event, into: &buffer) }
    }

    // An event with the full process context, one line on its own and as
    // the sinks write a stream: the process fields copied from the line
    // before while the process stays the same (`encodeNext`).
    Benchmark("JSON line encode (open, process context)") { benchmark in
        encode(Samples.contextOpen, benchmark) { encoder, event, buffer in encoder.encode(event, into: &buffer) }
    }

    Benchmark("JSON line encode (open, process context, stream)") { benchmark in
        encode(Samples.contextOpen, benchmark) { encoder, event, buffer in encoder.encodeNext(event, into: &buffer) }
    }

    // Reading fsprobe's own lines back (a Kafka source): a typical event,
    // one short path and the full process context, and hostile names.
    Benchmark("Decode JSON event") { benchmark in
        decode(Samples.contextOpen, benchmark)
    }

    Benchmark("Decode JSON event (rename, hostile names)") { benchmark in
        decode(Samples.hostileRename, benchmark)
    }

    Benchmark("Table line format (open)") { benchmark in
        var formatter = TableFormatter(clock: .local)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(80_000)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            formatter.encode(Samples.open, into: &buffer)
            if buffer.count >= 65_536 { buffer.removeAll(keepingCapacity: true) }
        }
        blackHole(buffer)
    }

    let pipelineConfiguration = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .mega, maxDuration: .seconds(5), maxIterations: 20)

    Benchmark("Pipeline to discarding sink", configuration: pipelineConfiguration) { benchmark in
        runPipeline(benchmark, event: Samples.open, sink: DiscardingSink())
    }

    // What --metrics-address adds per event: a latency observation (the
    // counters are read only when scraped).
    Benchmark("Pipeline to discarding sink, metrics on", configuration: pipelineConfiguration) { benchmark in
        runPipeline(benchmark, event: Samples.open, sink: DiscardingSink(),
                    configuration: .init(bufferCapacity: 4096, metricsFactory: PipelineMetrics().factory))
    }

    Benchmark("Pipeline to JSON on /dev/null", configuration: pipelineConfiguration) { benchmark in
        let fd = open("/dev/null", O_WRONLY)
        defer { close(fd) }
        runPipeline(benchmark, event: Samples.open, sink: StdoutSink(format: .json, fd: fd))
    }

    // As the kernel source hands events over: the sink woken once a round.
    Benchmark("Pipeline to JSON on /dev/null, rounds of 64", configuration: pipelineConfiguration) { benchmark in
        let fd = open("/dev/null", O_WRONLY)
        defer { close(fd) }
        runPipeline(benchmark, event: Samples.open, sink: StdoutSink(format: .json, fd: fd), round: 64)
    }
}

/// Encodes `event` `scaledIterations` times into one reused buffer, cleared
/// at 64 KiB as the sinks do.
func encode(_ event: FileEvent, _ benchmark: Benchmark,
            _ body: (inout JSONLineEncoder, FileEvent, inout [UInt8]) -> Void) {
    var encoder = JSONLineEncoder()
    var buffer: [UInt8] = []
    buffer.reserveCapacity(80_000)
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        body(&encoder, event, &buffer)
        if buffer.count >= 65_536 { buffer.removeAll(keepingCapacity: true) }
    }
    blackHole(buffer)
}

/// Decodes `event`'s JSON line (as a Kafka message holds it, without its
/// newline) `scaledIterations` times with one decoder, as a source does.
func decode(_ event: FileEvent, _ benchmark: Benchmark) {
    var line: [UInt8] = []
    JSONLineEncoder().encode(event, into: &line)
    line.removeLast()
    var decoder = EventJSONDecoder()
    precondition((try? line.withUnsafeBytes { try decoder.decode($0) }) != nil, "the sample does not decode")
    benchmark.startMeasurement()
    line.withUnsafeBytes { bytes in
        for _ in benchmark.scaledIterations {
            blackHole(try? decoder.decode(bytes))
        }
    }
}

enum Samples {
    /// An open with what the kernel source adds to it: process context,
    /// cgroup, mount, origin (the line has every standard key).
    static let contextOpen: FileEvent = {
        var event = open
        let mount = MountInfo(mountID: 28, device: 259 << 20 | 3, mountPoint: Array("/home".utf8), fsType: "ext4")
        event.source.device = 259 << 20 | 3
        event.source.mode = 0o100644
        event.source.linkCount = 1
        event.source.mount = mount
        event.source.processRootOffset = 0
        event.process = ProcessContext(
            ppid: 48_200, startTime: EventTimestamp(nanosecondsSinceEpoch: 1_795_675_500_000_000_001), loginUID: 1000,
            sessionID: 3, euid: 1000, egid: 1000, executable: EventPath("/usr/bin/swift-frontend"), cgroupID: 9876,
            cgroup: CgroupInfo(id: 9876, path: Array("/user.slice/user-1000.slice/session-3.scope".utf8)),
            mountNamespace: 4026531840, pidNamespace: 4026531836, userNamespace: 4026531837,
            userName: "dev", groupName: "dev", effectiveUserName: "dev", effectiveGroupName: "dev")
        event.origin = EventOrigin(host: "build-7.example.net", stream: 0x1F2E_3D4C_5B6A_7988)
        event.sequence = 1_234_567
        return event
    }()


    static let open = FileEvent(
        type: .open, timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_795_675_544_123_456_789),
        pid: 48_213, tid: 48_219, uid: 1000, gid: 1000, comm: ProcessName("swift-frontend"),
        flags: 0o2_100_101, mode: 0o644, retval: 5,
        source: EventPath("/home/dev/src/fsprobe/Sources/Core/Formatting/JSONLineEncoder.swift",
                          inode: 9_437_361, mountID: 28))

    static let hostileRename = FileEvent(
        type: .rename, timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_795_675_544_123_456_789),
        pid: 48_213, tid: 48_219, uid: 1000, gid: 1000, comm: ProcessName("mv"),
        flags: 0, mode: 0, retval: -2,
        source: EventPath(bytes: Array("/tmp/\u{1b}[31mred\n\"quoted\"\\".utf8) + [0xFF, 0xFE], inode: 12, mountID: 28),
        target: EventPath(bytes: Array("/tmp/日本語/\u{202e}fdp.exe".utf8), inode: 13, mountID: 28))
}

/// Accepts and forgets events: measures the pipeline itself.
final class DiscardingSink: EventSink, @unchecked Sendable {
    let name = "discard"
    func write(_ event: FileEvent) throws { blackHole(event) }
    func flush() throws {}
    func close() throws {}
}
