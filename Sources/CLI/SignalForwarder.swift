import FSProbeCore
import Logging
import FSProbePipeline
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT/SIGTERM into a call of ordinary code (stop the source,
/// drain, flush), and SIGHUP/SIGUSR1 into a reload or a reopening of the
/// output files, rather than work inside a signal handler.
///
/// The signals are blocked in the calling thread before any other thread
/// exists, so every thread inherits the mask and the kernel can only hand
/// them to `sigwait` on the forwarding thread: none is lost. The thread
/// waits from the start: a signal during start-up (loading BPF programs,
/// opening thousands of sinks) ends the process at once, as nothing has
/// been captured yet; once `forward` is called, it stops the pipeline.
final class SignalForwarder: Sendable {
    private let state = Mutex<State>(State())

    private struct State {
        var handler: (@Sendable () -> Void)?
        /// What SIGHUP and SIGUSR1 do (`handle(_:with:)`); they never stop fsprobe.
        var others: [Int32: @Sendable () -> Void] = [:]
        var onDeadline: (@Sendable () -> Void)?
        var deadline = 0
        var stopping = false
    }

    /// After the deadline's `onDeadline`, how long the stop may still take
    /// reporting what was lost before the process ends regardless.
    static let graceSeconds = 5

    /// Blocks `numbers` and starts waiting for them; call first thing,
    /// before any other thread is started.
    init(blocking numbers: [Int32]) {
        var signals = sigset_t()
        sigemptyset(&signals)
        for number in numbers { sigaddset(&signals, number) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        // The thread keeps the forwarder: it lives as long as the process.
        _ = WorkerThread { [self, signals] in
            var set = signals
            var received: Int32 = 0
            while sigwait(&set, &received) == 0 { handle(received) }
        }
    }

    /// From now on the first signal calls `handler` (on the forwarding
    /// thread), saying on stderr that fsprobe is stopping. Stopping is
    /// bounded, so delivering what was captured cannot hold a service's stop
    /// for ever (an output that stalls, a broker that never answers): a
    /// second signal ends the process at once with `ExitStatus.eventsLost`;
    /// `deadline` seconds (0: none) call `onDeadline` (give up on the
    /// destinations: the stop then ends with exact counts), and
    /// `graceSeconds` later the process ends regardless.
    func forward(deadline: Int, onDeadline: (@Sendable () -> Void)? = nil, to handler: @escaping @Sendable () -> Void) {
        state.withLock {
            $0.handler = handler
            $0.onDeadline = onDeadline
            $0.deadline = deadline
        }
    }

    /// Signals that do not stop fsprobe, handled on the forwarding thread;
    /// until this is called for one, it is ignored (and said so).
    func handle(_ signal: Int32, with handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.others[signal] = handler }
    }

    /// The signals that never stop fsprobe.
    static let nonStopping: Set<Int32> = [SIGHUP, SIGUSR1]

    private func handle(_ signal: Int32) {
        if Self.nonStopping.contains(signal) {
            if let other = state.withLock({ $0.others[signal] }) {
                other()
            } else {
                Log.main.warning("\(String(cString: strsignal(signal))) ignored: \(signal == SIGHUP ? "nothing to reload" : "nothing to reopen") now")
            }
            return
        }
        let (handler, onDeadline, deadline, wasStopping) = state.withLock { state in
            defer { state.stopping = true }
            return (state.handler, state.onDeadline, state.deadline, state.stopping)
        }
        guard let handler else {
            Log.main.notice("\(String(cString: strsignal(signal))) during start-up: stopped before capturing anything")
            _exit(0)
        }
        if wasStopping {
            Log.main.warning("second signal: stopped at once; events not yet delivered are lost")
            _exit(ExitStatus.eventsLost)
        }
        let bound = deadline > 0 ? "at most \(deadline) s, " : ""
        Log.main.notice("stopping: delivering the events already captured (\(bound)a second signal stops at once)")
        if deadline > 0 { Self.stopAfter(seconds: deadline, onDeadline: onDeadline) }
        handler()
    }

    private static func stopAfter(seconds: Int, onDeadline: (@Sendable () -> Void)?) {
        _ = WorkerThread {
            sleep(seconds: seconds)
            if let onDeadline {
                Log.main.warning("still stopping after \(seconds) s (--shutdown-timeout): giving up on what is not delivered yet; it is counted as lost")
                onDeadline()
                sleep(seconds: graceSeconds)
            }
            let waited = seconds + (onDeadline == nil ? 0 : graceSeconds)
            Log.main.warning("still stopping after \(waited) s (--shutdown-timeout): stopped; events not yet delivered are lost")
            _exit(ExitStatus.eventsLost)
        }
    }

    private static func sleep(seconds: Int) {
        var request = timespec(tv_sec: seconds, tv_nsec: 0), remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
