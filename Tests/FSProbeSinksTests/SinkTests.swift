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
