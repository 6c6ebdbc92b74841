#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Failures to set up the kernel side, each a one-line message that names
/// the culprit and what would fix it.
public enum ProbeError: Error, CustomStringConvertible, Equatable {
    case notPrivileged(operation: String)
    case noKernelBTF(path: String)
    case backendUnavailable(backend: String, reason: String)
    case loadFailed(stage: ProbeStage, errno: Int32, detail: String)
    case verifierRejected(detail: String)
    case invalidOption(String)
    case invalidSetting(KernelProbeOptions.Setting, value: String, expected: String)
    case noBackend(reasons: [String])

    public var description: String {
        switch self {
        case .notPrivileged(let operation):
            "permission denied while \(operation): run fsprobe as root (or with CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH; before Linux 5.11 also CAP_SYS_RESOURCE, up to 6.1 CAP_SYS_ADMIN: see the README)"
        case .noKernelBTF(let path):
            "this kernel exposes no BTF (\(path) is missing): fsprobe needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
        case .backendUnavailable(let backend, let reason):
            "backend '\(backend)' cannot run on this kernel: \(reason)"
        case .loadFailed(let stage, let code, let detail):
            "failed to \(stage) the BPF programs: \(String(cString: strerror(code)))" + (detail.isEmpty ? "" : " (\(detail))")
        case .verifierRejected(let detail):
            "the kernel's verifier rejected the BPF programs (\(detail)): please report it with the output of 'fsprobe kernel-info'"
        case .invalidOption(let message):
            message
        case .invalidSetting(let setting, let value, let expected):
            "invalid \(setting) \(value): expected \(expected)"
        case .noBackend(let reasons):
            "no backend can run on this kernel: " + reasons.joined(separator: "; ")
        }
    }

    /// Why a backend cannot run, without the backend's name around it.
    public var reason: String {
        if case .backendUnavailable(_, let reason) = self { return reason }
        return description
    }

    /// Maps a libbpf failure: EPERM/EACCES at load almost always means missing privileges.
    static func fromLibbpf(stage: ProbeStage, code: Int32, detail: String) -> ProbeError {
        let code = abs(code)
        if (code == EPERM || code == EACCES) && geteuid() != 0 {
            return .notPrivileged(operation: "trying to \(stage) the BPF programs")
        }
        // As root, EACCES at load is the verifier's refusal, not a privilege problem.
        if code == EACCES && stage == .load && detail.hasPrefix("verifier: ") {
            return .verifierRejected(detail: detail)
        }
        return .loadFailed(stage: stage, errno: code, detail: detail)
    }
}

/// What fsprobe was doing with its BPF programs when the kernel refused;
/// the description completes "failed to … the BPF programs".
public enum ProbeStage: String, Sendable, Equatable, CustomStringConvertible {
    case open = "open"
    case sizeMaps = "size the maps of"
    case load = "load"
    case attach = "attach"
    case readKernelBTF = "read the kernel BTF for"
    case updateWatchMap = "update the watch map of"
    case updateDirectoryCache = "update the directory cache of"
    case openRingBuffer = "open the ring buffer of"
    case readEvents = "read events from"

    public var description: String { rawValue }
}
