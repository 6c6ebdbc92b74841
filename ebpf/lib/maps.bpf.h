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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 4096); /* user space sets it (--perf-buffer-size) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FSP_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fsp_watch_key);
	__type(value, __u32);
} watched_inodes SEC(".maps");

/*
 * The resolution caches, one per mode (user space shrinks the two it does
 * not use to one entry before load). LRU: bounded, oldest out first.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fsp_cache_key);
	__type(value, struct fsp_cache_stamp);
} cached_dirs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fsp_cache_key);
	__type(value, struct fsp_fragment);
} path_fragments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct fsp_cache_key);
	__type(value, struct fsp_single_fragment);
} single_fragments SEC(".maps");

/* Threads inside a directory rename (the exit must match its entry's bump). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} renaming_threads SEC(".maps");

static __always_inline void fsp_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

#endif /* FSP_MAPS_BPF_H */
