import Foundation
import FSProbeCore
import FSProbeSources
import XCTest

/// The embedding API, as another Swift program would use it.
final class WatcherTests: XCTestCase {
    func testEventsArriveOnTheStreamAndAddTakesEffectWhileRunning() async throws {
        try requireRoot()
        let first = try Scratch(name + "first")
        let second = try Scratch(name + "second")
        defer { first.remove(); second.remove() }
        var options = KernelProbeOptions.underTest
        options.ignoreOwnProcess = false
        let watcher = try Watcher(paths: [first.path], events: EventTypeSet([.open, .mkdir]), options: options)

        touch(second.url("before-add"), flags: O_CREAT | O_WRONLY)
        try watcher.add(path: second.path)
        touch(second.url("after-add"), flags: O_CREAT | O_WRONLY)
        XCTAssertEqual(mkdir(first.url("dir"), 0o755), 0)
        watcher.close()

        var seen: [String] = []
        for try await event in watcher.events { seen.append("\(event.type.name) \(event.source.string)") }
        XCTAssertEqual(seen, ["open \(second.url("after-add"))", "mkdir \(first.url("dir"))"],
                       "events before add(path:) are not reported, those after are; close() delivers what was captured")
        XCTAssertEqual(watcher.droppedEvents, 0)
    }

    func testRemoveTakesEffectWhileRunningAndKeepsTheOtherWatches() async throws {
        try requireRoot()
        let kept = try Scratch(name + "kept")
        let removed = try Scratch(name + "removed")
        defer { kept.remove(); removed.remove() }
        var options = KernelProbeOptions.underTest
        options.ignoreOwnProcess = false
        let watcher = try Watcher(paths: [kept.path, removed.path], events: EventTypeSet([.open]), options: options)

        touch(removed.url("before-remove"), flags: O_CREAT | O_WRONLY)
        try watcher.remove(path: removed.path)
        touch(removed.url("after-remove"), flags: O_CREAT | O_WRONLY)
        touch(kept.url("still-watched"), flags: O_CREAT | O_WRONLY)
        XCTAssertThrowsError(try watcher.remove(path: removed.path), "removing twice names the path") { error in
            XCTAssertTrue("\(error)".contains(removed.path), "\(error)")
        }
        watcher.close()

        var seen: [String] = []
        for try await event in watcher.events { seen.append(event.source.string) }
        XCTAssertEqual(seen, [removed.url("before-remove"), kept.url("still-watched")],
                       "nothing below a removed watch after remove(path:); the other watch still reports")
    }
}
