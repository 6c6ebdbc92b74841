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
        for backend in automaticOrder {
            do {
                return (try KernelProbe(backend: backend, options: options), skipped)
            } catch {
                // Problems no other backend can avoid end the search at once.
                switch error {
                case .notPrivileged, .noKernelBTF, .invalidOption, .invalidSetting: throw error
                default: skipped.append(Skipped(backend: backend, reason: error.reason))
                }
            }
        }
        throw .noBackend(reasons: skipped.map { "\($0.backend.rawValue): \($0.reason)" })
    }
}
