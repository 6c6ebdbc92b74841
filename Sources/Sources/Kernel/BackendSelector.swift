import FSProbeCore

/// Chooses the hook backend. The VFS-level backends (fentry, kprobe) are not
/// part of this version yet: `auto` settles on the tracepoint backend, and
/// asking for another one is an error that says so rather than a silent fallback.
public enum BackendSelector {
    /// Why each backend was or was not chosen, for the start-up message.
    public static func unavailableReason(_ backend: BackendKind) -> String? {
        switch backend {
        case .fentry, .kprobe: "not implemented in this version of fsprobe"
        case .tracepoint: nil
        }
    }

    public static func select(_ requested: BackendKind?) throws(ProbeError) -> BackendKind {
        if let requested {
            if let reason = unavailableReason(requested) {
                throw .backendUnavailable(backend: requested.rawValue, reason: reason)
            }
            return requested
        }
        return BackendKind.allCases.first { unavailableReason($0) == nil } ?? .tracepoint
    }
}
