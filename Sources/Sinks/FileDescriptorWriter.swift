#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore

/// Formats events into one reusable byte buffer and writes it to a file
/// descriptor with `write(2)` in large chunks.
///
/// Batching matters: one `write(2)` per event would cost a system call per
/// event; the buffer is written out when it passes `flushThreshold` or on
/// `flush()`, and then reused, so steady state allocates nothing.
struct FileDescriptorWriter {
    /// Written out once the buffer holds this much.
    static let flushThreshold = 64 * 1024

    let fd: Int32
    /// How errors name the destination (`stdout`, the path).
    let name: String
    private var formatter: EventFormatter
    private var buffer: [UInt8] = []
    /// Bytes this writer has written to `fd` so far.
    private(set) var bytesWritten = 0

    init(fd: Int32, name: String, format: OutputFormat, clock: TableFormatter.Clock) {
        self.fd = fd
        self.name = name
        self.formatter = EventFormatter(format: format, clock: clock)
        buffer.reserveCapacity(Self.flushThreshold + 8 * 1024)
        formatter.appendHeader(into: &buffer)
    }

    var format: OutputFormat { formatter.format }
    /// Bytes formatted and not yet written.
    var bufferedBytes: Int { buffer.count }

    mutating func write(_ event: FileEvent) throws {
        formatter.encode(event, into: &buffer)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Writes out everything buffered. On failure the buffered bytes are
    /// discarded (a full disk must not grow memory without bound) and the
    /// error is thrown.
    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = posixWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n >= 0 {
                    offset += n
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
                    throw SinkError.writeFailed(name: name, errno: errno)
                }
            }
        }
    }
}

/// `write(2)`, named so the writer's own `write(_:)` does not shadow it.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
