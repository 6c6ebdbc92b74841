import FSProbeCore
import FSProbePipeline
import FSProbeSinks
import Testing

/// `type: sqlite` options, decoded without I/O as the pipeline validator does.
@Suite struct SQLiteSinkOptionsTests {
    private func decode(_ values: [String: String]) throws(ComponentOptionError) -> SQLiteSinkOptions {
        try SQLiteSinkOptions(ComponentOptions(component: "db", values: values.mapValues { .scalar($0) }))
    }

    @Test func defaultsAndValidValues() throws {
        #expect(try decode(["path": "/var/lib/fsprobe/events.db"])
            == SQLiteSinkOptions(path: "/var/lib/fsprobe/events.db", batchSize: 1000, retention: nil, synchronous: .normal))
        let options = try decode(["path": "e.db", "batch_size": "50", "retention": "7d", "synchronous": "full"])
        #expect(options == SQLiteSinkOptions(path: "e.db", batchSize: 50, retention: .seconds(7 * 86_400), synchronous: .full))
        #expect(try decode(["path": "e.db", "retention": "90m"]).retention == .seconds(5400))
        #expect(try decode(["path": "e.db", "retention": "24h"]).retention == .seconds(86_400))
        #expect(try decode(["path": "e.db", "retention": "45s"]).retention == .seconds(45))
    }

    @Test(arguments: [
        (["batch_size": "5"], "path", "is required"),
        (["path": ""], "path", "is empty"),
        (["path": "e.db", "batch_size": "0"], "batch_size", "expected an integer in 1...1000000, got '0'"),
        (["path": "e.db", "batch_size": "lots"], "batch_size", "got 'lots'"),
        (["path": "e.db", "batch_size": "2000000"], "batch_size", "got '2000000'"),
        (["path": "e.db", "retention": "5x"], "retention", "expected a duration like 90m, 24h or 7d"),
        (["path": "e.db", "retention": "0h"], "retention", "got '0h'"),
        (["path": "e.db", "retention": "-1d"], "retention", "got '-1d'"),
        (["path": "e.db", "retention": "+1d"], "retention", "got '+1d'"),
        (["path": "e.db", "retention": "1.5h"], "retention", "got '1.5h'"),
        (["path": "e.db", "retention": "h"], "retention", "got 'h'"),
        (["path": "e.db", "retention": "7 d"], "retention", "got '7 d'"),
        (["path": "e.db", "retention": "999999999999d"], "retention", "got '999999999999d'"),
        (["path": "e.db", "synchronous": "off"], "synchronous", "expected one of normal, full, got 'off'"),
    ])
    func badValuesNameTheOptionAndWhatIsAccepted(values: [String: String], option: String, message: String) {
        do {
            let options = try decode(values)
            Issue.record("accepted \(values) as \(options)")
        } catch {
            #expect(error.option == option)
            #expect(error.description.hasPrefix("option '\(option)': "))
            #expect(error.message.contains(message), "\(error.message)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func theComponentTypeChecksOptionsWithoutOpeningAnything() throws {
        let type = ComponentType.sqliteSink
        #expect(type.name == "sqlite" && type.role == .sink)
        #expect(type.option(named: "path")?.required == true)
        for name in ["batch_size", "retention", "synchronous", "buffer_size", "when_full"] {
            #expect(type.option(named: name) != nil, "\(name)")
        }
        // A path in a directory that does not exist still passes the check: no I/O.
        try type.check(ComponentOptions(component: "db", values: ["path": .scalar("/nonexistent/dir/e.db")]))
        #expect(throws: ComponentOptionError.self) {
            try type.check(ComponentOptions(component: "db", values: ["path": .scalar("e.db"), "retention": .scalar("soon")]))
        }
    }
}
