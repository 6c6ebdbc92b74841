import FSProbeCore
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT/SIGTERM/SIGHUP into a call of ordinary code (stop the source,
/// drain, flush) rather than work inside a signal handler.
///
/// The signals are blocked in the calling thread before any other thread
/// exists, so every thread inherits the mask and the kernel can only hand
/// them to `sigwait` on the forwarding thread: none is lost, even one that
/// arrives while the BPF programs are still loading.
final class SignalForwarder {
    private var signals = sigset_t()

    /// Blocks `numbers`; call first thing, before any thread is started.
    init(blocking numbers: [Int32]) {
        sigemptyset(&signals)
        for number in numbers { sigaddset(&signals, number) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Calls `handler` (on a dedicated thread) when the first of the signals
    /// arrives, saying on stderr that fsprobe is stopping. Stopping is
    /// bounded: a second signal, or `deadline` seconds passing (0: none),
    /// end the process at once with `ExitStatus.eventsLost` — so delivering
    /// what was captured cannot hold a service's stop for ever (an output
    /// that stalls, a broker that never answers).
    func forward(deadline: Int, to handler: @escaping @Sendable () -> Void) {
        let signals = self.signals
        _ = WorkerThread {
            var set = signals
            var received: Int32 = 0
            var stopping = false
            while sigwait(&set, &received) == 0 {
                if stopping {
                    FileHandleStderr.write("fsprobe: second signal: stopped at once; events not yet delivered are lost\n")
                    _exit(ExitStatus.eventsLost)
                }
                stopping = true
                let bound = deadline > 0 ? "at most \(deadline) s, " : ""
                FileHandleStderr.write("fsprobe: stopping: delivering the events already captured (\(bound)a second signal stops at once)\n")
                if deadline > 0 { Self.stopAfter(seconds: deadline) }
                handler()
            }
        }
    }

    private static func stopAfter(seconds: Int) {
        _ = WorkerThread {
            var request = timespec(tv_sec: seconds, tv_nsec: 0), remaining = timespec()
            while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
            FileHandleStderr.write("fsprobe: still stopping after \(seconds) s (--shutdown-timeout): stopped; events not yet delivered are lost\n")
            _exit(ExitStatus.eventsLost)
        }
    }
}
