import Foundation
import FSProbeTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `--metrics-address` and a pipeline file's `metrics:`: the counters
/// scraped over HTTP while events flow, and equal to the stderr lines at
/// the end.
final class MetricsTests: ScratchTestCase {
    /// Flags only: the counters move between two scrapes, the latency
    /// histogram counts every delivered event, and the final numbers are
    /// the stopped line's.
    func testCountersMoveWhileEventsFlowAndEndAtTheStoppedLinesNumbers() throws {
        let probe = try FSProbeProcess([dir, "-e", "mkdir", "-f", "json", "-o", "\(dir!)/events.jsonl",
                                        "--metrics-address", "127.0.0.1:0"] + backendFlags)
        probe.waitUntilReady()
        let port = try XCTUnwrap(Self.metricsPort(in: probe.errors), probe.errors)
        let received = #"fsprobe_events_received_total{source="source",type="mkdir"}"#
        // A flags-only run names its file sink after the file, as the stats do.
        let sink = "component=\"\(dir!)/events.jsonl\""
        let delivered = "fsprobe_delivered_events_total{\(sink)}"

        for batch in 1...2 {
            for index in 0..<50 { try FileManager.default.createDirectory(atPath: "\(dir!)/d\(batch)-\(index)", withIntermediateDirectories: false) }
            let page = try Scrape.until(port: port) { $0.value(delivered) == Double(50 * batch) }
            XCTAssertEqual(page.value(received), Double(50 * batch), page.text)
            XCTAssertEqual(page.value(#"fsprobe_events_received_total{source="source",type="open"}"#), 0, page.text)
            XCTAssertEqual(page.value("fsprobe_event_latency_seconds_count{\(sink)}"), Double(50 * batch), page.text)
            XCTAssertEqual(page.value("fsprobe_dropped_events_total{\(sink),reason=\"buffer_full\"}"), 0, page.text)
        }
        let last = try Scrape.get(port: port)
        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        let stopped = try XCTUnwrap(probe.errors.split(separator: "\n").last { $0.hasPrefix("fsprobe: stopped:") }.map(String.init), probe.errors)
        XCTAssertTrue(stopped.contains("100 events received, 100 delivered"), stopped)
        let kernelLost = try XCTUnwrap(last.value(#"fsprobe_kernel_lost_events_total{source="source"}"#), last.text)
        XCTAssertTrue(stopped.contains("\(Int(kernelLost)) lost (kernel ring buffer full)"), stopped)
        XCTAssertFalse(probe.errors.contains("Connection refused"))
    }

    /// A sink whose reader stalls (a FIFO nobody reads) drops what its
    /// one-event buffer cannot hold: `/metrics` shows the drops per sink,
    /// and the last scrape equals the final `--stats-format json` line.
    func testPerSinkDropsMatchTheJSONStatsLineExactly() throws {
        let watched = "\(dir!)/watched", fifo = "\(dir!)/stalled.fifo"
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // Opened for reading and never read: the sink's writes stop once the pipe is full.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        let sourceOptions = FSProbeProcess.kernelSourceTestOptions
        let pipeline = "\(dir!)/pipeline.yaml"
        try """
            sources:
              files: {type: kernel, paths: [\(watched)], events: [mkdir]\(sourceOptions)}
            sinks:
              stalled: {type: file, inputs: [files], path: \(fifo), buffer_size: 1, when_full: drop_newest}
              archive: {type: file, inputs: [files], path: \(dir!)/all.jsonl}
            metrics:
              address: 127.0.0.1:0
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let probe = try FSProbeProcess(["run", pipeline, "--stats-format", "json", "--shutdown-timeout", "2"])
        probe.waitUntilReady()
        let port = try XCTUnwrap(Self.metricsPort(in: probe.errors), probe.errors)

        // About 300 bytes a line: 2,000 lines are ten times what a pipe holds.
        let count = 2_000
        for index in 0..<count { try FileManager.default.createDirectory(atPath: "\(watched)/d\(index)", withIntermediateDirectories: false) }
        // Every event accounted for at both sinks: delivered, dropped, queued or in flight.
        let page = try Scrape.until(port: port) { page in
            let stalled = ["fsprobe_delivered_events_total", "fsprobe_queued_events", "fsprobe_in_flight_events"]
                .map { page.value(#"\#($0){component="stalled"}"#) ?? 0 }.reduce(0, +)
                + (page.value(#"fsprobe_dropped_events_total{component="stalled",reason="buffer_full"}"#) ?? 0)
            return page.value(#"fsprobe_delivered_events_total{component="archive"}"#) == Double(count)
                && stalled + (page.value(#"fsprobe_dropped_events_total{component="stalled",reason="sink_error"}"#) ?? 0) == Double(count)
        }
        let dropped = try XCTUnwrap(page.value(#"fsprobe_dropped_events_total{component="stalled",reason="buffer_full"}"#), page.text)
        XCTAssertGreaterThan(dropped, 0, page.text)
        XCTAssertEqual(page.value(#"fsprobe_buffer_capacity_events{component="stalled"}"#), 1, page.text)
        XCTAssertEqual(page.value(#"fsprobe_dropped_events_total{component="archive",reason="buffer_full"}"#), 0, page.text)

        // The stalled write is given up at the deadline (counted as a sink error, not a drop for a full buffer).
        XCTAssertEqual(probe.terminate(), 3, probe.errors)
        let statsLines = probe.errors.split(separator: "\n").filter { $0.hasPrefix("fsprobe: {") }
        let statsLine = try XCTUnwrap(statsLines.last, probe.errors).dropFirst("fsprobe: ".count)
        let stats = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(statsLine.utf8)) as? [String: Any])
        XCTAssertEqual(stats["type"] as? String, "stats")
        XCTAssertEqual(stats["received"] as? Int, count, String(statsLine))
        XCTAssertEqual(stats["kernel_lost"] as? Int, page.value(#"fsprobe_kernel_lost_events_total{source="files"}"#).map(Int.init), String(statsLine))
        let sinks = try XCTUnwrap(stats["sinks"] as? [[String: Any]])
        let stalled = try XCTUnwrap(sinks.first { $0["name"] as? String == "stalled" })
        XCTAssertEqual(stalled["dropped_buffer_full"] as? Int, Int(dropped), "\(statsLine)\n\(page.text.split(separator: "\n").filter { $0.contains("stalled") || $0.contains("received") }.joined(separator: "\n"))")
        let archive = try XCTUnwrap(sinks.first { $0["name"] as? String == "archive" })
        XCTAssertEqual(archive["delivered"] as? Int, count, String(statsLine))
        XCTAssertEqual(archive["dropped_buffer_full"] as? Int, 0, String(statsLine))
    }

    func testAnAddressInUseStopsTheRunBeforeAnythingLoads() throws {
        let listener = try Scrape.listen()
        defer { close(listener.fd) }
        try assertOneLineError([dir, "-e", "mkdir", "--metrics-address", "127.0.0.1:\(listener.port)"] + backendFlags,
                               mentions: ["cannot serve metrics on 127.0.0.1:\(listener.port)", "in use"])
    }

    func testAMalformedAddressIsRefusedNamingTheFlag() throws {
        for bad in ["9464", "localhost", "127.0.0.1:99999", "[::1", "a b:1"] {
            try assertOneLineError([dir, "--metrics-address", bad], mentions: ["--metrics-address: invalid value \(bad)", "HOST:PORT"])
        }
    }

    /// "fsprobe: metrics: http://127.0.0.1:PORT/metrics" → PORT.
    static func metricsPort(in stderr: String) -> Int? {
        guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("fsprobe: metrics: http://127.0.0.1:") }) else { return nil }
        return Int(line.dropFirst("fsprobe: metrics: http://127.0.0.1:".count).prefix { $0.isNumber })
    }
}

/// A Prometheus page as scraped: the value of each series.
struct MetricsPage {
    let text: String

    /// The value of `series` (name and labels exactly as exposed), or nil.
    func value(_ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// A plain HTTP/1.1 client for the tests: a GET over a loopback socket.
enum Scrape {
    /// GET http://127.0.0.1:port/metrics; throws unless the answer is 200.
    static func get(port: Int, path: String = "/metrics") throws -> MetricsPage {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FSProbeProcess.Failure("socket: errno \(errno)") }
        defer { close(fd) }
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw FSProbeProcess.Failure("connect to port \(port): errno \(errno)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard write(fd, request, request.count) == request.count else { throw FSProbeProcess.Failure("write: errno \(errno)") }
        var response: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = read(fd, &chunk, chunk.count)
            guard got > 0 else { break }
            response += chunk[..<got]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200"), let body = text.range(of: "\r\n\r\n") else {
            throw FSProbeProcess.Failure("GET \(path): \(text.prefix(200))")
        }
        return MetricsPage(text: String(text[body.upperBound...]))
    }

    /// Scrapes until `condition` holds (up to `timeout` seconds): the events
    /// are awaited, not slept for.
    static func until(port: Int, timeout: TimeInterval = 30, _ condition: (MetricsPage) -> Bool) throws -> MetricsPage {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let page = try get(port: port)
            if condition(page) { return page }
            guard Date() < deadline else { throw FSProbeProcess.Failure("metrics never reached the expected values:\n\(page.text)") }
            usleep(20_000)
        }
    }

    /// A TCP listener on a free loopback port (to find the port taken).
    static func listen() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && Glibc.listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound else { throw FSProbeProcess.Failure("listen: errno \(errno)") }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }
}
