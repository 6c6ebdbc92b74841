/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Walking dentries to the root, like the kernel's prepend_path(), writing the
 * names met leaf first into the scratch data area and looking each visited
 * (s_dev, i_ino) up in watched_inodes for the in-kernel filter.
 *
 * The steps run in chunks inside a global function, which the verifier
 * checks once on its own; the caller's loop only counts chunks. Unlike
 * bpf_loop() (5.17+), this works on every kernel fsprobe supports.
 */
#ifndef FSP_PATH_BPF_H
#define FSP_PATH_BPF_H

#include "common.bpf.h"
#include "chunks.bpf.h"
#include "task.bpf.h"
#include "cache.bpf.h"
#include "discard.bpf.h"


/*
 * Look the inode up in watched_inodes: while the filter is undecided, and,
 * when the walk may cache its first segment, at every level of it (a
 * cached directory carries the verdict of everything above it).
 */
/* Whether this step looks its inode up in watched_inodes (fsp_walk_watch). */
static __always_inline bool fsp_walk_looks_up_watch(struct fsp_walk *w)
{
	return w->filter || (w->cache_ok && cfg_paths_filtering && w->seg_open);
}

static __always_inline void fsp_walk_watch(struct fsp_walk *w, __u64 ino)
{
	struct fsp_watch_key key = {};
	bool segment = w->cache_ok && cfg_paths_filtering && w->seg_open;
	__u32 *v, flags;

	if (!w->filter && !segment)
		return;
	key.dev = w->sb_dev;
	key.inode = ino;
	/*
	 * An inode that is no watch (fsp_may_be_watched: plain loads, no
	 * helper call) has at most an FSP_WATCH_PARENT entry, which counts
	 * only at level 0 of a walk that asks for it, and for the discarder
	 * of level 1, which looks it up itself if it comes to be learnt.
	 */
	if (!fsp_may_be_watched(ino) && !(w->level == 0 && w->wants_parent)) {
		if (w->level == 1 && (__u64)w->mnt == w->seg_mnt)
			fsp_discarder_note_unchecked(w, key.dev, key.inode);
		return;
	}
	v = bpf_map_lookup_elem(&watched_inodes, &key);
	if (w->level == 1 && (__u64)w->mnt == w->seg_mnt)
		fsp_discarder_note(w, key.inode, v); /* the object's parent */
	if (!v)
		return;
	flags = *v;
	if (w->filter) {
		if (flags != FSP_WATCH_PARENT && w->level <= w->match_max) {
			w->matched = 1;
			w->filter = 0;
		}
		if ((flags & FSP_WATCH_PARENT) && w->level == 0)
			w->parent_match = 1;
	}
	if (segment && flags != FSP_WATCH_PARENT) {
		if (w->level < FSP_SEG_MAX)
			w->watch_mask |= 1ull << w->level;
		else
			w->seg_high_watch = 1;
	}
}

static __always_inline void fsp_walk_set_mount(struct fsp_walk *w, struct mount *mnt)
{
	w->mnt = mnt;
	w->mnt_root = FSP_READ(mnt, mnt.mnt_root);
	w->sb_dev = FSP_READ(mnt, mnt.mnt_sb, s_dev);
	w->mnt_id = FSP_READ(mnt, mnt_id);
}

static __always_inline void fsp_walk_stop_emit(struct fsp_walk *w)
{
	w->emit_stopped = 1;
	w->flags |= FSP_PATH_TRUNCATED;
}

/* Write a 2-byte marker item ('/' kind) at the walk's offset; false when there is no room. */
static __always_inline bool fsp_walk_put_marker(struct fsp_scratch *s, char kind, __u32 extra)
{
	struct fsp_walk *w = &s->walk;
	__u32 off = w->off;

	if (w->emit_stopped)
		return false;
	if (off + 2 + extra > w->limit) {
		fsp_walk_stop_emit(w);
		return false;
	}
	s->p.rec.data[off & FSP_DATA_MASK] = FSP_ITEM_MARKER;
	s->p.rec.data[(off + 1) & FSP_DATA_MASK] = kind;
	w->off = off + 2;
	return true;
}

/* The first segment ends here (level w->level): at a cached directory or at its mount's root. */
static __always_inline void fsp_walk_close_segment(struct fsp_walk *w)
{
	w->seg_open = 0;
	w->seg_top = w->level;
	w->seg_names_ok = !w->emit_stopped;
}

/*
 * The directory d (inode, at the current level) may be cached: on a valid
 * hit, write its anchor, take its verdict, and jump to its mount's root.
 * Returns 1 when it did. Otherwise remembers the level for the inserts.
 */
static __always_inline int fsp_walk_cached(struct fsp_scratch *s, struct inode *inode, __u64 ino)
{
	struct fsp_walk *w = &s->walk;
	struct fsp_cache_stamp *st;
	struct fsp_cache_key key;
	__u32 generation, verdict;

	key.inode = ino;
	key.mount = (__u64)w->mnt;
	key.epoch = w->epoch;
	generation = FSP_READ(inode, i_generation);
	st = fsp_cache_find(&key);
	if (!st || !fsp_stamp_valid(w, st, generation)) {
		if (w->seg_open && w->level < FSP_SEG_MAX) {
			w->seg_ino[w->level & (FSP_SEG_MAX - 1)] = key.inode;
			w->seg_gen[w->level & (FSP_SEG_MAX - 1)] = generation;
		}
		return 0;
	}
	verdict = st->verdict;
	if (w->filter && cfg_recursive && (verdict & FSP_CACHE_INSIDE_WATCH)) {
		w->matched = 1;
		w->filter = 0;
	}
	if (fsp_walk_put_marker(s, FSP_ITEM_ANCHOR, sizeof(struct fsp_anchor))) {
		struct fsp_anchor *a = (struct fsp_anchor *)&s->p.rec.data[w->off & FSP_DATA_MASK];

		a->key = key;
		w->off += sizeof(struct fsp_anchor);
	}
	if (w->seg_open) {
		w->seg_hit = 1;
		w->hit_key = key;
		w->hit_verdict = verdict;
		fsp_walk_close_segment(w);
	}
	w->dentry = w->mnt_root;
	return 1;
}

/* Flags for the namespace of the mount the walk ended on. */
static __always_inline void fsp_walk_top_namespace(struct fsp_walk *w, struct mount *mnt)
{
	struct mnt_namespace *ns = FSP_READ(mnt, mnt_ns);

	if (!ns)
		w->flags |= FSP_PATH_DETACHED;
	else if (cfg_mnt_ns && FSP_READ(ns, ns.inum) != cfg_mnt_ns)
		w->flags |= FSP_PATH_FOREIGN_NS;
}

/*
 * Remember the acting process's root, where the walk writes FSP_ITEM_ROOT.
 * Returns false when that root is a directory inside a mount (chroot into
 * it) rather than a mount's root: a cached directory could stand for the
 * root and hide it, so such a walk does without the caches.
 */
static __always_inline bool fsp_walk_find_root(struct fsp_walk *w)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fs_struct *fs = FSP_READ(task, fs);
	struct path root = {};

	w->root_seen = 0;
	if (fs && fsp_direct_reads()) {
		root.dentry = fsp_btf(fs)->root.dentry;
		root.mnt = fsp_btf(fs)->root.mnt;
	} else if (fs) {
		bpf_core_read(&root, sizeof(root), &fs->root);
	}
	w->root_dentry = root.dentry;
	w->root_mnt = fsp_real_mount(root.mnt);
	return !root.dentry || root.dentry == FSP_READ(root.mnt, mnt_root);
}

/* One step of the walk. Returns 1 to stop. */
static __always_inline int fsp_walk_step(struct fsp_scratch *s)
{
	struct fsp_walk *w = &s->walk;
	struct fsp_dentry_front front;
	struct fsp_dentry_head *h = &front.head;
	struct dentry *d, *parent;
	struct inode *inode;
	struct mount *mnt;
	bool cache_step;
	__u64 ino;
	__u32 seq;

	d = w->dentry;
	mnt = w->mnt;

	if (!d || !mnt) {
		w->flags |= FSP_PATH_DISCONNECTED;
		w->finished = 1;
		return 1;
	}
	if (d == w->root_dentry && mnt == w->root_mnt && !w->root_seen) {
		/* Below here is the path as the acting process sees it. */
		w->root_seen = 1;
		fsp_walk_put_marker(s, FSP_ITEM_ROOT, 0);
	}
	fsp_read_dentry_seq(d, &front);
	seq = front.d_seq;
	inode = h->d_inode; /* a local: CO-RE relocates accesses through kernel types only */
	cache_step = w->cache_ok && w->level >= w->cache_min && inode;
	/* The inode number, read once for the watch lookup and the cache's. */
	ino = inode && (cache_step || fsp_walk_looks_up_watch(w)) ? FSP_READ(inode, i_ino) : 0;
	fsp_walk_watch(w, ino);

	parent = h->d_parent;
	if (d == w->mnt_root) {
		struct mount *up = FSP_READ(mnt, mnt_parent);

		if (w->seg_open)
			fsp_walk_close_segment(w);
		if (up && up != mnt) {
			/* Cross to the mountpoint in the parent mount; no name for it. */
			fsp_walk_put_marker(s, FSP_ITEM_MOUNT, 0);
			w->dentry = FSP_READ(mnt, mnt_mountpoint);
			fsp_walk_set_mount(w, up);
			w->reread = 0;
			return 0;
		}
		/*
		 * Root of the top mount: done. No namespace holds it when it was
		 * lazily unmounted; another namespace than ours, when the path is
		 * a container's (or a private namespace's) view.
		 */
		fsp_walk_top_namespace(w, mnt);
		w->finished = 1;
		return 1;
	}
	if (d == parent || !parent) {
		w->flags |= FSP_PATH_DISCONNECTED;
		w->finished = 1;
		return 1;
	}

	if (cache_step && fsp_walk_cached(s, inode, ino)) {
		w->level++;
		w->reread = 0;
		goto next;
	}

	if (!w->emit_stopped) {
		if (w->names >= FSP_MAX_DEPTH) {
			fsp_walk_stop_emit(w);
		} else {
			const unsigned char *name = h->d_name.name;
			__u32 len = h->d_name.len, off = w->off;
			long n;

			if (len >= FSP_NAME_MAX || off + len + 1 > w->limit) {
				fsp_walk_stop_emit(w);
			} else {
				n = bpf_probe_read_kernel_str(&s->p.rec.data[off & FSP_DATA_MASK],
							      FSP_NAME_MAX, name);
				/*
				 * n counts the NUL; a concurrent rename may change the length.
				 * A rename of this dentry while its name was read (d_seq odd,
				 * or changed) may have torn the name: the dentry is read once
				 * more, and if that read is torn too, the path stops below it,
				 * flagged truncated, rather than carry a name that never was.
				 */
				bool torn = (seq & 1) || fsp_dentry_seq(d) != seq;

				if (n > 0 && off + (__u32)n <= w->limit && torn && !w->reread) {
					w->reread = 1;
					return 0; /* the next step reads the same dentry */
				}
				if (n <= 0 || off + (__u32)n > w->limit || torn) {
					fsp_walk_stop_emit(w);
				} else {
					w->off = off + (__u32)n;
					w->names++;
					if (w->seg_open && w->level < FSP_SEG_MAX) {
						w->seg_name_off[w->level & (FSP_SEG_MAX - 1)] = off;
						w->seg_name_len[w->level & (FSP_SEG_MAX - 1)] = (__u16)(n - 1);
					}
				}
			}
		}
	}

	w->level++;
	w->dentry = parent;
	w->reread = 0;
next:
	if (w->filter && w->level > w->match_max)
		w->filter = 0; /* non-recursive: nothing higher can match */
	if (w->emit_stopped && !w->filter)
		return 1;
	return 0;
}

#define FSP_WALK_CHUNK 16

/* One step of the walk in scratch->walk, whose state says where it is. */
static __always_inline int fsp_walk_step_at(struct fsp_scratch *s, __u32 unused)
{
	return fsp_walk_step(s);
}

/* FSP_WALK_CHUNK steps of the walk. Returns 1 when the walk is over. */
FSP_CHUNK_FUNCTION(fsp_walk_chunk, FSP_WALK_CHUNK, fsp_walk_step_at)

/*
 * Walk from (dentry, vfsmnt), writing names at w->off up to w->limit.
 * w must be &scratch->walk (the steps find it there). Caller sets off,
 * limit, match_max and filter; the rest is reset here.
 */
static __always_inline void fsp_walk_run(struct fsp_walk *w, struct dentry *dentry,
					 struct vfsmount *vfsmnt, __u32 cache_min)
{
	fsp_cache_begin(w, cache_min, fsp_walk_find_root(w));
	w->dentry = dentry;
	fsp_walk_set_mount(w, fsp_real_mount(vfsmnt));
	w->seg_mnt = (__u64)w->mnt;
	w->seg_root = (__u64)w->mnt_root;
	w->seg_mnt_id = w->mnt_id;
	w->names = 0;
	w->level = 0;
	w->flags = 0;
	w->matched = 0;
	w->parent_match = 0;
	w->finished = 0;
	w->emit_stopped = 0;
	w->reread = 0;
	w->level1_seen = 0;
	w->level1_entry = 0;
	w->level1_unchecked = 0;
	FSP_RUN_CHUNKS(fsp_walk_chunk, FSP_MAX_WALK / FSP_WALK_CHUNK, FSP_WALK_CHUNK);
	if (!w->finished)
		w->flags |= FSP_PATH_TRUNCATED;
}

/* Filter verdicts per path. */
#define FSP_V_NO    0
#define FSP_V_MAYBE 1   /* pass with FSP_PATH_NEEDS_FILTER */
#define FSP_V_YES   2

/* Non-recursive: watches count at these walk levels (object, or base = its parent). */
#define FSP_LEVEL_ANY 0xffffffffu

static __always_inline __u32 fsp_mount_id(struct vfsmount *vfsmnt)
{
	struct mount *m = fsp_real_mount(vfsmnt);

	return m ? (__u32)FSP_READ(m, mnt_id) : 0;
}

/*
 * Walk from (dentry, vfsmnt) writing p's fragments at *off (up to limit)
 * and advancing *off; watches count up to walk level match_max; levels
 * from cache_min on may be found in or added to the resolution cache
 * (0 when the start is itself a directory, the base of a caller's path).
 */
static __always_inline void fsp_walk_into(struct fsp_scratch *s, struct fsp_path *p,
					  struct dentry *dentry, struct vfsmount *vfsmnt,
					  __u32 *off, __u32 limit, __u32 match_max, __u32 cache_min,
					  bool wants_parent)
{
	struct fsp_walk *w = &s->walk;

	w->off = *off;
	w->limit = limit;
	w->filter = cfg_paths_filtering;
	w->match_max = match_max;
	w->wants_parent = wants_parent;
	fsp_walk_run(w, dentry, vfsmnt, cache_min);
	p->fragments_len = w->off - *off;
	p->depth = w->names;
	p->flags = w->flags;
	__builtin_memset(&p->learn_key, 0, sizeof(p->learn_key));
	__builtin_memset(&p->learn_stamp, 0, sizeof(p->learn_stamp));
	p->learn_level = 0;
	p->nlink = 0;
	fsp_cache_end(s, p);
	*off = w->off;
}

/*
 * Fill path p from (dentry, vfsmnt), a path the kernel resolved, writing its
 * names at *off (up to limit) and advancing *off. Returns a filter verdict.
 * A negative dentry (about to be created) has inode and mode 0.
 */
static __always_inline int fsp_path_walk(struct fsp_scratch *s, struct fsp_path *p,
					 struct dentry *dentry, struct vfsmount *vfsmnt, __u32 *off,
					 __u32 limit, __u32 cache_min)
{
	struct fsp_walk *w = &s->walk;
	struct inode *inode = FSP_READ(dentry, d_inode);

	p->inode = inode ? FSP_READ(inode, i_ino) : 0;
	p->mode = inode ? FSP_READ(inode, i_mode) : 0;
	p->dev = FSP_READ(dentry, d_sb, s_dev);
	p->mount_id = fsp_mount_id(vfsmnt);
	p->offset = *off;
	p->caller_len = 0;

	/* Non-recursive: the object itself or its parent may be the watch. */
	fsp_walk_into(s, p, dentry, vfsmnt, off, limit, cfg_recursive ? FSP_LEVEL_ANY : 1, cache_min, false);
	p->nlink = inode ? FSP_READ(inode, __i_nlink) : 0;
	/* Unhashed and not a root: unlinked while open, or never linked (O_TMPFILE). */
	if (!FSP_READ(dentry, d_hash.pprev) && FSP_READ(dentry, d_parent) != dentry)
		p->flags |= FSP_PATH_DELETED;

	if (!cfg_paths_filtering || w->matched)
		return FSP_V_YES;
	if (w->filter && !w->finished)
		return FSP_V_MAYBE; /* walk cut short before deciding */
	return FSP_V_NO;
}

/*
 * fsp_path_walk for an event's own object: a directory found to hold
 * nothing watched gets a discarder (lib/discard.bpf.h).
 */
static __always_inline int fsp_path_walk_learning(struct fsp_scratch *s, struct fsp_path *p,
						  struct dentry *dentry, struct vfsmount *vfsmnt, __u32 *off,
						  __u32 limit)
{
	int v = fsp_path_walk(s, p, dentry, vfsmnt, off, limit, 1);

	if (v == FSP_V_NO)
		fsp_discarder_learn(&s->walk);
	return v;
}

#endif /* FSP_PATH_BPF_H */
