import Benchmark
import FSProbeCore
import FSProbeSources

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

func decode(_ record: [UInt8], _ benchmark: Benchmark) {
    let decoder = KernelRecordDecoder(clock: BootClock(realtimeMinusBoottime: 0))
    benchmark.startMeasurement()
    record.withUnsafeBytes { bytes in
        for _ in benchmark.scaledIterations {
            blackHole(try? decoder.decode(bytes))
        }
    }
}
