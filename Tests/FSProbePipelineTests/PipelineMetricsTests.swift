import FSProbeCore
import FSProbeMetrics
import FSProbePipeline
import FSProbeTestSupport
import Testing

/// `PipelineMetrics` over a pipeline run in process: what the exposition
/// says, and that a hostile component name cannot forge a line of it.
@Suite struct PipelineMetricsTests {
    @Test func exposesCountsByTypeDeliveriesAndOneLatencyPerEvent() throws {
        let events = [makeEvent(.open, seq: 1), makeEvent(.mkdir, seq: 2), makeEvent(.open, seq: 3)]
        let source = ArraySource(events)
        let sink = CollectingSink(name: "archive")
        let metrics = PipelineMetrics()
        let pipeline = Pipeline(source: source, sinks: [sink],
                                configuration: PipelineConfiguration(bufferCapacity: 16, metricsFactory: metrics.factory))
        metrics.observe(stats: { pipeline.stats }, sources: [("source", source)])
        try pipeline.run()
        let page = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(page.contains(#"fsprobe_events_received_total{source="source",type="open"} 2"#))
        #expect(page.contains(#"fsprobe_events_received_total{source="source",type="mkdir"} 1"#))
        #expect(page.contains(#"fsprobe_events_received_total{source="source",type="rename"} 0"#))
        #expect(page.contains(#"fsprobe_delivered_events_total{component="archive"} 3"#))
        #expect(page.contains(#"fsprobe_event_latency_seconds_count{component="archive"} 3"#))
        #expect(page.contains(#"fsprobe_buffer_capacity_events{component="archive"} 16"#))
        // A second scrape adds nothing: counters are published as differences.
        let again = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(again.contains(#"fsprobe_delivered_events_total{component="archive"} 3"#))
    }

    @Test func aHostileComponentNameStaysInsideItsLabel() throws {
        let hostile = "a\"b\nfsprobe_fake_total 99\\"
        var topology = PipelineTopology()
        topology.add("source", .source(ArraySource([makeEvent()])))
        topology.add(hostile, .sink(CollectingSink(name: hostile)), inputs: ["source"])
        let metrics = PipelineMetrics()
        let pipeline = try Pipeline(topology: topology, configuration: PipelineConfiguration(metricsFactory: metrics.factory))
        metrics.observe(stats: { pipeline.stats }, sources: [])
        try pipeline.run()
        let lines = String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("fsprobe_fake_total") })
        for line in lines where !line.hasPrefix("#") {
            #expect(line.hasPrefix("fsprobe_"), "\(line)")
        }
        #expect(lines.contains(#"fsprobe_delivered_events_total{component="a\"b\nfsprobe_fake_total 99\\"} 1"#))
    }
}
