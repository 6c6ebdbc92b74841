/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Umbrella header of the CFSProbeBPF target: libbpf, the kernel ABI
 * (fsprobe.h), the generated skeleton (fsprobe.skel.h, from
 * scripts/gen-bpf.sh) and small C shims, prefixed fsp_, for what Swift
 * cannot call directly (libbpf option macros, va_list print callbacks,
 * per-CPU map sums, skeleton .rodata fields).
 */
#ifndef CFSPROBEBPF_H
#define CFSPROBEBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "fsprobe.h"
#include "fsprobe.skel.h"
#include "fsprobe_object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The hook backends, each a set of programs of the one BPF object. */
enum fsp_backend {
	FSP_BACKEND_TRACEPOINT = 0,
	FSP_BACKEND_FENTRY = 1,
	FSP_BACKEND_KPROBE = 2,
};

/* ---- skeleton lifecycle (non-inline: the embedded object is compiled once, in C) ---- */

/*
 * Open the embedded BPF object. btf_custom_path: kernel BTF to use instead
 * of /sys/kernel/btf/vmlinux (NULL for the default). kernel_log_level: 0 for
 * libbpf's default (verifier log only on failure), 1/2 for full verifier
 * logs, 4 for statistics only. Returns NULL with errno set on failure.
 */
struct fsprobe_bpf *fsp_skel_open(const char *btf_custom_path, uint32_t kernel_log_level);
/* Load (verify) all programs. 0 or -errno. */
int fsp_skel_load(struct fsprobe_bpf *s);
/*
 * After fsp_skel_attach: follow functions the compiler split ("vfs_rmdir.part.0")
 * with the backend's kprobes, when this kernel has such parts. 0 or -errno.
 */
int fsp_skel_attach_split_parts(struct fsprobe_bpf *s, enum fsp_backend backend);
/* Attach all auto-attachable programs. 0 or -errno. */
int fsp_skel_attach(struct fsprobe_bpf *s);
/* Destroy the links (no new events); maps and ring buffer stay usable. */
void fsp_skel_detach(struct fsprobe_bpf *s);
void fsp_skel_destroy(struct fsprobe_bpf *s);

/* ---- configuration, between open and load ---- */

/*
 * Load only the programs of backend that serve the event types of
 * event_mask (1 << enum fsp_event_type), in the variants matching the
 * running kernel's prototypes (read from its BTF: btf_path, or the kernel's
 * own when NULL), and set the kernel-dependent constants. Returns 0;
 * -ENOENT with the name of a kernel function the backend needs and this
 * kernel lacks copied to missing; or -errno when the BTF cannot be read.
 */
int fsp_skel_select(struct fsprobe_bpf *s, enum fsp_backend backend, __u32 event_mask, const char *btf_path,
		    char *missing, size_t missing_size);

/*
 * Whether the running kernel lets tracing and kprobe programs use task
 * storage (5.12+), where the fentry and kprobe backends keep what an open's
 * entry leaves for its exit (else in a map by thread id). False also
 * without the privilege to load a probe program.
 */
bool fsp_tracing_has_task_storage(void);

/*
 * Sets the const volatile globals of the BPF program (read-only after load).
 * event_mask: the types reported; follow: moved objects are followed (with
 * paths filtering), whose renames are hooked whether reported or not.
 */
static inline void fsp_skel_set_config(struct fsprobe_bpf *s, __u32 self_tgid,
				       bool paths_filtering, bool recursive, __u32 event_mask, bool follow)
{
	s->rodata->cfg_self_tgid = self_tgid;
	s->rodata->cfg_paths_filtering = paths_filtering;
	s->rodata->cfg_recursive = recursive;
	s->rodata->cfg_event_mask = event_mask;
	s->rodata->cfg_follow = follow && paths_filtering;
}

/* Benchmarks only: every program returns at once (the hooks' own cost). */
static inline void fsp_skel_set_empty_programs(struct fsprobe_bpf *s, bool empty)
{
	s->rodata->cfg_empty_programs = empty;
}

/*
 * Inode number of fsprobe's mount namespace (/proc/self/ns/mnt): paths
 * whose walk ends in another namespace are flagged FSP_PATH_FOREIGN_NS.
 */
static inline void fsp_skel_set_mount_namespace(struct fsprobe_bpf *s, __u32 inum)
{
	s->rodata->cfg_mnt_ns = inum;
}

/*
 * Ring buffer size in bytes: a power of two, multiple of the page size.
 * A quarter of it waiting wakes the reader. 0 or -errno.
 */
static inline int fsp_skel_set_ringbuf_size(struct fsprobe_bpf *s, __u32 bytes)
{
	s->rodata->cfg_wakeup_bytes = bytes / 4;
	return bpf_map__set_max_entries(s->maps.events, bytes);
}

/* Capacity of the watched_inodes map. 0 or -errno. */
static inline int fsp_skel_set_watch_capacity(struct fsprobe_bpf *s, __u32 entries)
{
	return bpf_map__set_max_entries(s->maps.watched_inodes, entries);
}

/* ---- watched_inodes, after load ---- */

/*
 * Kernel encoding (MKDEV: major << 20 | minor) of a user-space st_dev
 * (glibc encoding, as returned by stat(2)). Keys of watched_inodes use it.
 */
static inline __u32 fsp_kernel_dev(uint64_t st_dev)
{
	uint32_t major = (uint32_t)(((st_dev >> 8) & 0xfff) | ((st_dev >> 32) & ~0xfffu));
	uint32_t minor = (uint32_t)((st_dev & 0xff) | ((st_dev >> 12) & ~0xffu));
	return (major << 20) | (minor & 0xfffff);
}

/* Add or update a watched (kernel dev, inode). 0 or -errno. */
static inline int fsp_watch_add(struct fsprobe_bpf *s, __u32 kdev, __u64 inode, __u32 flags)
{
	struct fsp_watch_key key = { .dev = kdev, ._pad = 0, .inode = inode };
	return bpf_map__update_elem(s->maps.watched_inodes, &key, sizeof(key), &flags,
				    sizeof(flags), BPF_ANY);
}

/* Remove a watched (kernel dev, inode). 0 or -errno (-ENOENT when absent). */
static inline int fsp_watch_remove(struct fsprobe_bpf *s, __u32 kdev, __u64 inode)
{
	struct fsp_watch_key key = { .dev = kdev, ._pad = 0, .inode = inode };
	return bpf_map__delete_elem(s->maps.watched_inodes, &key, sizeof(key), 0);
}

/*
 * The set of inode numbers that may be watches (fsp_watch_bits in the
 * program's mmapped .bss): count words of FSP_WATCH_BITS / 64 at most.
 */
static inline void fsp_watch_bits_set(struct fsprobe_bpf *s, const __u64 *bits, size_t count)
{
	size_t words = sizeof(s->bss->fsp_watch_bits) / sizeof(s->bss->fsp_watch_bits[0]);

	for (size_t i = 0; i < words; i++)
		__atomic_store_n(&s->bss->fsp_watch_bits[i], i < count ? bits[i] : 0, __ATOMIC_RELAXED);
}

/* ---- resolution caches ---- */

/* The dentry resolution mode (enum fsp_resolution_mode), before load. */
static inline void fsp_skel_set_resolution_mode(struct fsprobe_bpf *s, __u32 mode)
{
	s->rodata->cfg_resolution_mode = mode;
}

/*
 * Before load: entries of the mode's kernel cache; the other modes' maps
 * shrink to one entry (LRU maps are preallocated). 0 or -errno.
 */
static inline int fsp_skel_set_cache_capacity(struct fsprobe_bpf *s, __u32 mode, __u32 entries)
{
	int err = bpf_map__set_max_entries(s->maps.cached_dirs,
					   mode == FSP_RESOLVE_PERF_BUFFER ? entries : 1);
	if (!err)
		err = bpf_map__set_max_entries(s->maps.path_fragments,
					       mode == FSP_RESOLVE_FRAGMENTS ? entries : 1);
	if (!err)
		err = bpf_map__set_max_entries(s->maps.single_fragments,
					       mode == FSP_RESOLVE_SINGLE_FRAGMENT ? entries : 1);
	return err;
}

/*
 * Around a change of the watch map: nothing cached before is used after
 * (cached directories carry the filter's verdict), and nothing is cached
 * while it happens. The counters live in the BPF program's mmapped .bss.
 */
static inline void fsp_epoch_begin(struct fsprobe_bpf *s)
{
	__atomic_fetch_add(&s->bss->fsp_epoch_started, 1, __ATOMIC_SEQ_CST);
}

static inline void fsp_epoch_end(struct fsprobe_bpf *s)
{
	__atomic_fetch_add(&s->bss->fsp_epoch_finished, 1, __ATOMIC_SEQ_CST);
}

/* perf_buffer mode: tell the kernel user space knows this directory's path. 0 or -errno. */
static inline int fsp_cached_dir_insert(struct fsprobe_bpf *s, const struct fsp_cache_key *key,
					const struct fsp_cache_stamp *stamp)
{
	return bpf_map__update_elem(s->maps.cached_dirs, key, sizeof(*key), stamp, sizeof(*stamp), BPF_ANY);
}

/* perf_buffer mode: user space forgot this directory. 0 or -errno (-ENOENT when absent). */
static inline int fsp_cached_dir_remove(struct fsprobe_bpf *s, const struct fsp_cache_key *key)
{
	return bpf_map__delete_elem(s->maps.cached_dirs, key, sizeof(*key), 0);
}

/* fragments mode: one fragment the kernel cached. 0 or -errno (-ENOENT when absent). */
static inline int fsp_fragment_lookup(struct fsprobe_bpf *s, const struct fsp_cache_key *key,
				      struct fsp_fragment *out)
{
	return bpf_map__lookup_elem(s->maps.path_fragments, key, sizeof(*key), out, sizeof(*out), 0);
}

/*
 * fragments mode: forget a fragment, so the next walk through it goes on
 * and puts back the chain above it. 0 or -errno (-ENOENT when absent).
 */
static inline int fsp_fragment_remove(struct fsprobe_bpf *s, const struct fsp_cache_key *key)
{
	return bpf_map__delete_elem(s->maps.path_fragments, key, sizeof(*key), 0);
}

/* single_fragment mode: a directory's path the kernel cached. 0 or -errno. */
static inline int fsp_single_fragment_lookup(struct fsprobe_bpf *s, const struct fsp_cache_key *key,
					     struct fsp_single_fragment *out)
{
	return bpf_map__lookup_elem(s->maps.single_fragments, key, sizeof(*key), out, sizeof(*out), 0);
}

/* ---- statistics ---- */

/* out[FSP_STAT_*] = the per-CPU counters summed over all possible CPUs. 0 or -errno. */
int fsp_stats_read(struct fsprobe_bpf *s, __u64 out[FSP_STAT_COUNT]);

/* ---- ring buffer ---- */

/* The ring buffer map's fd, for ring_buffer__new(). */
static inline int fsp_events_fd(struct fsprobe_bpf *s)
{
	return bpf_map__fd(s->maps.events);
}

/* ---- libbpf log capture (libbpf_set_print takes a va_list callback) ---- */

/*
 * A Swift-callable log handler: one formatted message (may hold several
 * lines, ends with '\n' usually). level is enum libbpf_print_level
 * (LIBBPF_WARN 0, LIBBPF_INFO 1, LIBBPF_DEBUG 2).
 */
typedef void (*fsp_log_handler)(int level, const char *message, void *context);

/*
 * Route libbpf's messages with level <= max_level (LIBBPF_WARN/INFO/DEBUG)
 * into an internal buffer that keeps the last FSP_LOG_CAPACITY bytes
 * (verifier logs end with the reason of a rejection), and, if handler is not
 * NULL, to handler as well. Replaces any previous libbpf print function.
 */
#define FSP_LOG_CAPACITY (64 * 1024)
void fsp_log_capture(int max_level, fsp_log_handler handler, void *context);
/* Stop capturing: libbpf prints nothing at all afterwards. */
void fsp_log_silence(void);
/*
 * Copy the captured text (NUL-terminated, truncated to size - 1) into buf.
 * Returns the length of the whole captured text.
 */
size_t fsp_log_copy(char *buf, size_t size);
void fsp_log_clear(void);

#ifdef __cplusplus
}
#endif

#endif /* CFSPROBEBPF_H */
