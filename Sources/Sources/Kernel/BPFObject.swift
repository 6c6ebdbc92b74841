import CFSProbeBPF

/// The BPF object this build embeds (its skeleton, from `scripts/gen-bpf.sh`).
public enum BPFObject {
    /// Its SHA-256, as `sha256sum ebpf/fsprobe.bpf.o` prints it after
    /// `make -C ebpf`: says exactly which kernel programs a binary loads.
    public static let sha256: String = FSP_OBJECT_SHA256
}
