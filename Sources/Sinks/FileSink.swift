#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore
import FSProbePipeline
import Synchronization

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
/// With `sync: .everyFlush`, each flush also waits for the disk (fdatasync).
///
/// With a `rotation`, once the file reaches `maxBytes` it is renamed
/// `PATH.1` (older ones shift to `PATH.2`... up to `PATH.<keep>`, the oldest
/// deleted) and a new, empty `PATH` is created 0600. Rotation happens between
/// events, so every file holds whole lines; a file exceeds `maxBytes` by at
/// most one event.
///
/// Called from one thread at a time (see `EventSink`).
public final class FileSink: EventSink, @unchecked Sendable {
    /// Size-based rotation: when to rotate, and how many old files to keep.
    public struct Rotation: Sendable, Hashable {
        public var maxBytes: Int
        public var keep: Int
        public init(maxBytes: Int, keep: Int = 5) {
            precondition(maxBytes > 0 && keep > 0, "FileSink.Rotation needs positive maxBytes and keep")
            self.maxBytes = maxBytes
            self.keep = keep
        }
    }

    /// When written data is forced to the disk.
    public enum SyncPolicy: String, CaseIterable, Sendable {
        /// Left to the kernel: a crash of the machine may lose the last seconds.
        case never
        /// fdatasync on every flush: what was flushed survives a power loss.
        case everyFlush = "every_flush"
    }

    public let name: String
    public let path: String
    public let rotation: Rotation?
    public let sync: SyncPolicy
    private let permissions: mode_t
    private let clock: TableFormatter.Clock
    private var writer: FileDescriptorWriter
    /// Events written out, and accepted then lost to failed writes, by every file's writer.
    private let count = SinkDeliveryCount()
    /// Ends a write that blocks (a FIFO whose reader stopped) on `interrupt()`.
    private let interruption = WriteInterruption()
    /// Size of the file when this writer opened it (it is appended to).
    private var sizeAtOpen = 0
    private var isOpen = true
    /// A rotation's failure, thrown by the next `flush()`: thrown by
    /// `write(_:)`, it would count the event it wrote as dropped too.
    private var rotationError: Error?
    /// Set by `reopen()` from any thread; acted on by the writing thread.
    private let reopenRequested = Atomic<Bool>(false)

    /// Opens (creating if needed) `path`.
    /// - Throws: `SinkError.cannotOpen`, whose description names the path
    ///   and the reason, e.g. `cannot open output file '/x/y': Permission denied`.
    /// - Parameter name: how statistics and errors name the sink (default: the path).
    public init(path: String, format: OutputFormat, name: String? = nil, permissions: mode_t = 0o600,
                clock: TableFormatter.Clock = .local, rotation: Rotation? = nil, sync: SyncPolicy = .never) throws {
        let (fd, size) = try Self.openForAppend(path, permissions: permissions)
        self.name = name ?? path
        self.path = path
        self.rotation = rotation
        self.sync = sync
        self.permissions = permissions
        self.clock = clock
        self.sizeAtOpen = size
        self.writer = FileDescriptorWriter(fd: fd, name: path, format: format, clock: clock, count: count,
                                           interruption: interruption)
    }

    private static func openForAppend(_ path: String, permissions: mode_t) throws -> (fd: Int32, size: Int) {
        // Non-blocking open: a FIFO nobody reads fails at once (ENXIO) rather
        // than blocking start-up, signals included, until a reader comes.
        // Writes then block again, as on any file.
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, permissions)
        guard fd >= 0 else { throw SinkError.cannotOpen(path: path, errno: errno) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var status = stat()
        return (fd, fstat(fd, &status) == 0 ? Int(status.st_size) : 0)
    }

    deinit {
        if isOpen { closeFile() }
    }

    public var format: OutputFormat { writer.format }

    /// Events `write` accepted that a failed write then lost (a full disk):
    /// the pipeline counts them as dropped with reason `sink_error`.
    public var undelivered: UInt64 { count.lost }
    /// Events whose line was written out whole.
    public var confirmed: UInt64? { count.confirmed }
    /// The output file (its rotated copies sit beside it).
    public var outputPaths: [String] { [path] }

    /// Never throws for this event: a failure to write it (or the events
    /// before it) is counted in `undelivered` and thrown by `flush()`.
    public func write(_ event: FileEvent) throws {
        if reopenRequested.load(ordering: .relaxed) && reopenRequested.exchange(false, ordering: .acquiring) {
            do {
                try reopenFile()
            } catch {
                if rotationError == nil { rotationError = error }
            }
        }
        guard isOpen else {
            // A rotation that could not open the new file: nothing to write to.
            count.lose(1)
            return
        }
        writer.write(event)
        if let rotation, sizeAtOpen + writer.bytesWritten + writer.bufferedBytes >= rotation.maxBytes {
            do {
                try rotate(keeping: rotation.keep)
            } catch {
                if rotationError == nil { rotationError = error }
            }
        }
    }

    public func flush() throws {
        if let error = rotationError {
            rotationError = nil
            try? writer.flush()
            throw error
        }
        try writer.flush()
        if sync == .everyFlush && fdatasync(writer.fd) != 0 {
            throw SinkError.writeFailed(name: path, errno: errno)
        }
    }

    /// Closes the current file, its page-cache trimming ended first.
    private func closeFile() {
        writer.stopTrimming()
        _ = closeDescriptor(writer.fd)
    }

    /// Writes out and closes the current file, shifts the old ones
    /// (PATH.1 -> PATH.2...) and starts a new PATH.
    private func rotate(keeping keep: Int) throws {
        try writer.flush()
        closeFile()
        isOpen = false
        for index in stride(from: keep - 1, through: 1, by: -1) {
            _ = rename("\(path).\(index)", "\(path).\(index + 1)")  // a missing one is fine
        }
        guard rename(path, "\(path).1") == 0 else { throw SinkError.writeFailed(name: path, errno: errno) }
        try openAgain()
    }

    /// Writes out and closes the file, then opens PATH again: after an
    /// outside rotation (logrotate), a new file.
    private func reopenFile() throws {
        if isOpen {
            try writer.flush()
            closeFile()
            isOpen = false
        }
        try openAgain()
    }

    private func openAgain() throws {
        let (fd, size) = try Self.openForAppend(path, permissions: permissions)
        writer = FileDescriptorWriter(fd: fd, name: path, format: writer.format, clock: clock, count: count,
                                           interruption: interruption)
        sizeAtOpen = size
        isOpen = true
    }

    /// Flushes, then closes the file; the file is closed even if the flush fails.
    public func close() throws {
        guard isOpen else {
            // A rotation that could not open the new file: nothing to write to.
            writer.abandon()
            return
        }
        isOpen = false
        defer { closeFile() }
        try writer.flush()
    }
}

extension FileSink {
    /// A write blocked on a FIFO's reader that takes nothing ends, and none
    /// starts: what is not written is counted lost.
    public func interrupt() {
        interruption.interrupt()
    }

    /// Closes the file and opens its path again before the next event is
    /// written (SIGUSR1: logrotate moved it). A failure to open is thrown
    /// by the next `flush()`, and events are counted lost until a reopen works.
    public func reopen() {
        reopenRequested.store(true, ordering: .releasing)
    }
}

/// `close(2)`, named so the sink's own `close()` does not shadow it.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    close(fd)
}
