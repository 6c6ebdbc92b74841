#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FSProbeCore
import FSProbePipeline
import Synchronization

/// Lets another thread end a `write(2)` (or the `poll(2)` before one) that
/// blocks on a descriptor nobody drains, such as a pipe nobody reads, when
/// the sink is interrupted (`EventSink.interrupt()`): fsprobe's stop
/// deadline then ends with exact counts instead of a process killed with
/// its write.
///
/// The writing thread is sent `SIGURG`, whose handler does nothing and is
/// installed without `SA_RESTART`, so the blocked call returns `EINTR`; the
/// writer, seeing the request, gives up on what it has not written, which
/// it counts lost. `SIGURG` is ignored by default and nothing else in
/// fsprobe uses it.
final class WriteInterruption: Sendable {
    private let requested = Atomic<Bool>(false)
    /// The thread inside `whileWriting`, if any.
    private let writer = Mutex<pthread_t?>(nil)

    /// How often, and how long, `interrupt()` signals a writer that stays
    /// in its call: a signal that lands just before the writer enters
    /// `write(2)` interrupts nothing, so it is sent again until the writer
    /// has left (the process's own last resort follows 5 s after the
    /// deadline anyway).
    static let resendInterval = timespec(tv_sec: 0, tv_nsec: 20_000_000)
    static let resendCount = 250

    init() { Self.installHandler }

    /// Whether `interrupt()` was called: a write must not start, or go on.
    var isRequested: Bool { requested.load(ordering: .acquiring) }

    /// Runs `body`, whose blocking calls `interrupt()` may end, on this thread.
    func whileWriting<Result>(_ body: () throws -> Result) rethrows -> Result {
        writer.withLock { $0 = pthread_self() }
        defer { writer.withLock { $0 = nil } }
        return try body()
    }

    /// Asks the writer to give up, and ends the call it blocks in, if any.
    /// Returns at once (the signals are sent from a thread of their own).
    func interrupt() {
        requested.store(true, ordering: .releasing)
        _ = WorkerThread { [self] in
            for _ in 0..<Self.resendCount {
                let signalled = writer.withLock { thread -> Bool in
                    guard let thread else { return false }
                    pthread_kill(thread, SIGURG)
                    return true
                }
                guard signalled else { return }
                var pause = Self.resendInterval
                nanosleep(&pause, nil)
            }
        }
    }

    /// A handler that does nothing, so that a blocked call returns EINTR.
    private static let installHandler: Void = {
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { _ in }
        #else
        action.__sigaction_u.__sa_handler = { _ in }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: the interrupted call returns EINTR
        sigaction(SIGURG, &action, nil)
    }()
}
