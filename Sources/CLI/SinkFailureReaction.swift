import FSProbeCore
import Logging
import FSProbePipeline
import FSProbeSinks
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the command does when its sink fails.
///
/// A closed pipe (`fsprobe … | head`) means the reader is gone: stop quietly,
/// as other command-line tools do. Any other failure (disk full, I/O error)
/// is reported once on stderr; the pipeline keeps counting the lost events,
/// and the closing line says how many.
final class SinkFailureReaction: Sendable {
    private let stopTarget = Mutex<Pipeline?>(nil)

    var pipeline: Pipeline? {
        get { stopTarget.withLock { $0 } }
        set { stopTarget.withLock { $0 = newValue } }
    }

    func handle(_ error: PipelineError) {
        if case .writeFailed(_, let code)? = error.underlying as? SinkError, code == EPIPE {
            pipeline?.stop()
            return
        }
        Log.main.error("\(String(describing: error).lineSafe)")
    }
}
