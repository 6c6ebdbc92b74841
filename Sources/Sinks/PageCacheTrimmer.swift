#if canImport(Glibc)
import Glibc
#endif
import CFileWriteback

/// Keeps the lines a sink writes to a regular file from piling up in the
/// page cache.
///
/// Left alone, a file written at full speed keeps every page it filled in
/// memory, dirty and then clean, until the kernel needs the memory back; so
/// each new 4 KiB of lines takes a page the allocator has not handed out
/// lately, which costs far more than the copy (in a VM whose host takes
/// freed guest memory back, a fault in the host as well). Every `window`
/// bytes, the trimmer starts the writeback of what was written since
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait for the
/// disk) and offers the kernel to drop what lies more than two windows
/// behind the end (`posix_fadvise(POSIX_FADV_DONTNEED)`, which leaves alone
/// the pages still dirty or under writeback: it does not wait either). The
/// pages go back to the allocator still warm, and the next lines take them.
/// The last two windows stay cached for a reader following the file.
struct PageCacheTrimmer {
    /// 8 MiB: a few milliseconds of writing at full speed, so the disk has
    /// written a window back before it is dropped.
    static let defaultWindow = 8 << 20

    private let fd: Int32
    private let window: Int
    private var sinceLastTrim = 0
    /// The file's end at the previous trim: the next writeback starts there.
    private var writebackStartedTo: off_t = 0
    /// Offered to drop below this offset; the window below it is offered
    /// again, for pages that were still being written back.
    private var droppedTo: off_t = 0

    /// nil unless `fd` is a regular file: a pipe, a terminal or a device
    /// has no page cache to trim.
    init?(fd: Int32, window: Int = PageCacheTrimmer.defaultWindow) {
        var status = stat()
        guard window > 0, fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        self.fd = fd
        self.window = window
    }

    /// Called after `count` more bytes were written to the file.
    mutating func wrote(_ count: Int) {
        sinceLastTrim += count
        guard sinceLastTrim >= window else { return }
        sinceLastTrim = 0
        // The descriptor's offset after the write: under O_APPEND the file's
        // end, past what other writers appended too (whose pages fare alike).
        let end = lseek(fd, 0, SEEK_CUR)
        guard end > 0 else { return }
        if end < writebackStartedTo {  // truncated under the sink: start over
            writebackStartedTo = 0
            droppedTo = 0
        }
        _ = fsp_start_writeback(fd, Int64(writebackStartedTo), Int64(end - writebackStartedTo))
        writebackStartedTo = end
        let dropEnd = end - off_t(2 * window)
        let dropStart = max(0, droppedTo - off_t(window))
        if dropEnd > dropStart {
            _ = posix_fadvise(fd, dropStart, dropEnd - dropStart, POSIX_FADV_DONTNEED)
            droppedTo = dropEnd
        }
    }
}
