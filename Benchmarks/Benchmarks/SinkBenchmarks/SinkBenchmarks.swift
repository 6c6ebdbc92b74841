import Benchmark
import BenchmarkSupport
import Foundation
import FSProbeCore
import FSProbeKafka
import FSProbePipeline
import FSProbeSinks
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Events per second and allocations per event through the pipeline into
// each real sink: a JSON-lines file, a SQLite database (WAL, batched
// transactions) and Kafka on a loopback broker. Every iteration pushes
// `scaledIterations` events (metrics marked `*` are per event).
//
// The aggregator benchmark consumes, with the Kafka source, events an agent
// produced (each with its own id) and archives them in SQLite: what
// pipelines/fleet-archive.yaml does. Producing them is not measured.
//
// The Kafka benchmarks need the test broker of scripts/install-kafka.sh
// (`fsprobe-test-broker`, or FSPROBE_KAFKA_BROKER); without it, it says so
// and measures nothing.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 20
    )
    // The broker would outlive the benchmark (and hold its output open).
    Benchmark.teardown = { LoopbackBroker.started.withLock { $0 }?.stop() }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fsprobe-sink-bench-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

    Benchmark("Pipeline to file sink (JSON lines)") { benchmark in
        let path = "\(scratch)/events.jsonl"
        defer { unlink(path) }
        runPipeline(benchmark, event: Samples.open, sink: try! FileSink(path: path, format: .json))
    }

    Benchmark("Pipeline to SQLite sink (WAL, batches of 1000)") { benchmark in
        let path = "\(scratch)/events-\(UUID().uuidString).db"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        runPipeline(benchmark, event: Samples.open, sink: try! SQLiteSink(options: SQLiteSinkOptions(path: path)))
    }

    Benchmark("Pipeline to Kafka sink (loopback broker, acks=all, lz4)",
              configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
                                   scalingFactor: .kilo, maxDuration: .seconds(10), maxIterations: 10)) { benchmark in
        guard let producer = LoopbackBroker.producer else {
            print("Kafka benchmark: no test broker (run scripts/install-kafka.sh); nothing measured")
            return
        }
        // One producer for every iteration (a real pipeline keeps its
        // connection): each iteration ends with a flush that waits for every
        // acknowledgement, so it measures events delivered, not queued.
        runPipeline(benchmark, event: Samples.open, sink: KeepOpen(producer))
        precondition(producer.failed == 0, "Kafka benchmark: \(producer.failed) messages failed")
    }

    // 200,000 events an iteration: the custom metric is events per second
    // from the first event consumed to the last one committed to the
    // archive; wall clock also has the group join (seconds, whatever the
    // volume) and the shutdown.
    Benchmark("Aggregator: Kafka source to SQLite sink (loopback broker, 200k events)",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident,
                                             Aggregate.eventsPerSecond],
                                   scalingFactor: .one, maxDuration: .seconds(60), maxIterations: 3)) { benchmark in
        guard let broker = LoopbackBroker.shared else {
            print("Kafka benchmark: no test broker (run scripts/install-kafka.sh); nothing measured")
            return
        }
        let count = Aggregate.events
        let topic = "fsprobe.bench.aggregate.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        // An agent's stream: distinct ids, acknowledged before the clock starts.
        let agent = try! KafkaSink(options: KafkaSinkOptions(brokers: [broker.bootstrap], topic: topic))
        let origin = EventOrigin(host: "agent-1", stream: UInt64.random(in: 0...UInt64.max))
        var event = Samples.open
        event.origin = origin
        for sequence in 1...count {
            event.sequence = UInt64(sequence)
            try! agent.write(event)
        }
        try! agent.close()
        precondition(agent.confirmed == UInt64(count), "Kafka benchmark: \(agent.undelivered) messages failed")

        let path = "\(scratch)/fleet-\(UUID().uuidString).db"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let source = try! KafkaEventSource(options: KafkaSourceOptions(brokers: [broker.bootstrap], topics: [topic],
                                                                       groupID: "bench-\(topic)",
                                                                       // The join waits on the session timeout with the test broker.
                                                                       librdkafka: [KafkaProperty(key: "session.timeout.ms", value: "6000")]))
        let sink = try! SQLiteSink(options: SQLiteSinkOptions(path: path))
        let pipeline = Pipeline(source: source, sinks: [sink], configuration: .init(bufferCapacity: 4096))
        // The source never ends by itself: stop it once every event is
        // archived. Timed from the first event (the consumer joined its
        // group) to the last one committed by the sink.
        let span = Mutex<(first: ContinuousClock.Instant, last: ContinuousClock.Instant)?>(nil)
        let watcher = Thread {
            while pipeline.stats.received == 0 { usleep(100) }
            let first = ContinuousClock.now
            while pipeline.stats.sinks[0].delivered < UInt64(count) { usleep(200) }
            span.withLock { $0 = (first, ContinuousClock.now) }
            pipeline.stop()
        }
        benchmark.startMeasurement()
        watcher.start()
        try! pipeline.run()
        benchmark.stopMeasurement()
        precondition(pipeline.stats.sinks[0].delivered == UInt64(count) && sink.duplicatesIgnored == 0)
        if let span = span.withLock({ $0 }) {
            let elapsed = (span.last - span.first).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            benchmark.measurement(Aggregate.eventsPerSecond, Int(Double(count) / seconds))
        }
    }

    // The aggregator's archive alone: the same 200,000 events, each with its
    // own id (so the unique index and the conflict check work as they do
    // there), decoded before the clock starts and written straight to the
    // sink into one growing database. The difference from the aggregator is
    // what consuming and decoding cost beside it.
    Benchmark("SQLite sink alone: 200k events with ids into one database",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal, Aggregate.archivedPerSecond],
                                   scalingFactor: .one, maxDuration: .seconds(60), maxIterations: 3)) { benchmark in
        let path = "\(scratch)/archive-\(UUID().uuidString).db"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let sink = try! SQLiteSink(options: SQLiteSinkOptions(path: path))
        // Decoded from JSON as the Kafka source does, each event its own
        // memory (not one event written again and again, hot in the cache).
        var event = Samples.open
        event.origin = EventOrigin(host: "agent-1", stream: UInt64.random(in: 0...UInt64.max))
        var decoder = EventJSONDecoder()
        var line: [UInt8] = []
        let events = (1...Aggregate.events).map { sequence in
            event.sequence = UInt64(sequence)
            line.removeAll(keepingCapacity: true)
            JSONLineEncoder().encode(event, into: &line)
            return line.withUnsafeBytes { try! decoder.decode($0) }
        }
        let start = ContinuousClock.now
        benchmark.startMeasurement()
        for event in events { try! sink.write(event) }
        try! sink.flush()
        benchmark.stopMeasurement()
        let elapsed = (ContinuousClock.now - start).components
        benchmark.measurement(Aggregate.archivedPerSecond,
                              Int(Double(Aggregate.events) / (Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)))
        precondition(sink.confirmed == UInt64(Aggregate.events) && sink.duplicatesIgnored == 0)
        try! sink.close()
    }
}

/// The aggregator benchmark's volume and its own metric (allocations per
/// event: `mallocCountTotal` over `events`).
enum Aggregate {
    static let events = 200_000
    static let eventsPerSecond = BenchmarkMetric.custom("events/s, first consumed to last archived", polarity: .prefersLarger, useScalingFactor: false)
    static let archivedPerSecond = BenchmarkMetric.custom("events/s archived", polarity: .prefersLarger, useScalingFactor: false)
}

/// Passes everything to `inner` but keeps it open at the end of a run (flushes instead).
final class KeepOpen: EventSink, @unchecked Sendable {
    let inner: any EventSink
    init(_ inner: any EventSink) { self.inner = inner }
    var name: String { inner.name }
    func write(_ event: FileEvent) throws { try inner.write(event) }
    func flush() throws { try inner.flush() }
    func close() throws { try inner.flush() }
}

enum Samples {
    static let open = FileEvent(
        type: .open, timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_795_675_544_123_456_789),
        pid: 48_213, tid: 48_219, uid: 1000, gid: 1000, comm: ProcessName("nginx"),
        flags: 0o2_100_101, mode: 0o644, retval: 5,
        source: EventPath("/srv/www/static/assets/app.3f9c2d.js", inode: 9_437_361, mountID: 28))
}

/// One broker process for the whole benchmark run, on a free loopback port.
final class LoopbackBroker: @unchecked Sendable {
    static let shared: LoopbackBroker? = {
        let broker = try? LoopbackBroker()
        started.withLock { $0 = broker }
        return broker
    }()
    /// Set once `shared` started one, so teardown never starts a broker to stop it.
    static let started = Mutex<LoopbackBroker?>(nil)
    /// A producer to a fresh topic of the shared broker.
    static let producer: KafkaSink? = shared.flatMap { broker in
        (try? KafkaSinkOptions(brokers: [broker.bootstrap], topic: "fsprobe.bench.\(getpid())")).flatMap { try? KafkaSink(options: $0) }
    }

    let bootstrap: String
    private let process = Process()

    private init() throws {
        let candidates = [ProcessInfo.processInfo.environment["FSPROBE_KAFKA_BROKER"], "/usr/local/bin/fsprobe-test-broker"]
        guard let executable = candidates.compactMap({ $0 }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CocoaError(.fileNoSuchFile)
        }
        let port = 20_000 + Int(getpid() % 20_000)
        bootstrap = "127.0.0.1:\(port)"
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["broker", "--listener-url", "tcp://\(bootstrap)", "--advertised-listener-url", "tcp://\(bootstrap)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when it accepts a connection (it takes milliseconds).
        for _ in 0..<500 where !Self.accepts(port: UInt16(port)) { usleep(10_000) }
    }

    /// SIGKILL: the broker inherits a signal mask that may block SIGTERM,
    /// and an in-memory broker has nothing to save.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static func accepts(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } == 0
        }
    }
}
