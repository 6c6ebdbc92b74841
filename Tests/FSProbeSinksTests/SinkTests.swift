import Foundation
import FSProbeCore
import FSProbeTestSupport
import FSProbeSinks
import Testing

@Suite struct SinkTests {
    func temporaryDirectory() throws -> URL {
        URL(fileURLWithPath: try makeTemporaryDirectory("fsprobe-tests"))
    }

    @Test func fileSinkCreatesPrivateFileAndAppendsJSONLines() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.jsonl").path

        let sink = try FileSink(path: path, format: .json)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)

        for i in 0..<2000 { try sink.write(makeEvent(seq: i)) }  // more than one 64 KiB chunk
        try sink.close()
        let again = try FileSink(path: path, format: .json)  // appends, never truncates
        try again.write(makeEvent(seq: 2000))
        try again.close()

        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2001)
        for (i, line) in lines.enumerated() {
            let json = try parseJSONLine(Array(line.utf8))
            #expect(json["pid"] as? Int == 1000 + i)
        }
    }

    /// A file sink written at full speed leaves only its last few megabytes
    /// in the page cache: the rest is written back and dropped as it goes
    /// (PageCacheTrimmer), where left alone every page would stay cached.
    @Test func fileSinkLeavesOnlyItsLastMegabytesInThePageCache() throws {
        let directory = try diskBackedTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.jsonl").path
        let sink = try FileSink(path: path, format: .json)
        var seq = 0
        while try fileSize(atPath: path) < 64 << 20 {
            for _ in 0..<1000 {
                try sink.write(makeEvent(seq: seq))
                seq += 1
            }
            try sink.flush()
        }
        try sink.close()
        let (resident, pages) = try pageCacheResidency(path)
        #expect(pages >= (64 << 20) / 4096)
        // The last two 8 MiB windows stay, and a third at most while its
        // writeback finishes: 24 of 64 MiB.
        #expect(resident * 2 < pages, "\(resident) of the file's \(pages) pages are still in the page cache")
    }

    /// A directory for files whose pages the kernel can drop: a tmpfs keeps
    /// every page it holds, so then one under the working directory.
    private func diskBackedTemporaryDirectory() throws -> URL {
        let candidate = try temporaryDirectory()
        guard fileSystemType(of: candidate.path) == "tmpfs" else { return candidate }
        try? FileManager.default.removeItem(at: candidate)
        let local = FileManager.default.currentDirectoryPath + "/.build/page-cache-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        return URL(fileURLWithPath: local)
    }

    /// The type of the file system holding `path`: that of the longest mount
    /// point in /proc/self/mounts that contains it.
    private func fileSystemType(of path: String) -> String? {
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        var best: (point: String, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2 else { continue }
            let point = String(fields[1])
            let contains = point == "/" || path == point || path.hasPrefix(point + "/")
            if contains && point.count >= (best?.point.count ?? -1) { best = (point, String(fields[2])) }
        }
        return best?.type
    }

    /// How many of the file's pages are in the page cache (mincore(2) on a
    /// mapping of it, which reads nothing in), and how many it has.
    private func pageCacheResidency(_ path: String) throws -> (resident: Int, pages: Int) {
        let size = try fileSize(atPath: path)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(fd) }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), mapping != MAP_FAILED else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        defer { munmap(mapping, size) }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (size + pageSize - 1) / pageSize)
        guard mincore(mapping, size, &vector) == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path]) }
        return (vector.reduce(0) { $0 + Int($1 & 1) }, vector.count)
    }

    @Test func fileSinkRotatesBySizeKeepingWholeLinesAndTheNewestFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.jsonl").path
        let lineLength = JSONLineEncoder().line(makeEvent(seq: 0)).utf8.count  // newline included
        let sink = try FileSink(path: path, format: .json, rotation: FileSink.Rotation(maxBytes: 10 * lineLength, keep: 2),
                                sync: .everyFlush)
        for i in 0..<45 {
            try sink.write(makeEvent(seq: i))
            if i % 7 == 0 { try sink.flush() }
        }
        try sink.close()

        // 45 events, 10 per file: four full files rotated, the oldest two
        // deleted (keep: 2), and 5 in the current file.
        let files = [path + ".2", path + ".1", path]
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))
        var pids: [Int] = []
        for file in files {
            var st = stat()
            #expect(stat(file, &st) == 0 && st.st_mode & 0o777 == 0o600, "\(file)")
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.hasSuffix("\n"), "a file ends mid-line: \(file)")
            for line in text.split(separator: "\n") { pids.append(try parseJSONLine(Array(line.utf8))["pid"] as? Int ?? -1) }
        }
        #expect(pids == Array(1020..<1045))
    }

    @Test func fileSinkErrorNamesThePath() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.path + "/no/such/dir/out.json"
        #expect(throws: SinkError.cannotOpen(path: missing, errno: ENOENT)) {
            try FileSink(path: missing, format: .json)
        }
        do {
            _ = try FileSink(path: directory.path, format: .table)
            Issue.record("opening a directory should fail")
        } catch {
            #expect("\(error)" == "cannot open output file '\(directory.path)': Is a directory")
        }
        #expect(SinkError.cannotOpen(path: "/x/y", errno: EACCES).description
            == "cannot open output file '/x/y': Permission denied")
    }

    @Test func stdoutSinkWritesTableHeaderThenOneLinePerEventOnFlush() throws {
        let (readEnd, writeEnd) = try pipe()
        defer { close(readEnd) }
        let sink = StdoutSink(format: .table, fd: writeEnd, clock: .utc)
        try sink.write(makeEvent(seq: 0))
        try sink.write(makeEvent(.mkdir, seq: 1))
        try sink.flush()
        let text = readAvailable(readEnd)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("EVT "))
        #expect(lines[1].hasPrefix("open ") && lines[2].hasPrefix("mkdir "))
        try sink.close()
        close(writeEnd)
    }

    @Test func noneFormatDiscards() throws {
        let (readEnd, writeEnd) = try pipe()
        defer { close(readEnd) }
        let sink = StdoutSink(format: .none, fd: writeEnd)
        for i in 0..<100 { try sink.write(makeEvent(seq: i)) }
        try sink.close()
        close(writeEnd)
        #expect(readAvailable(readEnd).isEmpty)
    }

    @Test func writeErrorIsReported() throws {
        let (readEnd, writeEnd) = try pipe()
        close(readEnd)
        signal(SIGPIPE, SIG_IGN)
        let sink = StdoutSink(format: .json, fd: writeEnd)
        try sink.write(makeEvent())
        #expect(throws: SinkError.writeFailed(name: "stdout", errno: EPIPE)) { try sink.flush() }
        #expect(sink.undelivered == 1)  // accepted, then lost: the pipeline counts it as sink_error
        try sink.flush()  // the failed bytes were discarded, nothing left to write
        #expect(sink.undelivered == 1)
        close(writeEnd)
    }

    private func pipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        return (fds[0], fds[1])
    }

    /// Reads what is in the pipe now (the writer flushed before).
    private func readAvailable(_ fd: Int32) -> String {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&pfd, 1, 0) > 0, pfd.revents & Int16(POLLIN) != 0 {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            result += chunk[0..<n]
        }
        return String(decoding: result, as: UTF8.self)
    }
}
