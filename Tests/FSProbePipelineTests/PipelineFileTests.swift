import Foundation
import FSProbeCore
import FSProbeKafka
import FSProbePipeline
import FSProbePipelineFile
import FSProbeSinks
import FSProbeSources
import Testing

/// Pipeline files: every problem at once with its position, `${VAR}`
/// secrets, and graphs that no name can break.
@Suite struct PipelineFileTests {
    /// The component types the fsprobe command offers, assembled as it does
    /// from its modules (so that every example file can be checked).
    static let registry = ComponentRegistry(
        [.kernelSource, .kafkaSource] + ComponentType.coreTransforms + [.stdoutSink, .fileSink, .sqliteSink, .kafkaSink])

    func problems(_ yaml: String, environment: [String: String] = [:]) -> [String] {
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: environment)
        return PipelineValidator(registry: Self.registry).problems(in: document).map(\.description)
    }

    @Test func everyProblemIsReportedAtOnceWithItsPosition() {
        let yaml = """
            sources:
              k:
                type: kernel
                pathz: [/etc]
                recursive: maybe
            transforms:
              a:
                type: filter
                inputs: [b]
                event_types: [open, mkdirr]
              b:
                type: filter
                inputs: [a, ghost]
              lonely:
                type: filter
                inputs: [k]
            sinks:
              out:
                type: nosuch
                inputs: [a]
              f:
                type: file
                inputs: [out]
            extra: 1
            """
        #expect(problems(yaml) == [
            "p.yaml:4:5: unknown option 'pathz' for kernel: expected paths, events, recursive, follow, paths_filtering, ring_buffer_pages, backend, dentry_resolution_mode, kernel_cache_size, path_cache_size, host",
            "p.yaml:5:5: option 'recursive' of 'k': expected true or false, got 'maybe'",
            "p.yaml:7:3: cycle: a -> b -> a",
            "p.yaml:10:5: option 'event_types' of 'a': unknown 'mkdirr': expected open, mkdir, link, rename, setattr, unlink, rmdir, modify",
            "p.yaml:13:17: input 'ghost' of 'b' is not a source or transform of this pipeline (known: a, b, k, lonely)",
            "p.yaml:14:3: transform 'lonely' feeds nothing: no transform or sink names it in its inputs",
            "p.yaml:19:11: unknown sink type 'nosuch': expected one of stdout, file, sqlite, kafka",
            "p.yaml:21:3: 'f' (file) needs option 'path': the file to write",
            "p.yaml:23:14: input 'out' of 'f' is a sink: sinks produce nothing",
            "p.yaml:24:1: unknown section 'extra': expected sources, transforms, sinks, metrics or tests",
        ])
    }

    /// `metrics:` takes an address, from the environment too; anything else
    /// is located and says what it accepts.
    @Test func metricsSectionTakesOneCheckedAddress() {
        let pipeline = """
            sources:
              k: {type: kernel, paths: [/etc]}
            sinks:
              out: {type: stdout, inputs: [k]}

            """
        let good = PipelineDocument(file: "p.yaml", text: pipeline + "metrics: {address: '${ADDR:-127.0.0.1:9464}'}", environment: [:])
        #expect(good.problems.isEmpty)
        #expect(good.metricsAddress == MetricsAddress("127.0.0.1:9464"))
        let v6 = PipelineDocument(file: "p.yaml", text: pipeline + "metrics: {address: '[::1]:0'}", environment: [:])
        #expect(v6.metricsAddress?.host == "::1" && v6.metricsAddress?.port == 0)
        #expect(problems(pipeline + "metrics: {address: 9464, port: 1}") == [
            "p.yaml:5:20: metrics address '9464': expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464 (port 0 to 65535)",
            "p.yaml:5:26: unknown setting 'port' of metrics: expected address",
        ])
        #expect(problems(pipeline + "metrics: 127.0.0.1:9464") == [
            "p.yaml:5:10: section metrics must be a mapping: metrics: {address: HOST:PORT}",
        ])
        // Drawn as written, an address from the environment is left unchecked.
        let drawn = PipelineDocument(file: "p.yaml", text: pipeline + "metrics: {address: '${ADDR}'}", environment: nil)
        #expect(drawn.problems.isEmpty && drawn.metricsAddress == nil)
    }

    /// The kernel source's own bounds, refused in the file's terms: the
    /// option's name, never the command line's flag for it.
    @Test func kernelBoundsNameTheFilesOptionNotAFlag() {
        let yaml = """
            sources:
              k:
                type: kernel
                paths: [/etc]
                ring_buffer_pages: 100
            sinks:
              out:
                type: stdout
                inputs: [k]
            """
        let found = problems(yaml)
        #expect(found.count == 1)
        #expect(found.first?.contains("ring_buffer_pages") == true, "\(found)")
        #expect(found.first?.contains("invalid value 100: expected a power of two") == true, "\(found)")
        #expect(found.first?.contains("--") == false, "\(found)")
    }

    /// A test case's injected fields are the schema's names: an unknown one
    /// and one that cannot be injected are told apart, both located.
    @Test func injectedFieldsAreCheckedAgainstTheSchema() {
        let yaml = """
            sources:
              k: {type: kernel, paths: [/etc]}
            sinks:
              out: {type: stdout, inputs: [k]}
            tests:
              - name: fields
                inject:
                  k:
                    - {event_type: open, srcfile: /a}
                    - {event_type: open, timestamp: "2026-01-01T00:00:00Z"}
                expect:
                  out: {count: 2}
            """
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: [:])
        let (_, found) = PipelineTester(registry: Self.registry).cases(in: document, text: yaml)
        let lines = found.map(\.description)
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.hasPrefix("p.yaml:9:11: unknown event field 'srcfile': expected event_type, pid,") == true, "\(lines)")
        #expect(lines.last?.hasPrefix("p.yaml:10:11: event field 'timestamp' cannot be injected: expected event_type,") == true, "\(lines)")
    }

    @Test func structuralMistakes() {
        #expect(problems("sources:\n  k:\n    type: kernel\n    paths: [/etc]\n") == [
            "p.yaml:1:1: the pipeline has no sink",
            "p.yaml:2:3: source 'k' feeds nothing: no transform or sink names it in its inputs",
        ])
        #expect(problems("sinks:\n  s:\n    type: stdout\n") == ["p.yaml:2:3: sink 's' has no inputs: name the components it reads from"])
        #expect(problems("sources:\n  k: {inputs: [x]}\nsinks:\n  s: {type: stdout, inputs: [k]}\n") == [
            "p.yaml:2:3: component 'k' has no type",
            "p.yaml:2:16: source 'k' takes no inputs",
        ])
        #expect(problems("sources:\n  k: {type: stdout}\nsinks:\n  s: {type: stdout, inputs: [k]}\n") ==
            ["p.yaml:2:13: unknown source type 'stdout': expected one of kernel, kafka"])
    }

    @Test func yamlSyntaxErrorsHaveAPosition() {
        let found = problems("sources:\n  k: [unclosed\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("p.yaml:3:1: YAML syntax: ") == true, "\(found)")
    }

    @Test func bytesYAMLRefusesAreLocatedWithoutQuotingTheLine() {
        let found = problems("sinks:\n  s: {type: stdout, inputs: [k], format: \"json\u{1}sasl.password=Hunter2\"}\n")
        #expect(found == ["p.yaml:2:47: YAML: control characters are not allowed (character U+1)"], "\(found)")
    }

    @Test func nestedListsAndEmptyVariableNamesAreNamedForWhatTheyAre() {
        let found = problems("sources:\n  k: {type: kernel, paths: [[/tmp]]}\nsinks:\n  s: {type: stdout, inputs: [k], format: \"${}\"}\n")
        #expect(found.contains("p.yaml:2:28: a list of values holds single values, not lists or mappings"), "\(found)")
        #expect(found.contains("p.yaml:4:42: '${}' names no variable: expected ${NAME}"), "\(found)")
    }

    /// The kafka source's options are checked before anything connects:
    /// each mistake named at its option, a secret never shown.
    @Test func kafkaSourceMistakesAreNamedAtTheirOption() {
        func source(_ options: String) -> [String] {
            problems("sources:\n  fleet: {type: kafka, \(options)}\nsinks:\n  s: {type: stdout, inputs: [fleet]}\n")
        }
        #expect(source("brokers: b:9092, topics: [t], group_id: g") == [])
        #expect(source("brokers: b:9092, topics: [t]") == ["p.yaml:2:3: 'fleet' (kafka) needs option 'group_id': the consumer group: instances sharing it share the partitions, and its committed offsets say where a restart resumes"])
        #expect(source("brokers: b:9092, topics: [t], group_id: g, start: middle").first?.contains("option 'start' of 'fleet'") == true)
        #expect(source("brokers: b:9092, topics: ['bad topic'], group_id: g").first?.contains("option 'topics'") == true)
        let owned = source("brokers: b:9092, topics: [t], group_id: g, librdkafka: [enable.auto.commit=true]")
        #expect(owned.count == 1 && owned[0].contains("'enable.auto.commit' is set by the source's 'commit_interval_ms' option"), "\(owned)")
        let refused = source("brokers: b:9092, topics: [t], group_id: g, librdkafka: [session.timeout.ms=Hunter2secret]")
        #expect(refused.count == 1 && refused[0].contains("refuses the value of 'session.timeout.ms'") && !refused[0].contains("Hunter2secret"), "\(refused)")
    }

    /// librdkafka's 1 s pause before fetching again once its queue was
    /// full left a fast aggregator idle half of every second: the source
    /// asks again after 10 ms, unless `librdkafka:` says otherwise.
    @Test func kafkaSourceFetchesAgainSoonUnlessToldOtherwise() throws {
        func backoff(_ passThrough: [KafkaProperty]) throws -> String? {
            try KafkaSourceOptions(brokers: ["127.0.0.1:9092"], topics: ["t"], groupID: "g", librdkafka: passThrough)
                .librdkafkaValue("fetch.queue.backoff.ms")
        }
        #expect(try backoff([]) == "10")
        #expect(try backoff([KafkaProperty(key: "fetch.queue.backoff.ms", value: "1000")]) == "1000")
    }

    @Test func examplePipelinesAreValid() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../pipelines").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        for name in files {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            // Examples take secrets and addresses from the environment: give each a value.
            let variables = text.matches(of: /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/).map { String($0.output.1) }
            let environment = Dictionary(variables.map { ($0, "example") }, uniquingKeysWith: { first, _ in first })
            #expect(problems(text, environment: environment) == [], "\(name)")
        }
    }

    @Test func secretsComeFromTheEnvironmentAndAreNeverEchoed() throws {
        let yaml = "sources:\n  k: {type: kernel, paths: [\"${WATCH}\"]}\nsinks:\n  f: {type: file, inputs: [k], path: \"/x/${SECRET}$$\"}\n"
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: ["WATCH": "/etc", "SECRET": "hunter2"])
        #expect(document.problems.isEmpty)
        let path = try #require(document.components.first { $0.name == "f" }?.options.first { $0.name == "path" })
        #expect(path.value == .scalar("/x/hunter2$"))
        let unset = problems(yaml, environment: ["WATCH": "/etc"])
        #expect(unset == ["p.yaml:4:38: environment variable SECRET is not set (give it a default with ${SECRET:-value})"])
        #expect(!problems(yaml.replacingOccurrences(of: "${SECRET}", with: "${SECRET"), environment: ["SECRET": "hunter2"])
            .joined().contains("hunter2"))
    }

    @Test func variablesTakeADefaultOrARequirementAsInTheShell() throws {
        func value(_ written: String, _ environment: [String: String]) throws -> String {
            try EnvironmentInterpolation(environment: environment).interpolate(written)
        }
        #expect(try value("${A:-x,y}/z", [:]) == "x,y/z", "unset: the default")
        #expect(try value("${A:-x}", ["A": ""]) == "x", "empty: the default")
        #expect(try value("${A-x}", ["A": ""]) == "", "without ':', empty is a value")
        #expect(try value("${A-x}", [:]) == "x")
        #expect(try value("${A:-x}", ["A": "set"]) == "set")
        #expect(try value("${A:?}", ["A": "set"]) == "set")
        #expect(try value("$${A:-x}", [:]) == "${A:-x}", "$$ is a literal $")
        #expect(throws: EnvironmentInterpolation.Failure.required("A", message: "the brokers, host:port")) {
            try value("${A:?the brokers, host:port}", ["A": ""])
        }
        #expect(throws: EnvironmentInterpolation.Failure.badName("A+x")) { try value("${A+x}", ["A": "1"]) }
        #expect(throws: EnvironmentInterpolation.Failure.badName("1A")) { try value("${1A}", ["1A": "1"]) }

        // In a file: the message is located, and says what the file asks for.
        let yaml = "sources:\n  k: {type: kernel, paths: [\"${WATCH:-/etc}\"]}\nsinks:\n  f: {type: kafka, inputs: [k], brokers: \"${BROKERS:?set BROKERS to host:port}\", topic: t}\n"
        #expect(problems(yaml) == ["p.yaml:4:42: environment variable BROKERS is required: set BROKERS to host:port"],
                "only the variable's problem: a value that could not be resolved is not judged")
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: ["BROKERS": "b:9092"])
        #expect(document.problems.isEmpty)
        let paths = try #require(document.components.first { $0.name == "k" }?.options.first { $0.name == "paths" })
        #expect(paths.value == .list(["/etc"]))
        // Drawn as written: no variable needed.
        let written = PipelineDocument(file: "p.yaml", text: yaml, environment: nil)
        #expect(written.problems.isEmpty)
        let brokers = try #require(written.components.first { $0.name == "f" }?.options.first { $0.name == "brokers" })
        #expect(brokers.value == .scalar("${BROKERS:?set BROKERS to host:port}"))
    }

    @Test func hostileNamesCannotBreakLinesOrTheGraph() {
        let yaml = "sources:\n  \"k\\n\\\"]; evil\\u001b[31m\": {type: kernel}\nsinks:\n  s: {type: stdout, inputs: [\"k\\n\\\"]; evil\\u001b[31m\"]}\n"
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: [:])
        #expect(document.problems.isEmpty)
        for format in PipelineGraph.Format.allCases {
            let graph = PipelineGraph.render(document, as: format)
            #expect(!graph.contains("\u{1b}"), "\(format)")
            #expect(graph.split(separator: "\n").count == (format == .dot ? 6 : 4), "\(format): \(graph)")
        }
        let bad = PipelineDocument(file: "p.yaml", text: yaml.replacingOccurrences(of: "stdout", with: "x\\u2028y"), environment: [:])
        let lines = PipelineValidator(registry: Self.registry).problems(in: bad).map(\.description)
        #expect(lines.allSatisfy { !$0.contains("\n") && !$0.contains("\u{1b}") && !$0.contains("\u{2028}") }, "\(lines)")
    }

    @Test func dotGraph() {
        let yaml = "sources:\n  k: {type: kernel}\ntransforms:\n  t: {type: filter, inputs: [k]}\nsinks:\n  s: {type: stdout, inputs: [t, k]}\n"
        let document = PipelineDocument(file: "p.yaml", text: yaml, environment: [:])
        #expect(PipelineGraph.render(document, as: .dot) == """
            digraph pipeline {
              rankdir=LR;
              "k" [shape=invhouse, label="k\\n(kernel)"];
              "t" [shape=box, label="t\\n(filter)"];
              "s" [shape=house, label="s\\n(stdout)"];
              "k" -> "t";
              "t" -> "s";
              "k" -> "s";
            }

            """)
    }
}
