// BPF programs that need what the host's locked-down kernel refuses: a BPF
// trampoline (fentry, lsm) and kprobes. The VM's stock kernels must take all.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/do_unlinkat")
int fentry_unlinkat(unsigned long long *ctx) { return 0; }

SEC("kprobe/do_unlinkat")
int kprobe_unlinkat(void *ctx) { return 0; }

SEC("lsm/file_open")
int lsm_file_open(unsigned long long *ctx) { return 0; }
