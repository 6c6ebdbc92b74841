/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps user space reads or fills: the ring buffer, the counters, the
 * watched inodes, the resolution caches, and the threads inside a
 * directory rename. (The per-thread and per-CPU working maps are with
 * their types, in scratch.bpf.h.)
 */
#ifndef FSP_MAPS_BPF_H
#define FSP_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "fsprobe.h"

/*
 * A BTF-defined map (what libbpf creates from the object): its type, its
 * default size (user space resizes some before load), key and value.
 */
#define FSP_MAP(map_type, name, entries, key_type, value_type) \
	struct {                                               \
		__uint(type, map_type);                        \
		__uint(max_entries, entries);                  \
		__type(key, key_type);                         \
		__type(value, value_type);                     \
	} name SEC(".maps")

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 4096); /* user space sets it (--perf-buffer-size) */
} events SEC(".maps");

FSP_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, stats, FSP_STAT_COUNT, __u32, __u64);

FSP_MAP(BPF_MAP_TYPE_HASH, watched_inodes, 16384, struct fsp_watch_key, __u32);

/*
 * The resolution caches, one per mode (user space shrinks the two it does
 * not use to one entry before load). LRU: bounded, oldest out first.
 */
FSP_MAP(BPF_MAP_TYPE_LRU_HASH, cached_dirs, 16384, struct fsp_cache_key, struct fsp_cache_stamp);

FSP_MAP(BPF_MAP_TYPE_LRU_HASH, path_fragments, 16384, struct fsp_cache_key, struct fsp_fragment);

FSP_MAP(BPF_MAP_TYPE_LRU_HASH, single_fragments, 1024, struct fsp_cache_key, struct fsp_single_fragment);

/* Threads inside a directory rename (the exit must match its entry's bump). */
FSP_MAP(BPF_MAP_TYPE_LRU_HASH, renaming_threads, 1024, __u32, __u32);

static __always_inline void fsp_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

#endif /* FSP_MAPS_BPF_H */
