#if canImport(Glibc)
import Glibc
#endif
import CFileWriteback
import FSProbePipeline

/// Keeps the lines a sink writes to a regular file from piling up in the
/// page cache.
///
/// Left alone, a file written at full speed keeps every page it filled in
/// memory, dirty and then clean, until the kernel needs the memory back; so
/// each new 4 KiB of lines takes a page the allocator has not handed out
/// lately, which costs far more than the copy (in a VM whose host takes
/// freed guest memory back, a fault in the host as well). Every `window`
/// bytes, the trimmer starts the writeback of what was written since
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`) and offers the kernel to drop
/// what lies more than two windows behind the end
/// (`posix_fadvise(POSIX_FADV_DONTNEED)`, which leaves alone the pages still
/// dirty or under writeback). The pages go back to the allocator still warm,
/// and the next lines take them. The last two windows stay cached for a
/// reader following the file.
///
/// Both calls run on the trimmer's own thread, never on the sink's. Neither
/// waits for the disk, but submitting the writeback waits for room in the
/// device's queue: measured on ext4, up to 96 ms per call while fsprobe
/// wrote 270,000 lines a second, six calls in 10 s over 10 ms. A sink
/// thread stalled that long stops draining its buffer, the reader of the
/// kernel ring stops with it, and the ring overflows: events lost. The sink
/// thread only posts how far the file reaches; a trim still running when
/// the next is posted takes the newer end when it is done.
final class PageCacheTrimmer {
    /// 8 MiB: a few milliseconds of writing at full speed, so the disk has
    /// written a window back before it is dropped.
    static let defaultWindow = 8 << 20

    /// Starts the writeback of (fd, offset, length): `fsp_start_writeback`,
    /// unless a test needs to see what the sink thread waits for.
    typealias StartWriteback = @Sendable (Int32, off_t, off_t) -> Void

    private let window: Int
    private let trims: Trims
    private var thread: WorkerThread?
    /// Bytes written since the last trim was posted.
    private var sinceLastPost = 0

    /// nil unless `fd` is a regular file: a pipe, a terminal or a device
    /// has no page cache to trim.
    init?(fd: Int32, window: Int = PageCacheTrimmer.defaultWindow,
          startWriteback: @escaping StartWriteback = { _ = fsp_start_writeback($0, Int64($1), Int64($2)) }) {
        var status = stat()
        guard window > 0, fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        // A duplicate: the sink may close its own while a trim runs.
        let duplicate = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0 else { return nil }
        self.window = window
        let trims = Trims(fd: duplicate, window: window, startWriteback: startWriteback)
        self.trims = trims
        thread = WorkerThread { trims.run() }
    }

    deinit { stop() }

    /// Called after `count` more bytes were written.
    func wrote(_ count: Int) {
        sinceLastPost += count
        guard sinceLastPost >= window else { return }
        sinceLastPost = 0
        trims.post()
    }

    /// Finishes the trim posted last, if any, and ends the thread. Idempotent.
    func stop() {
        guard let thread else { return }
        trims.stop()
        thread.join()
        self.thread = nil
    }
}

/// The trimmer thread's side: the trims posted, and what the earlier ones did.
private final class Trims: @unchecked Sendable {
    private let fd: Int32
    private let window: Int
    private let startWriteback: PageCacheTrimmer.StartWriteback

    /// Under `lock`: the file's end the next trim reaches (nil: none
    /// posted), and whether the thread ends once none is.
    private let lock = ConditionLock()
    private var postedEnd: off_t?
    private var stopping = false

    /// Trimmer thread only: the end of the previous trim, where the next
    /// writeback starts; and the offset below which the kernel was offered
    /// to drop pages (the window below it is offered again, for pages that
    /// were still being written back).
    private var writebackStartedTo: off_t = 0
    private var droppedTo: off_t = 0

    init(fd: Int32, window: Int, startWriteback: @escaping PageCacheTrimmer.StartWriteback) {
        self.fd = fd
        self.window = window
        self.startWriteback = startWriteback
    }

    deinit { close(fd) }

    /// Posts a trim up to the file's end: the descriptor's offset after the
    /// last write (shared with the sink's), under O_APPEND the file's end,
    /// past what other writers appended too (whose pages fare alike).
    func post() {
        let end = lseek(fd, 0, SEEK_CUR)
        guard end > 0 else { return }
        lock.lock()
        postedEnd = end
        lock.unlock()
        lock.signalNotEmpty()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        lock.signalNotEmpty()
    }

    /// The trimmer thread: each posted trim in turn, the newest end only.
    func run() {
        lock.lock()
        while true {
            while postedEnd == nil && !stopping { lock.waitNotEmpty() }
            guard let end = postedEnd else { break }
            postedEnd = nil
            lock.unlock()
            trim(to: end)
            lock.lock()
        }
        lock.unlock()
    }

    private func trim(to end: off_t) {
        if end < writebackStartedTo {  // truncated under the sink: start over
            writebackStartedTo = 0
            droppedTo = 0
        }
        startWriteback(fd, writebackStartedTo, end - writebackStartedTo)
        writebackStartedTo = end
        let dropEnd = end - off_t(2 * window)
        let dropStart = max(0, droppedTo - off_t(window))
        if dropEnd > dropStart {
            _ = posix_fadvise(fd, dropStart, dropEnd - dropStart, POSIX_FADV_DONTNEED)
            droppedTo = dropEnd
        }
    }
}
