// swift-tools-version: 6.1
import PackageDescription

// fsprobe: a Linux file-system event notifier built on eBPF.
//
// Modules (each a library product, so other Swift programs can embed fsprobe;
// docs/architecture.md says what each holds):
//   FSProbeCore          event model, formatting, the pipeline runtime (stages,
//                        buffers, disk buffer), transforms, component contracts
//   FSProbePipelineFile  pipeline files: YAML, validation, building, and the
//                        runner of their `tests:` section (Yams)
//   FSProbeSources       the kernel event source (libbpf, BPF backends, watches), Watcher
//   FSProbeSinks         stdout, file, SQLite (GRDB) and Kafka (librdkafka) sinks
//   FSProbeKafka         the Kafka source: a consumer group of fsprobe's JSON events (librdkafka)
//   FSProbeMetrics       a pipeline's counters as Prometheus metrics, served over HTTP (swift-nio)
//   fsprobe              the command-line tool
let package = Package(
    name: "fsprobe",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FSProbeCore", targets: ["FSProbeCore"]),
        .library(name: "FSProbePipeline", targets: ["FSProbePipeline"]),
        .library(name: "FSProbePipelineFile", targets: ["FSProbePipelineFile"]),
        .library(name: "FSProbeSources", targets: ["FSProbeSources"]),
        .library(name: "FSProbeSinks", targets: ["FSProbeSinks"]),
        .library(name: "FSProbeKafka", targets: ["FSProbeKafka"]),
        .library(name: "FSProbeMetrics", targets: ["FSProbeMetrics"]),
        // Record fixtures for tests, fuzz seeds and the benchmarks package; not fsprobe itself.
        .library(name: "FSProbeTestSupport", targets: ["FSProbeTestSupport"]),
        .executable(name: "fsprobe", targets: ["fsprobe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Pipeline files: YAML with line and column marks on every node.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The SQLite sink: migrations, WAL, transactions (links the system libsqlite3).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // Metrics: the swift-metrics API in the library (an embedder's own
        // backend receives them), Prometheus text and an HTTP listener in the tool.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Logs: the swift-log API in the library (an embedder passes its Logger), fsprobe's own handler in the tool.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // libbpf from the system (libbpf-dev), found through pkg-config.
        .systemLibrary(
            name: "CLibBPF",
            path: "Sources/CLibBPF",
            pkgConfig: "libbpf",
            providers: [.apt(["libbpf-dev", "libelf-dev"])]
        ),
        // librdkafka (>= 2.8) for the Kafka sink, found through pkg-config;
        // scripts/install-kafka.sh builds it where the distribution's is older.
        .systemLibrary(name: "CRDKafka", path: "Sources/CRDKafka", pkgConfig: "rdkafka"),
        // SQLite's variadic configuration call, for the SQLite sink.
        .systemLibrary(name: "CSQLiteShim", path: "Sources/CSQLiteShim"),
        // The generated BPF skeleton, the shared ABI header and small C shims
        // for what Swift cannot call directly (libbpf option macros).
        .target(
            name: "CFSProbeBPF",
            dependencies: ["CLibBPF"],
            path: "Sources/CFSProbeBPF",
            linkerSettings: [.linkedLibrary("bpf"), .linkedLibrary("elf"), .linkedLibrary("z")]
        ),
        // sync_file_range(2), for the file sinks (glibc declares it only under _GNU_SOURCE).
        .target(name: "CFileWriteback", path: "Sources/CFileWriteback"),
        // No Yams here: a program that only embeds Watcher or a Pipeline links none.
        .target(name: "FSProbeCore", path: "Sources/Core", exclude: ["Pipeline", "PipelineFile", "Metrics"]),
        .target(
            name: "FSProbePipeline",
            dependencies: [
                "FSProbeCore", .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Core/Pipeline"
        ),
        .target(
            name: "FSProbeMetrics",
            dependencies: [
                "FSProbeCore", "FSProbePipeline",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/Core/Metrics"
        ),
        .target(
            name: "FSProbePipelineFile",
            dependencies: ["FSProbeCore", "FSProbePipeline", .product(name: "Yams", package: "Yams")],
            path: "Sources/Core/PipelineFile"
        ),
        .target(
            name: "FSProbeSources",
            dependencies: ["FSProbeCore", "FSProbePipeline", "CFSProbeBPF", "CLibBPF", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Sources",
            // Its own module: an embedder of Watcher links no librdkafka.
            exclude: ["Kafka"]
        ),
        .target(
            name: "FSProbeKafka",
            dependencies: ["FSProbeCore", "FSProbePipeline", "FSProbeSinks", "CRDKafka", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Sources/Kafka"
        ),
        .target(
            name: "FSProbeSinks",
            dependencies: [
                "FSProbeCore",
                "FSProbePipeline",
                "CRDKafka",
                "CSQLiteShim",
                "CFileWriteback",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Sinks"
        ),
        .executableTarget(
            name: "fsprobe",
            dependencies: [
                "FSProbeCore", "FSProbePipeline", "FSProbePipelineFile", "FSProbeSources", "FSProbeSinks", "FSProbeKafka", "FSProbeMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/CLI"
        ),
        // Test helper: performs file operations through io_uring (raw syscalls,
        // no liburing) so tests can check they are observed. Not a product.
        .executableTarget(name: "fsprobe-uring", path: "Sources/UringTool"),
        // Fuzzing (scripts/fuzz.sh): the targets, and a driver that is
        // libFuzzer's entry point when built with -sanitize=fuzzer -DFUZZING,
        // a replayer of input files otherwise. Not products.
        .target(
            name: "FSProbeFuzzTargets",
            dependencies: ["FSProbeCore", "FSProbePipeline", "FSProbePipelineFile", "FSProbeSources", "FSProbeSinks", "FSProbeTestSupport"],
            path: "Fuzz/Targets"
        ),
        .executableTarget(name: "fsprobe-fuzz", dependencies: ["FSProbeFuzzTargets"], path: "Fuzz/Driver"),
        .testTarget(
            name: "FSProbeCoreTests",
            dependencies: ["FSProbeCore", "FSProbePipeline", "FSProbeTestSupport"],
            path: "Tests/FSProbeCoreTests"
        ),
        .testTarget(
            name: "FSProbePipelineTests",
            dependencies: [
                "FSProbeCore", "FSProbePipeline", "FSProbePipelineFile", "FSProbeSources", "FSProbeSinks", "FSProbeKafka", "FSProbeMetrics",
                "FSProbeTestSupport", .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Tests/FSProbePipelineTests"
        ),
        // What the tests share: the fsprobe binary's runner, scratch
        // directories, test events and small sources and sinks, ring-buffer
        // records built as the kernel lays them out.
        .target(
            name: "FSProbeTestSupport",
            dependencies: ["FSProbeCore", "FSProbePipeline", "FSProbeSources", "CFSProbeBPF"],
            path: "Tests/Support"
        ),
        .testTarget(name: "FSProbeSourcesTests", dependencies: ["FSProbeSources", "FSProbePipeline", "FSProbeTestSupport"], path: "Tests/FSProbeSourcesTests"),
        .testTarget(
            name: "FSProbeKernelTests",
            dependencies: ["FSProbeCore", "FSProbePipeline", "FSProbeSources", "FSProbeSinks", "CFSProbeBPF", "FSProbeTestSupport"],
            path: "Tests/FSProbeKernelTests"
        ),
        // Sinks against real services: a SQLite file, a Kafka broker on loopback (host only).
        .testTarget(
            name: "FSProbeSinksTests",
            dependencies: ["FSProbeCore", "FSProbePipeline", "FSProbePipelineFile", "FSProbeSinks", "CRDKafka", "FSProbeTestSupport", "FSProbeSinkTestSupport"],
            path: "Tests/FSProbeSinksTests"
        ),
        // Every input the fuzzers once failed on (Fuzz/Regressions), replayed.
        .testTarget(name: "FSProbeFuzzRegressionTests", dependencies: ["FSProbeFuzzTargets"], path: "Tests/FSProbeFuzzRegressionTests"),
        // Runs the built fsprobe binary as a user would (FSPROBE_BIN, or .build/debug/fsprobe).
        // Brokers, consumers and database readers for the tests of the sinks
        // and of the runs that end in them.
        .target(
            name: "FSProbeSinkTestSupport",
            dependencies: [
                "FSProbeCore", "FSProbeSinks", "FSProbeTestSupport", "CRDKafka",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/SinkSupport"
        ),
        // End to end: the fsprobe binary run as a user runs it, its flags,
        // pipeline files and outputs, into real files, databases and brokers.
        .testTarget(
            name: "FSProbeCLITests",
            dependencies: [
                "FSProbeCore", "FSProbePipeline", "FSProbeTestSupport", "FSProbeSinkTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/FSProbeCLITests"
        ),
    ]
)
