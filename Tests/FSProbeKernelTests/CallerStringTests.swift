import Foundation
import Synchronization
import FSProbeCore
import FSProbeSources
import XCTest

/// The caller's string of a path-based call (tracepoint backend) is read
/// again when the call returns, from the caller's memory, without faulting
/// pages in. The kernel may unmap that page for a moment after it read the
/// string itself (page migration, compaction, reclaim of a file page). The
/// event must then say its path is incomplete, never show the base
/// directory as the object's path.
final class CallerStringTests: InsideOutsideTestCase {
    /// Names are written into a shared file mapping, which a second thread
    /// keeps unmapping (`MADV_DONTNEED`: the next access maps the same page
    /// cache page again, so the kernel's own read of the name still sees it).
    func testAStringUnmappedDuringTheCallGivesAnIncompletePathNotTheDirectory() throws {
        let dir = scratch.url("made")
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        let page = try SharedNamePage(file: outside.url("names"))
        defer { page.close() }
        let recorder = try EventRecorder(paths: [dir], events: [.mkdir])
        defer { try? recorder.stop() }
        let dirfd = open(dir, O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(dirfd, 0)
        defer { Glibc.close(dirfd) }

        let unmapper = page.startUnmapping()
        let attempts = 400
        var made: [String: Int] = [:]
        for index in 0..<attempts {
            let name = "d\(index)"
            page.write(name)
            if mkdirat(dirfd, page.name, 0o755) == 0 { made["\(dir)/\(name)"] = index }
        }
        unmapper.stop()
        let marker = "\(dir)/marker"
        XCTAssertEqual(mkdir(marker, 0o755), 0)
        let events = recorder.events(until: "marker mkdir") { $0.source.string == marker }.dropLast()

        var exact = 0, incomplete = 0
        var wrong: [String] = []
        for event in events where event.type == .mkdir {
            let path = event.source.string
            if event.source.resolution.contains(.callerTruncated) {
                // Honest: a prefix of some name this test made.
                if made.keys.contains(where: { $0.hasPrefix(path) }) { incomplete += 1 } else { wrong.append(path) }
            } else if made[path] != nil {
                exact += 1
            } else {
                wrong.append("\(path) [\(EventRecorder.flagNames(event))]")
            }
        }
        XCTAssertEqual(wrong.count, 0, "paths that are neither a made directory nor flagged incomplete, first: \(wrong.prefix(3))")
        XCTAssertEqual(exact + incomplete, made.count, "one event per directory made")
        XCTAssertGreaterThan(exact, 0, "a name read back whole at least once")
        print("caller-string-race: \(made.count) made, \(exact) exact, \(incomplete) incomplete, backend \(recorder.source.backend)")
    }
}

/// One page of a shared file mapping holding a NUL-terminated name.
private final class SharedNamePage: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    private let fd: Int32
    private let size = Int(sysconf(Int32(_SC_PAGESIZE)))

    init(file: String) throws {
        fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0, ftruncate(fd, off_t(size)) == 0,
              let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED
        else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        base = mapped
    }

    var name: UnsafePointer<CChar> { UnsafePointer(base.assumingMemoryBound(to: CChar.self)) }

    func write(_ name: String) {
        let bytes = Array(name.utf8) + [0]
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// A thread dropping the page's mapping as fast as it can, until stopped.
    func startUnmapping() -> Unmapper {
        let unmapper = Unmapper()
        Thread { [self] in
            while !unmapper.stopped.load(ordering: .relaxed) { madvise(base, size, MADV_DONTNEED) }
            unmapper.done.signal()
        }.start()
        return unmapper
    }

    func close() {
        munmap(base, size)
        Glibc.close(fd)
    }

    final class Unmapper: @unchecked Sendable {
        let stopped = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
        func stop() {
            stopped.store(true, ordering: .relaxed)
            done.wait()
        }
    }
}
