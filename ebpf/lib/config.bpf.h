/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What user space sets before load (.rodata, read-only after: the verifier
 * prunes what a setting turns off), and what derives from it.
 */
#ifndef FSP_CONFIG_BPF_H
#define FSP_CONFIG_BPF_H

#include "vmlinux.h"
#include "fsprobe.h"

const volatile bool cfg_paths_filtering = false;
const volatile bool cfg_recursive = true;
const volatile __u32 cfg_event_mask = (1u << FSP_EVENT_TYPE_COUNT) - 1;
/* Follow objects moved out of the watch (--follow; only with paths filtering). */
const volatile bool cfg_follow = false;
const volatile __u32 cfg_self_tgid = 0;
/* vfs_mkdir returns a struct dentry * (6.15+) rather than an int. */
const volatile bool cfg_mkdir_returns_dentry = false;
/* enum fsp_resolution_mode */
const volatile __u32 cfg_resolution_mode = FSP_RESOLVE_PERF_BUFFER;
/* Inode number of fsprobe's own mount namespace; 0: do not compare. */
const volatile __u32 cfg_mnt_ns = 0;
/*
 * Benchmarks only: every program returns at once, so the cost measured is
 * the hooks' own (tracepoint, trampoline or kprobe), the floor fsprobe can
 * approach but not go below.
 */
const volatile bool cfg_empty_programs = false;
/* Bytes waiting in the ring buffer that wake its reader (lib/event.bpf.h). */
const volatile __u64 cfg_wakeup_bytes = 1024 * 4096 / 4;
/*
 * Event types whose hooks run: the selected ones, and renames when moved
 * objects are followed (the follow does not depend on reporting them).
 */
#define FSP_HOOKED_MASK (cfg_event_mask | (cfg_follow ? 1u << FSP_EVENT_RENAME : 0))
/* The first statement of every program of the VFS backends. */
#define FSP_EMPTY_EXIT()            \
	do {                        \
		if (cfg_empty_programs) \
			return 0;   \
	} while (0)

#endif /* FSP_CONFIG_BPF_H */
