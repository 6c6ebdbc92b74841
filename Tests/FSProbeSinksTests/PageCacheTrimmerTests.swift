import Foundation
import FSProbeTestSupport
@testable import FSProbeSinks
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The file sinks' page-cache trimming runs on its own thread: submitting a
/// writeback waits for room in the device's queue (96 ms measured on ext4
/// at full speed), and a sink thread that waited with it let the kernel
/// ring overflow.
@Suite struct PageCacheTrimmerTests {
    @Test func aWritebackThatBlocksDoesNotHoldUpTheWriter() throws {
        let path = try makeTemporaryDirectory("fsprobe-trimmer") + "/events.jsonl"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        let window = 4096
        let writebackEnds = Mutex<[Int64]>([])
        let writebackStarted = DispatchSemaphore(value: 0)
        let writebackMayEnd = DispatchSemaphore(value: 0)
        let trimmer = try #require(PageCacheTrimmer(fd: fd, window: window) { _, offset, length in
            writebackEnds.withLock { $0.append(Int64(offset + length)) }
            writebackStarted.signal()
            _ = writebackMayEnd.wait(timeout: .now() + 5)
        })
        let chunk = [UInt8](repeating: 0x41, count: window)
        func writeWindow() {
            #expect(chunk.withUnsafeBytes { write(fd, $0.baseAddress, window) } == window)
            trimmer.wrote(window)
        }

        writeWindow()
        #expect(writebackStarted.wait(timeout: .now() + 10) == .success)
        // The first trim's writeback is blocked: the writer goes on.
        writeWindow()
        writeWindow()
        let startedWhileTheWriterWrote = writebackEnds.withLock { $0 }
        writebackMayEnd.signal()
        writebackMayEnd.signal()
        trimmer.stop()

        #expect(startedWhileTheWriterWrote == [4096], "the writer waited for a writeback")
        // The two trims posted while one ran make one, to the newer end.
        #expect(writebackEnds.withLock { $0 } == [4096, 3 * 4096])
    }
}
