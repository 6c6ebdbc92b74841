/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The state of a dentry walk (path.bpf.h walks, cache.bpf.h and
 * discard.bpf.h learn from it), kept in the per-CPU scratch.
 */
#ifndef FSP_WALK_BPF_H
#define FSP_WALK_BPF_H

#include "vmlinux.h"
#include "fsprobe.h"

/*
 * Upper bound on walk steps (names + mount crossings) per path. Names stop
 * being written after FSP_MAX_DEPTH or when the data area is full, but the
 * walk may go on (without writing) so the in-kernel filter can still see a
 * watched ancestor above the truncation point.
 */
#define FSP_MAX_WALK 4096

/* Levels of a walk's first mount segment remembered for the cache inserts. */
#define FSP_SEG_MAX 64

struct fsp_walk {
	struct dentry *dentry;  /* next dentry to visit */
	struct mount *mnt;      /* mount it belongs to */
	struct dentry *mnt_root;/* mnt->mnt.mnt_root, read once per mount */
	__u32 sb_dev;           /* mnt->mnt.mnt_sb->s_dev, read once per mount */
	__u32 mnt_id;           /* mnt->mnt_id, read once per mount */
	__u32 off;              /* next write offset in scratch data */
	__u32 limit;            /* names must end at or before this offset */
	__u32 names;            /* names written */
	__u32 level;            /* names met, written or not (0 = start object) */
	__u32 match_max;        /* a watch counts only at level <= match_max */
	__u16 flags;            /* FSP_PATH_* gathered by the walk */
	__u8 filter;            /* still looking for a watch */
	__u8 matched;           /* a watch met at level <= match_max */
	__u8 parent_match;      /* an FSP_WATCH_PARENT entry met at level 0 */
	__u8 finished;          /* reached the top mount's root, or disconnected */
	__u8 emit_stopped;      /* no more names written (depth/space/read error) */
	__u8 cache_ok;          /* the resolution cache may be used by this walk */
	__u8 reread;            /* the current dentry is being read a second time */
	__u8 root_seen;         /* the process root was met (its marker written) */
	__u8 epoch_stable;      /* no directory rename or watch change in flight at its start */
	__u8 level1_seen;       /* the object's parent was looked up in watched_inodes */
	__u8 level1_entry;      /* and had an entry there (a watch or a watch's parent) */
	__u8 level1_unchecked;  /* or was not looked up (fsp_may_be_watched said no watch) */
	__u8 wants_parent;      /* an FSP_WATCH_PARENT entry at level 0 counts (parent_match) */
	__u8 _pad0;
	__u32 level1_dev;       /* the object's parent's device, with level1_unchecked */
	__u32 _pad2;
	struct dentry *root_dentry; /* the acting process's root directory */
	struct mount *root_mnt;     /* and its mount */
	__u64 level1_ino;       /* the object's parent's inode, with level1_seen */
	__u64 level1_mounts_event; /* and its mount namespace's event count (lib/discard.bpf.h) */

	/*
	 * The resolution cache. The first mount segment (from the start up
	 * to a cached directory or to the mount's root) is remembered level
	 * by level, so that when the walk is over the directories in it can
	 * be cached with the filter's verdict, which only the whole segment
	 * tells (a watch may sit above a directory).
	 */
	__u64 epoch;            /* fsp_epoch_started when the walk began */
	__u32 cache_min;        /* lowest level looked up in (and added to) the cache */
	__u32 seg_top;          /* level where the first segment ended */
	__u8 seg_open;          /* still in the first segment */
	__u8 seg_hit;           /* it ended at a cached directory (hit_*) */
	__u8 seg_names_ok;      /* every item of it was written */
	__u8 seg_high_watch;    /* a watch at one of its levels >= FSP_SEG_MAX */
	__u32 seg_mnt_id;
	__u64 seg_mnt;          /* its struct mount * */
	__u64 seg_root;         /* that mount's root dentry */
	__u64 watch_mask;       /* bit k: level k of the first segment is a watch */
	struct fsp_cache_key hit_key;
	__u32 hit_verdict;
	__u32 _pad1;
	__u64 seg_ino[FSP_SEG_MAX];
	__u32 seg_gen[FSP_SEG_MAX];
	__u16 seg_name_off[FSP_SEG_MAX];
	__u16 seg_name_len[FSP_SEG_MAX];   /* without the NUL */
};

#endif /* FSP_WALK_BPF_H */
