/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Following moved objects (--follow) on the VFS backends: a rename that
 * takes a watched object out of every watch makes the kernel watch the
 * object itself (a FSP_WATCH_FOLLOWED entry of watched_inodes), wherever
 * it goes next.
 *
 * Decided at the rename's security hook, from the filter's verdicts on
 * both paths, before anything moves: from the moment the object can be
 * reached at its new place, it is watched there, however busy user space
 * is, and whichever event types are reported. The rename's exit takes the
 * entry back when the rename failed.
 *
 * What else must learn of the new watch, and when:
 *   - discarders: a file's new directory may hold one, whose check asks
 *     fsp_may_be_watched about the file; its slot of fsp_followed_slots is
 *     set with the entry;
 *   - cached directories: a directory moving is a rename that bumps the
 *     cache epoch at vfs_rename's entry, after this hook, so nothing cached
 *     before the entry existed is used after;
 *   - user space: the rename record carries FSP_RENAME_FOLLOWED_*, and is
 *     passed up for that even when renames are not reported.
 */
#ifndef FSP_FOLLOW_BPF_H
#define FSP_FOLLOW_BPF_H

#include "common.bpf.h"
#include "path.bpf.h"

#define FSP_EEXIST 17

/*
 * Make the object (dev, ino) a watch of its own. False when it already is
 * one (nothing to take back later), or when watched_inodes is full
 * (counted). An entry that only marks a watch's parent gains the flag.
 */
static __always_inline bool fsp_follow_insert(__u32 dev, __u64 ino)
{
	struct fsp_watch_key key = {};
	__u32 flags = FSP_WATCH_FOLLOWED;
	__u32 *v;
	long err;

	key.dev = dev;
	key.inode = ino;
	v = bpf_map_lookup_elem(&watched_inodes, &key);
	if (v) {
		if (*v != FSP_WATCH_PARENT)
			return false;
		*v = FSP_WATCH_PARENT | FSP_WATCH_FOLLOWED;
	} else {
		err = bpf_map_update_elem(&watched_inodes, &key, &flags, BPF_NOEXIST);
		if (err == -FSP_EEXIST)
			return false; /* another CPU followed it first */
		if (err) {
			fsp_stat_inc(FSP_STAT_FOLLOW_FAILED);
			return false;
		}
	}
	fsp_followed_slots[ino % FSP_WATCH_BITS] = 1;
	return true;
}

/* Take back what fsp_follow_insert added (its slot stays: a slot is only a hint). */
static __always_inline void fsp_follow_undo(__u32 dev, __u64 ino)
{
	struct fsp_watch_key key = {};
	__u32 *v;

	key.dev = dev;
	key.inode = ino;
	v = bpf_map_lookup_elem(&watched_inodes, &key);
	if (!v)
		return;
	if (*v & FSP_WATCH_PARENT)
		*v = FSP_WATCH_PARENT;
	else
		bpf_map_delete_elem(&watched_inodes, &key);
}

static __always_inline bool fsp_follow_dentry(struct dentry *d)
{
	struct inode *inode = d ? FSP_READ(d, d_inode) : NULL;

	return inode && fsp_follow_insert(FSP_READ(d, d_sb, s_dev), FSP_READ(inode, i_ino));
}

/*
 * At the rename's hook, with the filter's verdicts on the source (v_src)
 * and the target (v_tgt) path: follow what leaves the watch. Returns the
 * FSP_RENAME_FOLLOWED_* marks of what it began to watch.
 */
static __always_inline __u32 fsp_follow_rename(struct dentry *old_dentry, struct dentry *new_dentry,
					       __u32 rename_flags, int v_src, int v_tgt)
{
	__u32 marks = 0;

	if (!cfg_follow)
		return 0;
	if (v_src == FSP_V_YES && v_tgt == FSP_V_NO && fsp_follow_dentry(old_dentry))
		marks |= FSP_RENAME_FOLLOWED_SOURCE;
	/* An exchange also moves the target's object to the source's place. */
	if ((rename_flags & FSP_RENAME_EXCHANGE_FLAG) && v_tgt == FSP_V_YES && v_src == FSP_V_NO &&
	    fsp_follow_dentry(new_dentry))
		marks |= FSP_RENAME_FOLLOWED_TARGET;
	return marks;
}

/*
 * At the rename's exit: a failed rename moved nothing, so what its hook
 * followed is taken back (the source's object by the event's source path,
 * the exchange target's by its dentry); a done one is counted.
 */
static __always_inline void fsp_follow_rename_done(struct fsp_event *ev, struct dentry *exchanged, long ret)
{
	if (ret == 0) {
		if (ev->flags & FSP_RENAME_FOLLOWED_SOURCE)
			fsp_stat_inc(FSP_STAT_FOLLOWED);
		if (ev->flags & FSP_RENAME_FOLLOWED_TARGET)
			fsp_stat_inc(FSP_STAT_FOLLOWED);
		return;
	}
	if (ev->flags & FSP_RENAME_FOLLOWED_SOURCE)
		fsp_follow_undo(ev->src.dev, ev->src.inode);
	if ((ev->flags & FSP_RENAME_FOLLOWED_TARGET) && exchanged) {
		struct inode *inode = FSP_READ(exchanged, d_inode);

		if (inode)
			fsp_follow_undo(FSP_READ(exchanged, d_sb, s_dev), FSP_READ(inode, i_ino));
	}
	ev->flags &= ~(FSP_RENAME_FOLLOWED_SOURCE | FSP_RENAME_FOLLOWED_TARGET);
}

#endif /* FSP_FOLLOW_BPF_H */
