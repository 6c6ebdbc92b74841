import FSProbeCore
import FSProbePipeline
import FSProbePipelineFile
import FSProbeSinks
import Testing

/// Option decoding for `type: kafka`: what the validator runs, without I/O.
@Suite struct KafkaSinkOptionsTests {
    static func decode(_ values: [String: OptionValue]) throws(ComponentOptionError) -> KafkaSinkOptions {
        try KafkaSinkOptions(ComponentOptions(component: "kafka", values: values))
    }

    static let minimal: [String: OptionValue] = ["brokers": .scalar("b1:9092"), "topic": .scalar("fsprobe.events")]

    @Test func defaultsKeepPerFileOrderAndFullAcknowledgement() throws {
        let options = try Self.decode(Self.minimal)
        #expect(options.brokers == ["b1:9092"])
        #expect(options.key == .srcFilename)
        #expect(options.acks == .all)
        #expect(options.idempotence)
        #expect(options.compression == .lz4)
        #expect(options.messageTimeoutMs == nil)
        #expect(options.flushTimeoutMs == 30_000)
        #expect(options.librdkafka.isEmpty)
    }

    @Test func brokersAsListOrCommaSeparatedAreTheSame() throws {
        let list = try Self.decode(["brokers": .list(["b1:9092", "b2:9093"]), "topic": .scalar("t")])
        let commas = try Self.decode(["brokers": .scalar("b1:9092,b2:9093"), "topic": .scalar("t")])
        #expect(list.brokers == ["b1:9092", "b2:9093"])
        #expect(commas.brokers == list.brokers)
    }

    @Test func weakerAcksTurnIdempotenceOffUnlessAskedFor() throws {
        var values = Self.minimal
        values["acks"] = .scalar("1")
        let options = try Self.decode(values)
        #expect(options.acks == .leader)
        #expect(!options.idempotence)
    }

    @Test func passThroughPropertiesAreSplitAtTheFirstEquals() throws {
        var values = Self.minimal
        values["librdkafka"] = .list(["security.protocol=SASL_SSL", "sasl.password=a=b=c", "client.id="])
        let options = try Self.decode(values)
        #expect(options.librdkafka == [KafkaProperty(key: "security.protocol", value: "SASL_SSL"),
                                       KafkaProperty(key: "sasl.password", value: "a=b=c"),
                                       KafkaProperty(key: "client.id", value: "")])
        #expect(!"\(options.librdkafka)".contains("a=b=c"), "a property's description shows its value")
    }

    static let badValues: [(values: [String: OptionValue], option: String)] = [
        (["topic": .scalar("t")], "brokers"),
        (["brokers": .scalar("b1:9092")], "topic"),
        (["brokers": .scalar("b1:9092,,b2:9092"), "topic": .scalar("t")], "brokers"),
        (["brokers": .scalar("b1:9092 b2:9092"), "topic": .scalar("t")], "brokers"),
        (["brokers": .scalar("b1:9092"), "topic": .scalar("my topic")], "topic"),
        (["brokers": .scalar("b1:9092"), "topic": .scalar("..")], "topic"),
        (["brokers": .scalar("b1:9092"), "topic": .scalar(String(repeating: "t", count: 250))], "topic"),
        (minimal.merging(["key": .scalar("path")]) { $1 }, "key"),
        (minimal.merging(["acks": .scalar("2")]) { $1 }, "acks"),
        (minimal.merging(["acks": .scalar("1"), "idempotence": .scalar("true")]) { $1 }, "idempotence"),
        (minimal.merging(["idempotence": .scalar("yes")]) { $1 }, "idempotence"),
        (minimal.merging(["compression": .scalar("brotli")]) { $1 }, "compression"),
        (minimal.merging(["message_timeout_ms": .scalar("0")]) { $1 }, "message_timeout_ms"),
        (minimal.merging(["message_timeout_ms": .scalar("soon")]) { $1 }, "message_timeout_ms"),
        (minimal.merging(["flush_timeout_ms": .scalar("-1")]) { $1 }, "flush_timeout_ms"),
        (minimal.merging(["librdkafka": .list(["acks=1"])]) { $1 }, "librdkafka"),
        (minimal.merging(["librdkafka": .list(["bootstrap.servers=x:1"])]) { $1 }, "librdkafka"),
    ]

    @Test(arguments: badValues)
    func badValuesAreRejectedNamingTheOption(values: [String: OptionValue], option: String) {
        #expect {
            _ = try Self.decode(values)
        } throws: { error in
            (error as? ComponentOptionError)?.option == option
        }
        // The validator's path: the registered type decodes the same way.
        #expect(throws: ComponentOptionError.self) {
            try ComponentType.kafkaSink.check(ComponentOptions(component: "kafka", values: values))
        }
    }

    /// Pass-through items librdkafka (or the shape check) refuses, each
    /// carrying the secret "hunter2"; `names` is what the message must name.
    static let refusedPassThrough: [(item: String, names: String)] = [
        ("sasl.passwrd=hunter2", "sasl.passwrd"),  // unknown property
        ("security.protocol=hunter2", "security.protocol"),  // value outside the enumeration
        ("socket.timeout.ms=hunter2", "socket.timeout.ms"),  // not an integer
        ("hunter2", "item 2"),  // not key=value: shown by position only
        ("=hunter2", "item 2"),
    ]

    @Test(arguments: refusedPassThrough)
    func passThroughErrorsNameTheKeyNeverTheValue(item: String, names: String) throws {
        var values = Self.minimal
        values["librdkafka"] = .list(["client.id=fsprobe", item])
        let error = try #require(throws: ComponentOptionError.self) { try Self.decode(values) }
        #expect(error.option == "librdkafka")
        #expect(error.item == 1, "the culprit's position in the list")
        #expect(error.description.contains(names), "\(error)")
        #expect(!error.description.contains("hunter2"), "\(error)")
    }

    /// In a pipeline file, the problem is located at the item, not the list.
    @Test func aRefusedItemIsLocatedAtItsLine() throws {
        let text = """
            sources:
              files: {type: kernel, paths: [/tmp]}
            sinks:
              stream:
                type: kafka
                inputs: [files]
                brokers: b1:9092
                topic: t
                librdkafka:
                  - client.id=fsprobe
                  - sasl.passwrd=hunter2
            """
        let document = PipelineDocument(file: "p.yaml", text: text, environment: [:])
        let problems = PipelineValidator(registry: ComponentRegistry([.kafkaSink, .stdoutSink] + ComponentType.coreTransforms + [Self.anySource]))
            .problems(in: document)
        #expect(problems.map(\.description) == ["p.yaml:11:9: 'stream' (kafka): option 'librdkafka': 'sasl.passwrd' is not a librdkafka property"])
    }

    /// Stands for the kernel source (another module), taking any option.
    static let anySource = ComponentType.source("kernel", summary: "test source", options: [OptionSpec("paths", .stringList, "")]) {
        (_: AnyOptions, _) in throw ComponentOptionError(option: "paths", "not built in this test")
    }

    struct AnyOptions: ComponentOptionsDecodable {
        init(_ options: ComponentOptions) {}
    }
}
