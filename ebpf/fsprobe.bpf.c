// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fsprobe kernel side: one BPF object holding the programs of every backend.
 * User space loads only those of the backend it chose (and, among them, the
 * variants that match the running kernel's function prototypes): see
 * Sources/CFSProbeBPF/fsprobe_bpf.c for the naming rules it relies on.
 *
 *   fsp_tp_*  tracepoint backend (tp_btf/sys_exit)
 *   fsp_fe_*  fentry backend (fentry/fexit, BPF trampolines)
 *   fsp_kp_*  kprobe backend (kprobe/kretprobe)
 *   fsp_any_* every backend (tp_btf on a scheduler tracepoint, which needs
 *             neither trampolines nor kprobes)
 */
#include "backends/tracepoint.bpf.h"
#include "backends/fentry.bpf.h"
#include "backends/kprobe.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
