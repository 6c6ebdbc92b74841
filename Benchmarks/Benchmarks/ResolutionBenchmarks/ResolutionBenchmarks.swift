import Benchmark
import FSProbeCore
import FSProbePipeline
import FSProbeSources
import Glibc
import Synchronization

// The three dentry resolution modes end to end on the real kernel: a file of
// a tree shaped like the original FSProbe's scenario 6 (depth 5, many leaf
// directories, 2 files each) is opened, and the benchmark waits until the
// kernel source has decoded and resolved its event. `*` metrics are per
// event: the user-space allocations of decoding and resolving (plus the
// workload's open+close, which allocates nothing) and the time of both
// sides together. Needs root (the BPF programs are loaded for real).
//
// Kernel-only cost per operation and the highest loss-free rate per ring
// buffer size are measured by Benchmarks/ResolutionModes/run.sh.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 50
    )
    let tree = BenchmarkTree(root: "/tmp/fsprobe-resolution-benchmark", depth: 5, leaves: 4000, filesPerLeaf: 2)
    for mode in ResolutionMode.allCases {
        Benchmark("Open → resolved event (\(mode.rawValue), depth 5, 8000 files)") { benchmark in
            try measure(mode: mode, tree: tree, benchmark)
        }
    }
}

/// Watches the tree in `mode`, opens random files of it, and waits for each
/// batch of events to come out of the source.
func measure(mode: ResolutionMode, tree: BenchmarkTree, _ benchmark: Benchmark) throws {
    var options = KernelProbeOptions()
    options.resolutionMode = mode
    options.ignoreOwnProcess = false // the workload runs in this process
    options.ringBufferPages = 4096
    let source = try KernelEventSource(paths: [tree.root], options: options)
    let received = Counter()
    let thread = Thread { try? source.run { _ in received.value.add(1, ordering: .releasing) } }
    defer {
        source.stop()
        thread.join()
    }
    var random = SystemRandomNumberGenerator()
    // Fill the caches first: the measurement is the steady state.
    for path in tree.files { open(path) }
    received.wait(for: tree.files.count)

    benchmark.startMeasurement()
    var expected = tree.files.count
    for _ in benchmark.scaledIterations {
        open(tree.files[Int(random.next() % UInt64(tree.files.count))])
        expected += 1
    }
    received.wait(for: expected)
    benchmark.stopMeasurement()
    let counters = source.kernelCounters
    if counters.kernel.ringBufferFull > 0 || counters.unresolvedPaths > 0 {
        fatalError("\(mode.rawValue): \(counters.kernel.ringBufferFull) events lost, \(counters.unresolvedPaths) unresolved paths")
    }
}

private func open(_ path: [CChar]) {
    let fd = path.withUnsafeBufferPointer { Glibc.open($0.baseAddress!, O_RDONLY) }
    if fd >= 0 { close(fd) }
}

/// Events seen by the source's thread, awaited by the benchmark's.
final class Counter: Sendable {
    let value = Atomic<Int>(0)

    func wait(for count: Int) {
        while value.load(ordering: .acquiring) < count { sched_yield() }
    }
}

/// A dedicated thread for the blocking `source.run`.
final class Thread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: () -> Void

    init(_ body: @escaping () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { context in
            let thread = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
    }

    func join() { pthread_join(handle, nil) }
}

/// `leaves` chains of `depth` directories below `root`, `filesPerLeaf` files
/// at the bottom of each; names of 10 random characters, as in the original.
struct BenchmarkTree: Sendable {
    let root: String
    let files: [[CChar]]

    init(root: String, depth: Int, leaves: Int, filesPerLeaf: Int) {
        self.root = root
        mkdir(root, 0o755)
        var random = SystemRandomNumberGenerator()
        func name() -> String {
            String((0..<10).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement(using: &random)! })
        }
        var files: [[CChar]] = []
        for _ in 0..<leaves {
            var path = root
            for _ in 0..<depth {
                path += "/" + name()
                mkdir(path, 0o755)
            }
            for _ in 0..<filesPerLeaf {
                let file = path + "/" + name()
                let fd = Glibc.open(file, O_CREAT | O_WRONLY, 0o644)
                if fd >= 0 { close(fd) }
                files.append(Array(file.utf8CString))
            }
        }
        self.files = files
    }
}
