#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFSProbeBPF
import FSProbeCore

/// What the running kernel offers fsprobe, for `fsprobe kernel-info`: the
/// first thing to look at when fsprobe does not start.
public struct KernelSupport: Sendable {
    /// A capability of the kernel and how it was found out.
    public struct Feature: Sendable, Equatable {
        public let name: String
        /// nil when this process cannot find out (it lacks a privilege the
        /// probe needs: `detail` says which).
        public let available: Bool?
        public let detail: String
    }

    /// Whether a backend loads and attaches here, or why not.
    public struct BackendStatus: Sendable, Equatable {
        public let backend: BackendKind
        /// nil when the backend loaded and attached.
        public let failure: String?
    }

    public let release: String
    public let features: [Feature]
    public let backends: [BackendStatus]

    /// The backend `--backend auto` would choose, if any.
    public var automaticChoice: BackendKind? {
        backends.first { $0.failure == nil }?.backend
    }

    /// Probes the kernel. Loading a backend for real is the only reliable
    /// test (a kernel may know a program type and still refuse it), so this
    /// loads and attaches each implemented backend, then detaches it.
    public static func probe(kernelBTFPath: String = KernelProbeOptions().kernelBTFPath) -> KernelSupport {
        var options = KernelProbeOptions()
        options.kernelBTFPath = kernelBTFPath
        options.pathsFiltering = false
        options.events = .all
        let backends = BackendSelector.automaticOrder.map { backend -> BackendStatus in
            do {
                _ = try KernelProbe(backend: backend, options: options)
                return BackendStatus(backend: backend, failure: nil)
            } catch let error as ProbeError {
                return BackendStatus(backend: backend, failure: error.reason)
            } catch {
                return BackendStatus(backend: backend, failure: "\(error)")
            }
        }
        return KernelSupport(release: kernelRelease(), features: features(kernelBTFPath: kernelBTFPath), backends: backends)
    }

    static func features(kernelBTFPath: String) -> [Feature] {
        let btf = access(kernelBTFPath, R_OK) == 0
        // Probing creates a map: without CAP_BPF (or root) the kernel
        // refuses every map, which says nothing about the ring buffer.
        let ringBufferProbe = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nil)
        let ringBufferRefused = ringBufferProbe != 1 && !canCreateMaps()
        let kprobePMU = KernelProbe.kprobePMU
        let kprobes = access(kprobePMU, F_OK) == 0
        return [
            Feature(name: "BTF", available: btf, detail: kernelBTFPath),
            ringBufferRefused
                ? Feature(name: "BPF ring buffer", available: nil, detail: "needs CAP_BPF (or root) to probe")
                : Feature(name: "BPF ring buffer", available: ringBufferProbe == 1, detail: "kernel 5.8+"),
            Feature(name: "kprobes", available: kprobes, detail: kprobes ? kprobePMU : "\(kprobePMU) is missing (CONFIG_KPROBE_EVENTS)"),
            // Probing loads a program: the same privilege as a map.
            ringBufferRefused
                ? Feature(name: "task storage in tracing programs", available: nil, detail: "needs CAP_BPF (or root) to probe")
                : Feature(name: "task storage in tracing programs", available: fsp_tracing_has_task_storage(),
                          detail: "kernel 5.12+: fentry and kprobe keep an open's state in the task, not in a map by thread id"),
        ]
    }

    /// Whether this process may create BPF maps at all (a one-entry array).
    static func canCreateMaps() -> Bool {
        let fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, nil, 4, 4, 1, nil)
        guard fd >= 0 else { return errno != EPERM && errno != EACCES }
        close(fd)
        return true
    }

    static func kernelRelease() -> String {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
