#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore

/// Appends events to a file (`-o/--output`).
///
/// The file is opened at init with `O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC`
/// and mode 0600: events name files and processes of every user, so a new
/// log is readable by its owner only (an existing file keeps its mode).
/// Appending, not truncating, so a restart never destroys earlier events and
/// several writers' lines never overwrite each other. With the table format,
/// each run appends a header first.
///
/// Output is buffered and written in chunks of up to 64 KiB, and on every
/// `flush()` (which the pipeline calls when the sink's buffer runs empty).
/// Called from one thread at a time (see `EventSink`).
public final class FileSink: EventSink, @unchecked Sendable {
    public let name: String
    public let path: String
    private var writer: FileDescriptorWriter
    private var isOpen = true

    /// Opens (creating if needed) `path`.
    /// - Throws: `SinkError.cannotOpen`, whose description names the path
    ///   and the reason, e.g. `cannot open output file '/x/y': Permission denied`.
    /// - Parameter name: how statistics and errors name the sink (default: the path).
    public init(path: String, format: OutputFormat, name: String? = nil, permissions: mode_t = 0o600,
                clock: TableFormatter.Clock = .local) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw SinkError.cannotOpen(path: path, errno: errno) }
        self.name = name ?? path
        self.path = path
        self.writer = FileDescriptorWriter(fd: fd, name: path, format: format, clock: clock)
    }

    deinit {
        if isOpen { _ = closeDescriptor(writer.fd) }
    }

    public var format: OutputFormat { writer.format }

    public func write(_ event: FileEvent) throws {
        try writer.write(event)
    }

    public func flush() throws {
        try writer.flush()
    }

    /// Flushes, then closes the file; the file is closed even if the flush fails.
    public func close() throws {
        guard isOpen else { return }
        isOpen = false
        defer { _ = closeDescriptor(writer.fd) }
        try writer.flush()
    }
}

/// `close(2)`, named so the sink's own `close()` does not shadow it.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    close(fd)
}
