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

    /// Calls `handler` (on a dedicated thread) each time one of the signals arrives.
    func forward(to handler: @escaping @Sendable () -> Void) {
        let signals = self.signals
        _ = WorkerThread {
            var set = signals
            var received: Int32 = 0
            while sigwait(&set, &received) == 0 { handler() }
        }
    }
}
