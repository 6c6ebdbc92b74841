/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The dentry resolution caches (see enum fsp_resolution_mode in fsprobe.h):
 * finding a cached directory during a walk, caching the directories of a
 * walk's first mount segment once the walk is over, and the epoch that
 * keeps cached paths from outliving a directory rename or a watch change.
 *
 * Why cached paths stay true:
 *   - paths are cached relative to their mount's root and the walk goes on
 *     from that root, so mounting, unmounting or moving mounts changes
 *     nothing cached; a mount freed and reused fails the id and root check;
 *   - a directory renamed (or replaced, or exchanged) bumps the epoch
 *     before it moves and after: entries made before are never used again,
 *     none is made while it is in flight;
 *   - a directory removed bumps the epoch the same way: its inode number
 *     may come back as another directory (the generation check alone
 *     would not do on file systems without inode generations, nor for
 *     user space, which sees only the key and the epoch of an anchor);
 *   - files are never cached (hard links give one inode several names),
 *     only directories, which have exactly one.
 */
#ifndef FSP_CACHE_BPF_H
#define FSP_CACHE_BPF_H

#include "common.bpf.h"
#include "chunks.bpf.h"

static __always_inline __u64 fsp_epoch_read(__u64 *counter)
{
	return *(volatile __u64 *)counter;
}

/*
 * *counter += 1, atomically. Written out because clang emits the fetching
 * form for __sync_fetch_and_add, which 5.10's verifier does not know (it
 * came with 5.12); the plain atomic add it does know.
 */
static __always_inline void fsp_epoch_bump(__u64 *counter)
{
	__u64 one = 1;

	asm volatile("lock *(u64 *)(%0 + 0) += %1" : : "r"(counter), "r"(one) : "memory");
}

/* A walk's cache_min that keeps it off the caches: all names, no anchor. */
#define FSP_CACHE_NONE 0xffffffffu

/*
 * Start of a walk: whether it may use the caches, and under which epoch.
 * A walk that must see every directory (usable false) bypasses them.
 */
static __always_inline void fsp_cache_begin(struct fsp_walk *w, __u32 cache_min, bool usable)
{
	__u64 started = fsp_epoch_read(&fsp_epoch_started);
	__u64 finished = fsp_epoch_read(&fsp_epoch_finished);

	w->epoch_stable = started == finished;
	w->cache_ok = w->epoch_stable && usable && cache_min != FSP_CACHE_NONE;
	if (!w->cache_ok && cache_min != FSP_CACHE_NONE)
		fsp_stat_inc(FSP_STAT_CACHE_BYPASSED);
	w->epoch = started;
	w->cache_min = cache_min;
	w->seg_open = 1;
	w->seg_hit = 0;
	w->seg_names_ok = 0;
	w->seg_high_watch = 0;
	w->seg_top = 0;
	w->watch_mask = 0;
}

/*
 * This thread starts an operation that makes cached paths stale (a
 * directory renamed or removed); fsp_epoch_exit, at its return, ends it.
 */
static __always_inline void fsp_epoch_enter(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 one = 1, *n;

	fsp_epoch_bump(&fsp_epoch_started);
	n = bpf_map_lookup_elem(&renaming_threads, &tid);
	if (n)
		*n += 1; /* only this thread touches its entry */
	else
		bpf_map_update_elem(&renaming_threads, &tid, &one, BPF_ANY);
}

static __always_inline void fsp_epoch_exit(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 *n = bpf_map_lookup_elem(&renaming_threads, &tid);

	if (!n || *n == 0)
		return; /* no matching enter (it was no directory, or began before we attached) */
	fsp_epoch_bump(&fsp_epoch_finished);
	*n -= 1;
	if (*n == 0)
		bpf_map_delete_elem(&renaming_threads, &tid);
}

static __always_inline bool fsp_dentry_is_dir(struct dentry *d)
{
	struct inode *inode = d ? FSP_READ(d, d_inode) : NULL;

	return inode && FSP_S_ISDIR(FSP_READ(inode, i_mode));
}

/* vfs_rename(rd) entry: a directory moving, exchanged or replaced invalidates. */
static __always_inline void fsp_epoch_rename_enter(struct renamedata *rd)
{
	if (fsp_dentry_is_dir(FSP_READ(rd, old_dentry)) ||
	    fsp_dentry_is_dir(FSP_READ(rd, new_dentry)))
		fsp_epoch_enter();
}

/* The mode's cache entry for key (every value starts with its stamp), or NULL. */
static __always_inline struct fsp_cache_stamp *fsp_cache_find(struct fsp_cache_key *key)
{
	if (cfg_resolution_mode == FSP_RESOLVE_FRAGMENTS)
		return bpf_map_lookup_elem(&path_fragments, key);
	if (cfg_resolution_mode == FSP_RESOLVE_SINGLE_FRAGMENT)
		return bpf_map_lookup_elem(&single_fragments, key);
	return bpf_map_lookup_elem(&cached_dirs, key);
}

/* Whether a cached entry describes this directory, on this mount, in this epoch. */
static __always_inline bool fsp_stamp_valid(struct fsp_walk *w, struct fsp_cache_stamp *st, __u32 generation)
{
	return st->epoch == w->epoch && st->mnt_id == w->mnt_id &&
	       st->mnt_root == (__u64)w->mnt_root && st->generation == generation;
}

/* The filter's verdict on level k of the first segment. */
static __always_inline __u32 fsp_seg_verdict(struct fsp_walk *w, __u32 k)
{
	__u32 v = 0;

	if (!cfg_paths_filtering)
		return 0;
	if (k < FSP_SEG_MAX) {
		if (w->watch_mask >> k)
			v |= FSP_CACHE_INSIDE_WATCH;
		if ((w->watch_mask >> k) & 1)
			v |= FSP_CACHE_IS_WATCH;
	}
	if (w->seg_high_watch || (w->seg_hit && (w->hit_verdict & FSP_CACHE_INSIDE_WATCH)))
		v |= FSP_CACHE_INSIDE_WATCH;
	return v;
}

static __always_inline void fsp_seg_stamp(struct fsp_walk *w, __u32 k, struct fsp_cache_stamp *st)
{
	st->epoch = w->epoch;
	st->mnt_root = w->seg_root;
	st->mnt_id = w->seg_mnt_id;
	st->generation = w->seg_gen[k & (FSP_SEG_MAX - 1)];
	st->verdict = fsp_seg_verdict(w, k);
	st->_pad = 0;
}

#define FSP_INSERT_CHUNK 16

/*
 * fragments mode: the fragment of the directory at level k of the first
 * segment. 1 when the segment is over.
 */
static __always_inline int fsp_fragment_insert_step(struct fsp_scratch *s, __u32 k)
{
	struct fsp_fragment *f = &s->value.fragment;
	struct fsp_walk *w = &s->walk;
	struct fsp_cache_key key;
	__u32 len, off;

	if (k >= w->seg_top || k >= FSP_SEG_MAX)
		return 1;
	if (k < w->cache_min)
		return 0;
	/* The verifier needs the mask on the very register that indexes. */
	k &= FSP_SEG_MAX - 1;
	barrier_var(k);
	fsp_seg_stamp(w, k, &f->stamp);
	if (k + 1 < w->seg_top)
		f->parent_inode = w->seg_ino[(k + 1) & (FSP_SEG_MAX - 1)];
	else
		f->parent_inode = w->seg_hit ? w->hit_key.inode : 0;
	len = w->seg_name_len[k & (FSP_SEG_MAX - 1)];
	off = w->seg_name_off[k & (FSP_SEG_MAX - 1)];
	f->name_len = len;
	f->_pad = 0;
	bpf_probe_read_kernel(f->name, len & (FSP_NAME_MAX - 1), &s->p.rec.data[off & FSP_DATA_MASK]);
	key.inode = w->seg_ino[k & (FSP_SEG_MAX - 1)];
	key.mount = w->seg_mnt;
	key.epoch = w->epoch;
	bpf_map_update_elem(&path_fragments, &key, f, BPF_ANY);
	return 0;
}

/* Levels [first, first + FSP_INSERT_CHUNK) of the segment. 1 when done. */
FSP_CHUNK_FUNCTION(fsp_fragment_insert_chunk, FSP_INSERT_CHUNK, fsp_fragment_insert_step)

/*
 * single_fragment mode: the first directory of the segment gets its whole
 * mount-relative path (its segment's names, then the cached directory's).
 */
static __always_inline void fsp_single_insert(struct fsp_scratch *s)
{
	struct fsp_walk *w = &s->walk;
	struct fsp_single_fragment *v = &s->value.single.v;
	struct fsp_cache_key key;
	__u32 k = w->cache_min & (FSP_SEG_MAX - 1);
	__u32 last = (w->seg_top - 1) & (FSP_SEG_MAX - 1);
	__u32 start = w->seg_name_off[k];
	__u32 end = w->seg_name_off[last] + w->seg_name_len[last] + 1;
	__u32 len = end - start;

	if (end <= start || len >= FSP_SINGLE_MAX)
		return;
	/* Keep the mask: clang drops it after the test, 6.1's verifier needs it. */
	barrier_var(len);
	len &= FSP_SINGLE_MAX - 1;
	fsp_seg_stamp(w, k, &v->stamp);
	bpf_probe_read_kernel(v->path, len & (FSP_SINGLE_MAX - 1), &s->p.rec.data[start & FSP_DATA_MASK]);
	if (w->seg_hit) {
		struct fsp_single_fragment *hit = bpf_map_lookup_elem(&single_fragments, &w->hit_key);
		__u32 more;

		if (!hit || hit->stamp.epoch != w->epoch)
			return;
		more = hit->len;
		if (more >= FSP_SINGLE_MAX || len + more >= FSP_SINGLE_MAX)
			return;
		barrier_var(more);
		more &= FSP_SINGLE_MAX - 1;
		bpf_probe_read_kernel(&v->path[len & (FSP_SINGLE_MAX - 1)], more & (FSP_SINGLE_MAX - 1), hit->path);
		len += more;
	}
	v->len = len;
	v->_pad = 0;
	key.inode = w->seg_ino[k];
	key.mount = w->seg_mnt;
	key.epoch = w->epoch;
	bpf_map_update_elem(&single_fragments, &key, v, BPF_ANY);
}

/*
 * End of a walk that wrote path p: count it, and cache what it learnt when
 * it was stable (no rename began meanwhile) and its first segment is whole.
 */
static __always_inline void fsp_cache_end(struct fsp_scratch *s, struct fsp_path *p)
{
	struct fsp_walk *w = &s->walk;

	if (!w->cache_ok)
		return;
	fsp_stat_inc(w->seg_hit ? FSP_STAT_CACHE_HITS : FSP_STAT_CACHE_MISSES);
	if (w->seg_open || !w->seg_names_ok || w->seg_top <= w->cache_min || w->seg_top > FSP_SEG_MAX)
		return;
	if (fsp_epoch_read(&fsp_epoch_started) != w->epoch)
		return;
	if (cfg_resolution_mode == FSP_RESOLVE_FRAGMENTS) {
		FSP_RUN_CHUNKS(fsp_fragment_insert_chunk, FSP_SEG_MAX / FSP_INSERT_CHUNK, FSP_INSERT_CHUNK);
	} else if (cfg_resolution_mode == FSP_RESOLVE_SINGLE_FRAGMENT) {
		fsp_single_insert(s);
	} else {
		/* perf_buffer: user space caches it, then tells the kernel. */
		__u32 k = w->cache_min & (FSP_SEG_MAX - 1);

		p->learn_key.inode = w->seg_ino[k];
		p->learn_key.mount = w->seg_mnt;
		p->learn_key.epoch = w->epoch;
		fsp_seg_stamp(w, k, &p->learn_stamp);
		p->learn_level = w->cache_min;
		p->flags |= FSP_PATH_LEARNABLE;
	}
}

#endif /* FSP_CACHE_BPF_H */
