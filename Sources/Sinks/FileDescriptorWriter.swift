#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore
import FSProbePipeline
import Synchronization

/// Formats events into one reusable byte buffer and writes it to a file
/// descriptor with `write(2)` in large chunks.
///
/// Batching matters: one `write(2)` per event would cost a system call per
/// event; the buffer is written out when it passes `flushThreshold` or on
/// `flush()`, and then reused, so steady state allocates nothing.
///
/// A failed write never leaves a broken line and never loses an event
/// silently: the events it could not write are counted (`SinkDeliveryCount`),
/// and a line cut midway is removed from a regular file (truncated back to
/// the last whole line) or, on a descriptor that cannot be truncated (a
/// pipe, a terminal), finished first by the next write. A failure while
/// `write(_:)` makes room is kept and thrown by the next `flush()`, so the
/// event being written is never counted twice (dropped by the caller, and
/// lost here).
struct FileDescriptorWriter {
    /// Written out once the buffer holds this much.
    static let flushThreshold = 64 * 1024

    let fd: Int32
    /// How errors name the destination (`stdout`, the path).
    let name: String
    private var formatter: EventFormatter
    private var buffer: [UInt8] = []
    /// Where each event held in `buffer` ends, in order (bytes before the
    /// first are a header).
    private var eventEnds: [Int] = []
    /// Bytes of the first event in `buffer` that an earlier, failed, write
    /// got out: its line was cut there, and is finished from `buffer`.
    private var firstEventWritten = 0
    /// Bytes this writer has written to `fd` so far.
    private(set) var bytesWritten = 0
    /// Events written out whole (`EventSink.confirmed`), and accepted then
    /// not written (`undelivered`): the sink's counts, read from any thread.
    private let count: SinkDeliveryCount
    /// A write failure met while making room in `write(_:)`, for `flush()`.
    private var deferredError: Error?
    /// Ends a write that blocks when the sink is interrupted; the sink's,
    /// shared by the writers it opens one after another.
    private let interruption: WriteInterruption
    /// On a regular file, drops what was written long enough ago from the
    /// page cache: see `PageCacheTrimmer`.
    private var pageCacheTrimmer: PageCacheTrimmer?

    init(fd: Int32, name: String, format: OutputFormat, clock: TableFormatter.Clock,
         count: SinkDeliveryCount, interruption: WriteInterruption) {
        self.fd = fd
        self.count = count
        self.interruption = interruption
        self.name = name
        self.formatter = EventFormatter(format: format, clock: clock)
        self.pageCacheTrimmer = PageCacheTrimmer(fd: fd)
        buffer.reserveCapacity(Self.flushThreshold + 8 * 1024)
        eventEnds.reserveCapacity(1024)
        formatter.appendHeader(into: &buffer)
    }

    var format: OutputFormat { formatter.format }
    /// Bytes formatted and not yet written.
    var bufferedBytes: Int { buffer.count }

    /// Ends the page-cache trimming of the file, its last trim done: before
    /// the file is closed.
    func stopTrimming() {
        pageCacheTrimmer?.stop()
    }

    /// Formats the event; writes the buffer out when it is full. Never
    /// throws: a failure to write is counted and thrown by `flush()`.
    mutating func write(_ event: FileEvent) {
        formatter.encode(event, into: &buffer)
        eventEnds.append(buffer.count)
        guard buffer.count >= Self.flushThreshold else { return }
        do {
            try writeBuffer()
        } catch {
            if deferredError == nil { deferredError = error }
        }
    }

    /// Writes out everything buffered, then throws the first failure since
    /// the last flush, if any. On failure the unwritten events are dropped
    /// (a full disk must not grow memory without bound) and counted.
    mutating func flush() throws {
        if !buffer.isEmpty {
            do {
                try writeBuffer()
            } catch {
                if deferredError == nil { deferredError = error }
            }
        }
        if let error = deferredError {
            deferredError = nil
            throw error
        }
    }

    /// Gives up what is buffered, unwritten (the descriptor is gone): counted lost.
    mutating func abandon() {
        count.lose(eventEnds.count)
        buffer.removeAll(keepingCapacity: true)
        eventEnds.removeAll(keepingCapacity: true)
        firstEventWritten = 0
    }

    private mutating func writeBuffer() throws {
        var written = 0
        let failure: Int32? = interruption.whileWriting { buffer.withUnsafeBytes { bytes in
            while written < bytes.count {
                // Interrupted: what is left is given up (ECANCELED), counted lost.
                if interruption.isRequested { return ECANCELED }
                let n = posixWrite(fd, bytes.baseAddress! + written, bytes.count - written)
                if n >= 0 {
                    written += n
                    bytesWritten += n
                    continue
                }
                switch errno {
                case EINTR:
                    continue
                case EAGAIN, EWOULDBLOCK:
                    // A non-blocking descriptor (inherited stdout): wait for room.
                    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&pfd, 1, -1)
                default:
                    return errno
                }
            }
            return nil
        } }
        guard let failure else {
            pageCacheTrimmer?.wrote(written)
            count.confirm(eventEnds.count)
            buffer.removeAll(keepingCapacity: true)
            eventEnds.removeAll(keepingCapacity: true)
            firstEventWritten = 0
            return
        }
        dropUnwritten(written: written, givingUp: failure == ECANCELED)
        throw SinkError.writeFailed(name: name, errno: failure)
    }

    /// After a write failed with the first `written` bytes of the buffer out:
    /// the events not written whole are lost, except one cut midway on a
    /// descriptor that cannot be truncated, whose rest is kept to finish it
    /// unless the writer is `givingUp` (interrupted: no write follows).
    private mutating func dropUnwritten(written: Int, givingUp: Bool) {
        let whole = eventEnds.prefix { $0 <= written }.count
        let lineStart = whole > 0 ? eventEnds[whole - 1] : 0
        // What of the cut line is out: this write's part, and the part of an
        // earlier one when it is the kept first event.
        let cut = whole < eventEnds.count ? written - lineStart + (whole == 0 ? firstEventWritten : 0) : 0
        var keepRest = false
        if cut > 0 {
            var status = stat()
            if fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
                && ftruncate(fd, status.st_size - off_t(cut)) == 0 {
                bytesWritten -= cut
            } else {
                keepRest = !givingUp
            }
        }
        count.confirm(whole)
        count.lose(eventEnds.count - whole - (keepRest ? 1 : 0))
        if keepRest {
            let restEnd = eventEnds[whole]
            buffer.removeSubrange(restEnd...)
            buffer.removeSubrange(0..<written)
            eventEnds.removeAll(keepingCapacity: true)
            eventEnds.append(buffer.count)
            firstEventWritten = cut
        } else {
            buffer.removeAll(keepingCapacity: true)
            eventEnds.removeAll(keepingCapacity: true)
            firstEventWritten = 0
        }
    }
}

/// `write(2)`, named so the writer's own `write(_:)` does not shadow it.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
