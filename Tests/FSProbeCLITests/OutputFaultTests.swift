import Foundation
import FSProbeTestSupport
import XCTest

/// What fsprobe says when its output fails or a watched name is hostile:
/// nothing of the kernel is at stake, so these run on the host only (see
/// HOST_ONLY in scripts/vm/per-backend.sh), not once more per emulated kernel.
final class OutputFaultTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw NotRoot() }
        dir = try makeScratch(name)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    func testEventsTheOutputCouldNotTakeAreCountedAndTheExitStatusSaysSo() throws {
        let probe = try FSProbeProcess([dir, "-e", "open", "--format", "json", "-o", "/dev/full"])
        probe.waitUntilReady()
        for i in 0..<20 { close(open("\(dir!)/f\(i)", O_CREAT | O_WRONLY, 0o644)) }
        XCTAssertEqual(probe.terminate(), 3, "exit status 3: events were lost; \(probe.errors)")
        let stopped = stoppedLine(probe.errors)
        func count(_ label: String) -> Int? { stoppedCount(label, in: stopped) }
        let received = count("events received") ?? -1
        XCTAssertGreaterThanOrEqual(received, 20, String(stopped))
        XCTAssertEqual(count("delivered"), 0, String(stopped))
        XCTAssertEqual(count("dropped in user space"), received, "every event received is counted lost: \(stopped)")
        XCTAssertTrue(probe.errors.contains("No space left on device"), probe.errors)
    }

    func testAWatchedPathCannotForgeALineOfTheReports() throws {
        let hostile = "\(dir!)/fake\nfsprobe: stopped: 0 events received\u{1b}[31m"
        try FileManager.default.createDirectory(atPath: hostile, withIntermediateDirectories: true)
        let probe = try FSProbeProcess([hostile, "--format", "json"])
        probe.waitUntilReady()
        XCTAssertEqual(probe.terminate(), 0, probe.errors)
        let lines = probe.errors.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasPrefix("fsprobe: stopped:") }.count, 1, probe.errors)
        XCTAssertFalse(probe.errors.contains("\u{1b}"), "a raw escape sequence reached stderr")
        let ready = lines.first { $0.hasPrefix("fsprobe: ready:") } ?? ""
        XCTAssertTrue(ready.contains("fake\\nfsprobe: stopped: 0 events received\\x1b[31m"), String(ready))
    }

    func testASecondSignalStopsAtOnceWhenDeliveryHangs() throws {
        // Standard output is a pipe nobody reads: once it is full, delivering
        // the captured events blocks for ever.
        let probe = try FSProbeProcess([dir, "-e", "open"], readingStdout: false)
        probe.waitUntilReady()
        for i in 0..<5_000 { close(open("\(dir!)/f\(i % 10)", O_CREAT | O_WRONLY, 0o644)) }
        kill(probe.process.processIdentifier, SIGTERM)
        probe.waitForStderr(containing: "fsprobe: stopping:")
        XCTAssertEqual(probe.terminate(), 3, probe.errors)
        XCTAssertTrue(probe.errors.contains("fsprobe: second signal: stopped at once"), probe.errors)
    }

    /// Two instances each writing into the tree the other watches would
    /// report each other's writes without end: the second one says so, both
    /// ways, naming the first.
    func testTwoInstancesFeedingEachOtherAreWarnedAbout() throws {
        let (a, b) = ("\(dir!)/a", "\(dir!)/b")
        for path in [a, b] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
        let first = try FSProbeProcess([a, "-e", "open", "-o", "\(b)/events"], readingStdout: false)
        first.waitUntilReady()
        let second = try FSProbeProcess([b, "-e", "open", "-o", "\(a)/events"], readingStdout: false)
        second.waitUntilReady()
        let pid = first.process.processIdentifier
        XCTAssertTrue(second.errors.contains("fsprobe: warning: this fsprobe writes '\(a)/events', which fsprobe (pid \(pid)) watches ('\(a)')"), second.errors)
        XCTAssertTrue(second.errors.contains("fsprobe: warning: fsprobe (pid \(pid)) writes '\(b)/events', which this fsprobe watches ('\(b)')"), second.errors)
        XCTAssertFalse(first.errors.contains("warning"), first.errors)
        _ = second.terminate()
        _ = first.terminate()
        // Each removed its note at exit: a third instance is not warned.
        let third = try FSProbeProcess([a, "-e", "open", "-o", "\(b)/events"], readingStdout: false)
        third.waitUntilReady()
        XCTAssertFalse(third.errors.contains("warning"), third.errors)
        _ = third.terminate()
    }

    func testAFIFOWithNoReaderIsRefusedAtOnce() throws {
        let fifo = "\(dir!)/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try assertOneLineError([dir, "-o", fifo], mentions: ["cannot open output file", fifo, "FIFO with no reader"])
    }

    /// Standard output is a pipe nobody reads: at the deadline the write
    /// blocked on it is ended, and the stop finishes with exact counts, not
    /// by the last resort 5 s later.
    func testAStopThatHangsEndsAtTheShutdownTimeoutWithExactCounts() throws {
        let probe = try FSProbeProcess([dir, "-e", "open", "--shutdown-timeout", "1"], readingStdout: false)
        probe.waitUntilReady()
        for i in 0..<5_000 { close(open("\(dir!)/f\(i % 10)", O_CREAT | O_WRONLY, 0o644)) }
        XCTAssertEqual(probe.terminate(), 3, probe.errors)  // one signal only
        XCTAssertTrue(probe.errors.contains("at most 1 s"), probe.errors)
        XCTAssertTrue(probe.errors.contains("fsprobe: still stopping after 1 s (--shutdown-timeout): giving up"), probe.errors)
        XCTAssertFalse(probe.errors.contains("still stopping after 6 s"), probe.errors)
        XCTAssertTrue(probe.errors.contains("gave up writing to 'stdout'"), probe.errors)
        let stopped = stoppedLine(probe.errors)
        let received = stoppedCount("events received", in: stopped) ?? -1
        let delivered = stoppedCount("delivered", in: stopped) ?? -1
        let dropped = stoppedCount("dropped in user space", in: stopped) ?? -1
        XCTAssertGreaterThanOrEqual(received, 5_000, String(stopped))
        XCTAssertGreaterThan(dropped, 0, String(stopped))
        XCTAssertEqual(delivered + dropped, received, "every event received is delivered or counted lost: \(stopped)")
    }
}

/// The `fsprobe: stopped:` line of stderr ("" when there is none).
func stoppedLine(_ errors: String) -> Substring {
    errors.split(separator: "\n").first { $0.hasPrefix("fsprobe: stopped:") } ?? ""
}

/// The number before `label` on a `stopped:` line.
func stoppedCount(_ label: String, in stopped: Substring) -> Int? {
    guard let range = stopped.range(of: #"(\d+) "# + label, options: .regularExpression) else { return nil }
    return Int(stopped[range].split(separator: " ")[0])
}
