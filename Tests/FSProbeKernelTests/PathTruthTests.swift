import CFSProbeBPF
import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

/// Caches must never lie: for each dentry resolution mode, real operations
/// whose true paths are known (renames of cached ancestors, exchanges, inode
/// reuse, mounts coming and going, deep trees, raw names, lost events) are
/// checked against the paths the source reports. Each reported path is
/// correct (the truth, unflagged), flagged (marked incomplete and an honest
/// suffix of the truth, where the scenario allows it), wrong, or dropped.
final class PathTruthTests: XCTestCase {
    func testPerfBuffer() throws { try runPathTruth(.perfBuffer) }
    func testFragments() throws { try runPathTruth(.fragments) }
    func testSingleFragment() throws { try runPathTruth(.singleFragment) }

    /// One main load with every scenario, then two short loads: watch
    /// semantics (non-recursive, follow=false) and losses with tiny caches.
    func runPathTruth(_ mode: ResolutionMode) throws {
        try requireRoot()
        let tally = PathTruthTally()
        let (backend, cacheHits) = try mainRun(mode, tally)
        try watchSemanticsRun(mode, tally)
        try lossRun(mode, tally)

        for name in tally.scenarios {
            let c = tally.counts[name]!
            print("path-truth-scenario \(mode.rawValue) \(name): correct \(c.correct) flagged \(c.flagged) wrong \(c.wrong) dropped \(c.dropped)"
                  + (c.unexpectedFlags > 0 ? " (\(c.unexpectedFlags) flagged unexpectedly)" : ""))
        }
        let total = tally.total
        print("path-truth \(mode.rawValue) \(backend.rawValue): correct \(total.correct) flagged \(total.flagged) wrong \(total.wrong) dropped \(total.dropped) cache hits \(cacheHits)")
        for failure in tally.failures { XCTFail("\(mode.rawValue): \(failure)") }
        XCTAssertEqual(total.wrong, 0, "\(mode.rawValue): wrong paths (see the failures above)")
        XCTAssertEqual(total.dropped, 0, "\(mode.rawValue): dropped events (see the failures above)")
        XCTAssertEqual(total.unexpectedFlags, 0, "\(mode.rawValue): flags where no scenario expects them (see above)")
        XCTAssertGreaterThan(cacheHits, 0, "\(mode.rawValue): no walk stopped at a cached directory; the scenarios tested nothing of the caches")
    }

    private func mainRun(_ mode: ResolutionMode, _ tally: PathTruthTally) throws -> (BackendKind, UInt64) {
        let scratch = try Scratch("PathTruth\(mode.rawValue)")
        let outside = try Scratch("PathTruth\(mode.rawValue)outside")
        defer {
            scratch.remove()
            outside.remove()
        }
        let recorder = try EventRecorder(paths: [scratch.path], events: PathTruthLedger.reportedTypes) {
            $0.resolutionMode = mode
            $0.recursive = true
            $0.follow = true
            // 16 MiB: the stream and the deep trees make thousands of events
            // in bursts; none may be lost to a reader that got no CPU.
            $0.ringBufferPages = 4096
        }
        var stopped = false
        defer { if !stopped { try? recorder.stop() } }
        let ledger = PathTruthLedger(recorder: recorder, tally: tally, rootPath: scratch.path, scenario: .root)
        let run = PathTruthMainRun(ledger: ledger, outside: outside.path, label: mode.rawValue)
        defer {
            run.unmountAll()
            ledger.close()
        }
        ledger.settle(.root)
        try run.runAll()
        let counters = recorder.source.kernelCounters
        stopped = true
        try recorder.stop()
        XCTAssertEqual(counters.kernel.ringBufferFull, 0, "\(mode.rawValue): the main load lost events")
        return (recorder.source.backend, counters.kernel.cacheHits)
    }

    /// (a) recursive = false: W2's children are reported, its grandchildren
    /// are not, even once their directories are cached; (b) follow = false:
    /// a file moved from W3 to an unwatched directory is no longer reported.
    /// One load for both: each check depends on one option only.
    private func watchSemanticsRun(_ mode: ResolutionMode, _ tally: PathTruthTally) throws {
        let w2 = try Scratch("PathTruth\(mode.rawValue)W2")
        let w3 = try Scratch("PathTruth\(mode.rawValue)W3")
        let unwatched = try Scratch("PathTruth\(mode.rawValue)U2")
        defer {
            w2.remove()
            w3.remove()
            unwatched.remove()
        }
        try FileManager.default.createDirectory(atPath: w2.url("sub"), withIntermediateDirectories: true)
        for file in [w2.url("sub/f"), w2.url("f"), w3.url("moving")] {
            XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: nil))
        }
        let recorder = try EventRecorder(paths: [w2.path, w3.path], events: [.open, .mkdir, .rename, .modify]) {
            $0.resolutionMode = mode
            $0.recursive = false
            $0.follow = false
        }
        defer { try? recorder.stop() }
        let ledger = PathTruthLedger(recorder: recorder, tally: tally, rootPath: w2.path, scenario: .nonRecursive)
        defer { ledger.close() }

        let s = PathTruthScenario.nonRecursive
        let sub = ledger.openDirectory(s, ledger.root, bytes("sub"))
        defer { close(sub.fd) }
        let grandchild = PathTruthLedger.openUnlogged(sub, bytes("f"))
        ledger.forbid(s, MatchKey(.open, inode: grandchild), "open of W2/sub/f (below a non-recursive watch)")
        ledger.forbid(s, MatchKey(.mkdir), "mkdir W2/sub/newdir (below a non-recursive watch)")
        ledger.open(s, ledger.root, bytes("f"))
        ledger.settle(s)
        // Now with sub cached: still not reported.
        for _ in 0..<3 { PathTruthLedger.openUnlogged(sub, bytes("f")) }
        XCTAssertEqual(mkdirat(sub.fd, "newdir", 0o755), 0)
        ledger.forbid(s, MatchKey(.open, inode: grandchild), "open of W2/sub/f once cached")
        ledger.forbid(s, MatchKey(.mkdir), "mkdir W2/sub/newdir once cached")
        ledger.open(s, ledger.root, bytes("f"))
        ledger.settle(s)

        let f = PathTruthScenario.withoutFollow
        let from = ledger.openDirectory(f, path: bytes(w3.path))
        defer { close(from.fd) }
        let toFD = open(unwatched.path, O_DIRECTORY | O_RDONLY | O_CLOEXEC)  // unwatched: no event
        XCTAssertGreaterThanOrEqual(toFD, 0)
        let to = Place(fd: toFD, path: bytes(unwatched.path))
        defer { close(to.fd) }
        ledger.rename(f, from, bytes("moving"), to, bytes("moved"))
        // User space has handled the rename (and added no watch) once this is in.
        ledger.settle(f)
        let moved = PathTruthLedger.openUnlogged(to, bytes("moved"))
        let writer = openat(to.fd, "moved", O_WRONLY | O_CLOEXEC)
        XCTAssertEqual(write(writer, "x", 1), 1)
        close(writer)
        ledger.forbid(f, MatchKey(.open, inode: moved), "open of the file moved out of W3")
        ledger.forbid(f, MatchKey(.modify, inode: moved), "write to the file moved out of W3")
        ledger.settle(f)
    }

    /// Lost events must not poison the caches: a burst into a one-page ring
    /// buffer, with caches of 16 entries churning across 200 directories.
    /// Whatever arrives of the burst is checked; afterwards, operations
    /// awaited one window at a time must all be exact.
    private func lossRun(_ mode: ResolutionMode, _ tally: PathTruthTally) throws {
        let scratch = try Scratch("PathTruth\(mode.rawValue)W4")
        defer { scratch.remove() }
        let directoryCount = 200, burst = 50_000
        var places: [Place] = []
        var truthByInode: [UInt64: PathBytes] = [:]
        for index in 0..<directoryCount {
            let dir = scratch.url("b\(index)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/f", contents: nil))
            // Opened before the load: these opens are not events.
            let place = Place(fd: open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC), path: bytes(dir))
            places.append(place)
            truthByInode[PathTruthLedger.openUnlogged(place, bytes("f"))] = joined(place.path, bytes("f"))
        }
        let root = Place(fd: open(scratch.path, O_DIRECTORY | O_RDONLY | O_CLOEXEC), path: bytes(scratch.path))
        defer { for place in places + [root] { close(place.fd) } }
        let recorder = try EventRecorder(paths: [scratch.path], events: [.open, .mkdir]) {
            $0.resolutionMode = mode
            $0.ringBufferPages = 1
            $0.kernelCacheEntries = 16
            $0.pathCacheEntries = 16
        }
        defer { try? recorder.stop() }

        for index in 0..<burst {
            let fd = openat(places[index % directoryCount].fd, "f", O_RDONLY | O_CLOEXEC)
            if fd >= 0 { close(fd) }
        }
        // Until the reader has drained the ring, a new event may be lost
        // too: open a sync file until one of its events gets through.
        let syncFD = open(scratch.url("sync"), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        let syncInode = PathTruthLedger.inode(of: syncFD)
        close(syncFD)
        var synced: Int?
        for _ in 0..<200 where synced == nil {
            let from = recorder.count
            close(open(scratch.url("sync"), O_RDONLY | O_CLOEXEC))
            synced = recorder.firstEvent(from: from, timeout: 0.25) {
                $0.type == .open && $0.source.inode == syncInode
            }?.index
        }
        let lost = recorder.source.kernelCounters.kernel.ringBufferFull
        guard let synced else {
            XCTFail("\(mode.rawValue): no event got through after the burst")
            return
        }
        XCTAssertGreaterThan(lost, 0, "\(mode.rawValue): the burst lost nothing, so it tested nothing of losses")

        let pid = UInt32(getpid())
        var arrived = 0
        for event in recorder.events(in: 0..<synced) where event.pid == pid && event.type == .open {
            guard let truth = truthByInode[event.source.inode] else { continue }
            arrived += 1
            let expectation = PathExpectation(truths: [truth], allowed: .unresolved)
            switch classify(event.source, expectation) {
            case .correct: tally.count(.lossBurst) { $0.correct += 1 }
            case .flagged: tally.count(.lossBurst) { $0.flagged += 1 }
            case .unexpectedFlag:
                tally.count(.lossBurst) { $0.flagged += 1; $0.unexpectedFlags += 1 }
                tally.fail(.lossBurst, "flagged \(describe(event.source.resolution)); truth \(escaped(truth)), reported \(escaped(event.source.bytes))")
            case .wrong(let why):
                tally.count(.lossBurst) { $0.wrong += 1 }
                tally.fail(.lossBurst, "WRONG (\(why)); truth \(escaped(truth)), reported \(escaped(event.source.bytes)) flags \(describe(event.source.resolution))")
            }
        }
        print("path-truth-detail \(mode.rawValue) burst: \(burst) opens, \(arrived) reported, \(lost) lost to the full ring buffer")

        // The root was opened before the load: opening it now would walk
        // its ancestors and refill their cache entries, hiding a cache the
        // burst left with holes.
        let ledger = PathTruthLedger(recorder: recorder, tally: tally, rootPath: scratch.path, scenario: .afterLoss,
                                     openedRoot: root)
        ledger.skipEvents(through: synced)
        let s = PathTruthScenario.afterLoss
        // A few events per window: a one-page ring holds about ten.
        for index in stride(from: 0, to: directoryCount, by: 10) {
            ledger.open(s, places[index], bytes("f"))
            ledger.open(s, places[(index + 5) % directoryCount], bytes("f"))
            ledger.settle(s)
        }
        let fresh = ledger.directory(s, ledger.root, bytes("fresh"))
        ledger.create(s, fresh, bytes("f"))
        ledger.settle(s)
        ledger.open(s, fresh, bytes("f"))
        ledger.settle(s)
        close(fresh.fd)
    }
}
