import FSProbeCore

/// Chooses the hook backend by loading it. `auto` tries the VFS-level
/// backends first (fentry, then kprobe) and falls back to tracepoint, each
/// step taken only when the previous backend cannot load or attach here; the
/// reasons are kept so the user can see why.
public enum BackendSelector {
    /// Order in which `auto` tries the backends.
    public static let automaticOrder: [BackendKind] = [.fentry, .kprobe, .tracepoint]

    /// A backend `auto` passed over, and why.
    public struct Skipped: Sendable, Equatable {
        public let backend: BackendKind
        public let reason: String
    }

    static func open(options: KernelProbeOptions) throws(ProbeError) -> (probe: KernelProbe, skipped: [Skipped]) {
        if let requested = options.backend {
            return (try KernelProbe(backend: requested, options: options), [])
        }
        var skipped: [Skipped] = []
        var refused: ProbeError?
        for backend in automaticOrder {
            do {
                return (try KernelProbe(backend: backend, options: options), skipped)
            } catch {
                switch error {
                // Problems no other backend can avoid end the search at once.
                case .noKernelBTF, .invalidOption, .invalidSetting: throw error
                // With capabilities rather than root, a backend may need one
                // the process lacks (trampolines and kprobes more than
                // tracepoints): the next may still load.
                case .notPrivileged:
                    refused = refused ?? error
                    skipped.append(Skipped(backend: backend, reason: "permission denied"))
                default:
                    skipped.append(Skipped(backend: backend, reason: error.reason))
                }
            }
        }
        // Refused for lack of privileges: what to grant comes first.
        if let refused { throw refused }
        throw .noBackend(reasons: skipped.map { "\($0.backend.rawValue): \($0.reason)" })
    }
}
