import ArgumentParser
import FSProbeSources
#if canImport(Glibc)
import Glibc
#endif

/// `fsprobe kernel-info`: what this kernel supports, and which backend
/// fsprobe would use. Exits 1 when no backend can run.
struct KernelInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel-info",
        abstract: "Show the kernel's BPF support and which fsprobe backends load here, and why the others do not."
    )

    func run() throws {
        var btfPath = KernelProbeOptions().kernelBTFPath
        if let custom = getenv("FSPROBE_KERNEL_BTF") { btfPath = String(cString: custom) }
        let support = KernelSupport.probe(kernelBTFPath: btfPath)
        print("kernel: \(support.release)")
        for feature in support.features {
            let answer = feature.available.map { $0 ? "yes" : "no" } ?? "unknown"
            print("\(feature.name): \(answer) — \(feature.detail)")
        }
        for status in support.backends {
            print("backend \(status.backend.rawValue): " + (status.failure.map { "unavailable: \($0)" } ?? "loads and attaches"))
        }
        guard let choice = support.automaticChoice else {
            print("--backend auto: no backend can run on this kernel")
            throw ExitCode(1)
        }
        print("--backend auto: \(choice.rawValue)")
    }
}
