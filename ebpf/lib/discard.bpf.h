/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Discarders: directories known to hold nothing watched, so that an event on
 * an object in one of them is dropped before any path byte, context or
 * record is built (the in-kernel filter otherwise decides only after walking
 * the whole path).
 *
 * A directory P gets one when a walk from an object in it found no watch at
 * P or above it (across mounts) and no watched_inodes entry at all at P: not
 * even FSP_WATCH_PARENT, which user space puts on the parent of every watch.
 * An object directly in P is then watched only if it is itself a watch
 * (a watched file moved or hard-linked into P, a watched directory renamed
 * into it), which the check looks up too. So an event on an object in P
 * costs the reads of its dentry and one map lookup.
 *
 * Why a verdict stays true: it is keyed by P's inode number and its mount
 * (the same directory seen through another mount has other ancestors) and
 * stamped like the resolution caches' entries (lib/cache.bpf.h): the cache
 * epoch, which every directory rename or removal and every watch change
 * ends, and the mount's id and root, so a mount freed and reused cannot pass
 * for the old one. An object that is the root of its mount is never
 * decided here: its parent in the walk is the mount point, not its dentry's
 * parent.
 */
#ifndef FSP_DISCARD_BPF_H
#define FSP_DISCARD_BPF_H

#include "common.bpf.h"
#include "task.bpf.h"
#include "cache.bpf.h"

struct fsp_discard_key {
	__u64 inode;          /* the directory's inode number */
	__u64 mount;          /* struct mount * it was seen through */
};

struct fsp_discard_stamp {
	__u64 epoch;          /* fsp_epoch_started of the walk that decided */
	__u64 mounts_event;   /* its mount namespace's event count then */
};

FSP_MAP(BPF_MAP_TYPE_LRU_HASH, discarders, 16384, struct fsp_discard_key, struct fsp_discard_stamp);

/*
 * The event count of the namespace holding mnt: the kernel sets it from one
 * global counter whenever a mount is added, moved or removed there
 * (touch_mnt_namespace), so an equal count means the same mounts in the
 * same places, and the same struct mount at the address. 0 for a mount no
 * namespace holds (detached, or the kernel's own).
 */
static __always_inline __u64 fsp_mounts_event(struct mount *mnt)
{
	struct mnt_namespace *ns = FSP_READ(mnt, mnt_ns);

	if (!ns || (unsigned long)ns >= (unsigned long)-4095) /* NULL, or MNT_NS_INTERNAL (an error pointer) */
		return 0;
	return FSP_READ(ns, event);
}

/*
 * Whether inode number ino may be a watch (an explicit or followed entry of
 * watched_inodes): user space sets bit (ino % FSP_WATCH_BITS) of
 * fsp_watch_bits for each, inside the epoch of the change, and the kernel
 * slot ino % FSP_WATCH_BITS of fsp_followed_slots for an object it follows,
 * before the object moves. Plain loads, where a lookup in watched_inodes
 * would be a helper call; a collision only sends the event the slow way,
 * to the walk that decides exactly.
 */
static __always_inline bool fsp_may_be_watched(__u64 ino)
{
	return (fsp_watch_bits[(ino / 64) % (FSP_WATCH_BITS / 64)] & (1ull << (ino % 64))) ||
	       fsp_followed_slots[ino % FSP_WATCH_BITS];
}

/*
 * Whether an event on (dentry, vfsmnt) can be dropped at once: its parent
 * directory holds a valid discarder and the object itself is not watched.
 * Counted as FSP_STAT_DISCARDED.
 */
static __always_inline bool fsp_discarded(struct dentry *dentry, struct vfsmount *vfsmnt)
{
	struct fsp_discard_stamp *st;
	struct fsp_discard_key key;
	struct fsp_dentry_head h;
	struct dentry *parent;
	struct inode *dir, *object;
	struct mount *mnt;
	__u64 started;

	if (!cfg_paths_filtering || !dentry || !vfsmnt)
		return false;
	started = fsp_epoch_read(&fsp_epoch_started);
	if (started != fsp_epoch_read(&fsp_epoch_finished))
		return false; /* a directory rename or a watch change in flight */
	fsp_read_dentry(dentry, &h);
	/* Locals: CO-RE relocates accesses through kernel types only. */
	parent = h.d_parent;
	object = h.d_inode;
	if (!parent || parent == dentry)
		return false;
	dir = FSP_READ(parent, d_inode);
	if (!dir)
		return false;
	mnt = fsp_real_mount(vfsmnt);
	key.inode = FSP_READ(dir, i_ino);
	/* A watched directory never gets a discarder: no lookup for its files. */
	if (fsp_may_be_watched(key.inode))
		return false;
	key.mount = (__u64)mnt;
	/*
	 * No discarder is ever learnt for a mount's root object's dentry
	 * parent (the walk's level 1 must be on the start mount), so a bind
	 * mount's root, whose d_parent lies outside the mount, misses here.
	 */
	st = bpf_map_lookup_elem(&discarders, &key);
	if (!st || st->epoch != started || st->mounts_event != fsp_mounts_event(mnt) || !st->mounts_event)
		return false;
	if (object && fsp_may_be_watched(FSP_READ(object, i_ino)))
		return false;
	fsp_stat_inc(FSP_STAT_DISCARDED);
	return true;
}

/*
 * A walk is at level 1 (the object's parent) on the mount it started on,
 * where the lookup in watched_inodes found entry (or NULL): remember what a
 * discarder for it needs. The mounts' event count is read before the walk
 * goes above this mount, so a mount moved meanwhile leaves a stamp that no
 * longer matches (never one that matches a view the walk did not see).
 */
static __always_inline void fsp_discarder_note(struct fsp_walk *w, __u64 inode, void *entry)
{
	w->level1_seen = 1;
	w->level1_entry = entry != NULL;
	w->level1_ino = inode;
	if (!entry)
		w->level1_mounts_event = fsp_mounts_event(w->mnt);
}

/*
 * The same, for a level 1 the walk did not look up (no watch has its inode
 * number): whether it has an FSP_WATCH_PARENT entry is looked up only if a
 * discarder comes to be learnt, which is rare, where the walk is frequent.
 */
static __always_inline void fsp_discarder_note_unchecked(struct fsp_walk *w, __u32 dev, __u64 inode)
{
	fsp_discarder_note(w, inode, NULL);
	w->level1_unchecked = 1;
	w->level1_dev = dev;
}

/* Whether the level 1 of a walk has an entry in watched_inodes. */
static __always_inline bool fsp_discarder_level1_entry(struct fsp_walk *w)
{
	struct fsp_watch_key key = {};

	if (!w->level1_unchecked)
		return w->level1_entry;
	key.dev = w->level1_dev;
	key.inode = w->level1_ino;
	return bpf_map_lookup_elem(&watched_inodes, &key) != NULL;
}

/*
 * After a walk from an object whose verdict is FSP_V_NO: its parent (walk
 * level 1, on the mount the walk started on) gets a discarder when no
 * watched_inodes entry was met there and neither the epoch nor the mounts
 * moved meanwhile.
 */
static __always_inline void fsp_discarder_learn(struct fsp_walk *w)
{
	struct fsp_discard_stamp st = {};
	struct fsp_discard_key key;

	if (!w->level1_seen || !w->epoch_stable || !w->level1_mounts_event)
		return;
	if (fsp_epoch_read(&fsp_epoch_started) != w->epoch || fsp_discarder_level1_entry(w))
		return;
	key.inode = w->level1_ino;
	key.mount = w->seg_mnt;
	st.epoch = w->epoch;
	st.mounts_event = w->level1_mounts_event;
	if (bpf_map_update_elem(&discarders, &key, &st, BPF_ANY) == 0)
		fsp_stat_inc(FSP_STAT_DISCARDERS_ADDED);
}

#endif /* FSP_DISCARD_BPF_H */
