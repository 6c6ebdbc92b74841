// swift-tools-version: 6.1
import PackageDescription

import struct Foundation.URL

// Benchmarks for fsprobe, kept in their own package so the main package does
// not depend on package-benchmark (and its malloc interposer).
//
// Run from this directory:  swift package benchmark
//
// A path dependency's identity is the name of its directory, which depends
// on where the repository was cloned; compute it rather than hard-code it.
let fsprobeIdentity = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "fsprobe-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // What every benchmark target shares: a repeating source, a pipeline run.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "FSProbeCore", package: fsprobeIdentity),
                .product(name: "FSProbePipeline", package: fsprobeIdentity),
            ],
            path: "Benchmarks/Support"
        ),
        // Formatting and pipeline throughput, allocations per event.
        .executableTarget(
            name: "FormatBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "FSProbeCore", package: fsprobeIdentity),
                .product(name: "FSProbePipeline", package: fsprobeIdentity),
                .product(name: "FSProbeSinks", package: fsprobeIdentity),
                .product(name: "FSProbeMetrics", package: fsprobeIdentity),
            ],
            path: "Benchmarks/FormatBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "package-benchmark"),
            ]
        ),
        // The pipeline into each real sink: file, SQLite, Kafka on loopback;
        // and an aggregator's: the Kafka source into SQLite.
        .executableTarget(
            name: "SinkBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "FSProbeCore", package: fsprobeIdentity),
                .product(name: "FSProbePipeline", package: fsprobeIdentity),
                .product(name: "FSProbeSinks", package: fsprobeIdentity),
                .product(name: "FSProbeKafka", package: fsprobeIdentity),
            ],
            path: "Benchmarks/SinkBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "package-benchmark"),
            ]
        ),
        // Decoding ring-buffer records (the kernel ABI) into events.
        .executableTarget(
            name: "DecodeBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "FSProbeCore", package: fsprobeIdentity),
                .product(name: "FSProbeSources", package: fsprobeIdentity),
                .product(name: "FSProbeTestSupport", package: fsprobeIdentity),
            ],
            path: "Benchmarks/DecodeBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "package-benchmark"),
            ]
        ),
        // The three dentry resolution modes on the real kernel (needs root).
        .executableTarget(
            name: "ResolutionBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "FSProbeCore", package: fsprobeIdentity),
                .product(name: "FSProbePipeline", package: fsprobeIdentity),
                .product(name: "FSProbeSources", package: fsprobeIdentity),
            ],
            path: "Benchmarks/ResolutionBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "package-benchmark"),
            ]
        ),
    ]
)
