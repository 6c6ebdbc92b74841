/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the fentry and kprobe backends share: both hook the same kernel
 * functions and differ only in how they receive arguments and results.
 *
 * Paths come from hooks that carry a struct path (the security_path_*
 * hooks, vfs_open, vfs_utimes, the open file of security_file_*), so they
 * are walked across mounts to an absolute path, exactly as the kernel
 * resolved them; nothing comes from the caller's strings.
 *
 * Three shapes of event:
 *   - immediate (modify): built and emitted at the hook;
 *   - staged (the other types): the hook that sees the paths builds the
 *     event and stores it per thread ("pending"); the vfs_* function doing
 *     the work increments a nesting count on entry and, when its outermost
 *     call returns, the event is emitted with that return value. Nesting is
 *     what keeps overlayfs from reporting twice: the overlay's vfs_mkdir
 *     calls the upper layer's vfs_mkdir on the same thread.
 *   - built at the exit (open): vfs_open's exit walks, filters and emits
 *     the event; its entry keeps per thread ("openings") what the exit
 *     cannot see (see struct fsp_opening).
 */
#ifndef FSP_BACKEND_VFS_BPF_H
#define FSP_BACKEND_VFS_BPF_H

#include "../lib/common.bpf.h"
#include "../lib/task.bpf.h"
#include "../lib/path.bpf.h"
#include "../lib/event.bpf.h"
#include "../lib/context.bpf.h"
#include "../lib/follow.bpf.h"

#define FSP_MAY_WRITE  0x2
#define FSP_ERRNO_MAX  4095
/* do_dentry_open() strips O_CREAT; the file says whether this open created it. */
#define FSP_FMODE_CREATED 0x100000

/*
 * Start an event of this type in scratch, or NULL when it is not wanted
 * (not even to follow a moved object: FSP_HOOKED_MASK).
 */
static __always_inline struct fsp_scratch *fsp_vfs_begin(__u32 type)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct fsp_scratch *s;

	if (cfg_self_tgid && (__u32)(pid_tgid >> 32) == cfg_self_tgid)
		return NULL;
	if (!(FSP_HOOKED_MASK & (1u << type)))
		return NULL;
	s = fsp_scratch_get();
	if (!s)
		return NULL;
	fsp_event_set_task(&s->p.rec.ev, type, pid_tgid);
	s->p.rec.ev.flags = 0;
	s->p.rec.ev.mode = 0;
	s->p.rec.ev.syscall_nr = 0;
	s->p.rec.ev.retval = 0;
	__builtin_memset(&s->p.rec.ev.attr, 0, sizeof(s->p.rec.ev.attr));
	s->p.obj = NULL;
	s->p.nest = 0;
	return s;
}

/*
 * Walk the event's path(s): (d1, m1) is the source, (d2, m2) the target of
 * a rename or link (d2 NULL otherwise). The filter's verdicts on them go
 * to *v1 and *v2 (FSP_V_NO without a target).
 */
static __always_inline void fsp_vfs_walk(struct fsp_scratch *s, struct dentry *d1, struct vfsmount *m1,
					 struct dentry *d2, struct vfsmount *m2, int *v1, int *v2)
{
	struct fsp_event *ev = &s->p.rec.ev;
	__u32 off = 0;

	/* With a target, the source may use half the room. */
	*v1 = fsp_path_walk_learning(s, &ev->src, d1, m1, &off, d2 ? FSP_DATA_SIZE / 2 : FSP_DATA_SIZE);
	*v2 = FSP_V_NO;
	if (d2)
		*v2 = fsp_path_walk_learning(s, &ev->target, d2, m2, &off, FSP_DATA_SIZE);
	else
		__builtin_memset(&ev->target, 0, sizeof(ev->target));
	ev->data_len = off;
}

/* The filter's decision on walked paths, then the context of a kept event. */
static __always_inline bool fsp_vfs_keep(struct fsp_scratch *s, int v1, int v2)
{
	if (!fsp_filter_verdicts(&s->p.rec.ev, v1, v2))
		return false;
	fsp_event_add_context(s);
	return true;
}

/* Walk the event's path(s) (fsp_vfs_walk); false when the filter drops it. */
static __always_inline bool fsp_vfs_paths(struct fsp_scratch *s, struct dentry *d1,
					  struct vfsmount *m1, struct dentry *d2,
					  struct vfsmount *m2)
{
	int v1, v2;

	fsp_vfs_walk(s, d1, m1, d2, m2, &v1, &v2);
	return fsp_vfs_keep(s, v1, v2);
}

static __always_inline bool fsp_vfs_path_of(struct fsp_scratch *s, const struct path *path)
{
	return fsp_vfs_paths(s, FSP_READ(path, dentry), FSP_READ(path, mnt), NULL, NULL);
}

/* Forget the event this thread left pending, if any (in either map). */
static __always_inline void fsp_pending_forget(__u32 tid)
{
	bpf_map_delete_elem(&pending_short, &tid);
	bpf_map_delete_elem(&pending, &tid);
}

/*
 * The event this thread has pending, as the fields both maps' values share
 * (everything but the data beyond FSP_PENDING_SHORT_DATA), or NULL.
 */
static __always_inline struct fsp_pending_short *fsp_pending_find(__u32 tid)
{
	struct fsp_pending_short *p = bpf_map_lookup_elem(&pending_short, &tid);

	return p ? p : (struct fsp_pending_short *)bpf_map_lookup_elem(&pending, &tid);
}

/*
 * Keep the event built in scratch until its vfs_* call returns (in the map
 * its data fits: a short event copies a ninth of the bytes), or, when the
 * filter dropped it, forget any event this thread left pending (an
 * operation refused before its vfs_* call), so it cannot be reported late.
 */
static __always_inline void fsp_vfs_stage(struct fsp_scratch *s, bool keep)
{
	__u32 tid = s->p.rec.ev.tid;

	if (!keep) {
		fsp_pending_forget(tid);
	} else if (s->p.rec.ev.data_len <= FSP_PENDING_SHORT_DATA) {
		/* Its first sizeof(struct fsp_pending_short) bytes: the prefix. */
		bpf_map_update_elem(&pending_short, &tid, &s->p, BPF_ANY);
		bpf_map_delete_elem(&pending, &tid);
	} else {
		bpf_map_update_elem(&pending, &tid, &s->p, BPF_ANY);
		bpf_map_delete_elem(&pending_short, &tid);
	}
}

/*
 * An event of a staged type dropped by a discarder: like a filtered one, it
 * must not leave an earlier refused operation's event pending.
 */
static __always_inline bool fsp_vfs_discard_staged(__u32 type, struct dentry *d1, struct vfsmount *m1,
						   struct dentry *d2, struct vfsmount *m2)
{
	__u32 tid;

	if (!(FSP_HOOKED_MASK & (1u << type)) || !fsp_discarded(d1, m1) || (d2 && !fsp_discarded(d2, m2)))
		return false;
	tid = (__u32)bpf_get_current_pid_tgid();
	fsp_pending_forget(tid);
	return true;
}

/* A vfs_* call of this type begins: one more level to return from. */
static __always_inline void fsp_vfs_enter(__u32 type)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fsp_pending_short *p = fsp_pending_find(tid);

	if (type == FSP_EVENT_RMDIR)
		fsp_epoch_enter(); /* whether or not the event is wanted: see lib/cache.bpf.h */
	if (p && p->ev.event_type == type)
		p->nest++;
}

/* The kernel's ATTR_* bits of struct iattr.ia_valid (include/linux/fs.h). */
#define FSP_IA_MODE      (1u << 0)
#define FSP_IA_UID       (1u << 1)
#define FSP_IA_GID       (1u << 2)
#define FSP_IA_SIZE      (1u << 3)
#define FSP_IA_ATIME     (1u << 4)
#define FSP_IA_MTIME     (1u << 5)
#define FSP_IA_ATIME_SET (1u << 7)
#define FSP_IA_MTIME_SET (1u << 8)

/*
 * notify_change(…, iattr, …) begins: the setattr staged by its security
 * hook learns what it sets. Only the outermost call's (overlayfs calls it
 * again on its upper layer, with the same values).
 */
/*
 * One of the times a setattr sets (which: atime or mtime): the caller's
 * (ia_valid has *_SET), or "now", which notify_change itself fills in when
 * *_SET is absent.
 */
#define FSP_IA_TIME(a, ia, valid, which, WHICH)                         \
	do {                                                            \
		if ((valid) & FSP_IA_##WHICH##_SET) {                   \
			(a)->which##_sec = FSP_READ(ia, ia_##which.tv_sec);   \
			(a)->which##_nsec = FSP_READ(ia, ia_##which.tv_nsec); \
			(a)->valid |= FSP_ATTR_##WHICH;                 \
		} else if ((valid) & FSP_IA_##WHICH) {                  \
			(a)->valid |= FSP_ATTR_##WHICH##_NOW;           \
		}                                                       \
	} while (0)

static __always_inline void fsp_vfs_enter_setattr(struct iattr *ia)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fsp_pending_short *p;
	struct fsp_attr_values *a;
	unsigned int valid;

	fsp_vfs_enter(FSP_EVENT_SETATTR);
	p = fsp_pending_find(tid);
	if (!p || p->ev.event_type != FSP_EVENT_SETATTR || p->nest != 1 || !ia)
		return;
	a = &p->ev.attr;
	valid = FSP_READ(ia, ia_valid);
	a->valid = 0;
	if (valid & FSP_IA_MODE) {
		a->mode = FSP_READ(ia, ia_mode);
		a->valid |= FSP_ATTR_MODE;
	}
	if (valid & FSP_IA_UID) {
		a->uid = FSP_READ(ia, ia_uid.val);
		a->valid |= FSP_ATTR_UID;
	}
	if (valid & FSP_IA_GID) {
		a->gid = FSP_READ(ia, ia_gid.val);
		a->valid |= FSP_ATTR_GID;
	}
	if (valid & FSP_IA_SIZE) {
		a->size = FSP_READ(ia, ia_size);
		a->valid |= FSP_ATTR_SIZE;
	}
	FSP_IA_TIME(a, ia, valid, atime, ATIME);
	FSP_IA_TIME(a, ia, valid, mtime, MTIME);
}

/* Result of a kernel function returning an int in a 64-bit register. */
static __always_inline long fsp_int_result(__u64 raw)
{
	return (long)(int)raw;
}

/* Result of a function returning a pointer or ERR_PTR(-errno): 0 or -errno. */
static __always_inline long fsp_ptr_result(__u64 raw)
{
	return raw >= (__u64)-FSP_ERRNO_MAX ? (long)raw : 0;
}

/* vfs_mkdir returns an int, or from 6.15 the new dentry or ERR_PTR(-errno). */
static __always_inline long fsp_mkdir_result(__u64 raw)
{
	return cfg_mkdir_returns_dentry ? fsp_ptr_result(raw) : fsp_int_result(raw);
}

/*
 * An open is built and emitted when vfs_open returns: its exit walks the
 * path, which vfs_open's caller holds until the call returns. Built at the
 * entry and kept whole like the other staged events, an open's event was
 * copied into pending_short (some 1.4 KB, with an LRU update and a delete)
 * and out of it again into the ring.
 *
 * What the exit needs from the entry: an fexit program gets vfs_open's
 * arguments as well as its result, so the fentry backend's entry keeps only
 * the flags do_dentry_open() clears once the file is open, for the opens
 * that have them; a kretprobe gets the result alone, so the kprobe
 * backend's entry keeps the path and the flags of every open it follows.
 */
struct fsp_opening {
	__u64 dentry; /* struct dentry *, struct vfsmount *: the path vfs_open was given */
	__u64 mnt;
	__u32 flags;  /* the open's flags (fentry: only those the kernel clears) */
	__u32 nest;   /* kprobe: vfs_open calls entered and not returned (overlayfs' inner ones);
		       * fentry: 1; 0: the task-storage slot is empty */
};

FSP_MAP(BPF_MAP_TYPE_LRU_HASH, openings, 1024, __u32 /* thread id */, struct fsp_opening);

/*
 * Where an open's entry keeps its fsp_opening is paid on every open: the
 * kprobe backend keeps one for each open it follows, and the fentry
 * backend's exit looks for one after every open. From 5.12 tracing and
 * kprobe programs may use task storage: the slot lives in the task itself,
 * is found without hashing or locking, and is never deleted (nest 0 marks
 * it empty), where openings costs an LRU update, a lookup and a delete.
 * Programs named __ts use the slot and those named __hm the map; user space
 * loads the pair the kernel allows, and creates opening_slots only for the
 * first.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fsp_opening);
} opening_slots SEC(".maps");

/*
 * This thread's pending opening, or NULL; in_slot picks task storage
 * (a compile-time constant in each program, so each references one map).
 */
static __always_inline struct fsp_opening *fsp_opening_find(bool in_slot)
{
	__u32 tid;
	struct fsp_opening *o;

	if (in_slot) {
		o = bpf_task_storage_get(&opening_slots, bpf_get_current_task_btf(), NULL, 0);
		return o && o->nest ? o : NULL;
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	return bpf_map_lookup_elem(&openings, &tid);
}

/* Keep this thread's opening o (o->nest at least 1) for the exit. */
static __always_inline void fsp_opening_keep(const struct fsp_opening *o, bool in_slot)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fsp_opening *slot;

	if (!in_slot) {
		bpf_map_update_elem(&openings, &tid, o, BPF_ANY);
		return;
	}
	slot = bpf_task_storage_get(&opening_slots, bpf_get_current_task_btf(), NULL,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (slot)
		*slot = *o;
}

/* The exit has taken this thread's opening o. */
static __always_inline void fsp_opening_drop(struct fsp_opening *o, bool in_slot)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (in_slot)
		o->nest = 0;
	else
		bpf_map_delete_elem(&openings, &tid);
}

/* The flags do_dentry_open() clears from file->f_flags when the open succeeds. */
#define FSP_O_CLEARED_BY_OPEN (FSP_O_CREAT | FSP_O_EXCL | FSP_O_NOCTTY | FSP_O_TRUNC)

/*
 * The open's flags as the caller passed them, as far as the file still
 * knows: the kernel forces O_LARGEFILE on 64-bit and keeps O_CLOEXEC with
 * the descriptor; a file this open created says so (FMODE_CREATED) after
 * O_CREAT is gone.
 */
static __always_inline __u32 fsp_open_flags(struct file *file)
{
	__u32 flags = FSP_READ(file, f_flags) & ~FSP_O_LARGEFILE;

	if (FSP_READ(file, f_mode) & FSP_FMODE_CREATED)
		flags |= FSP_O_CREAT;
	return flags;
}

/* Walk, filter and emit an open of (dentry, mnt) that returned ret. */
static __always_inline void fsp_open_emit(struct dentry *dentry, struct vfsmount *mnt, __u32 flags, long ret)
{
	struct fsp_scratch *s = fsp_vfs_begin(FSP_EVENT_OPEN);

	if (!s)
		return;
	s->p.rec.ev.flags = flags;
	s->p.rec.ev.retval = ret;
	if (fsp_vfs_paths(s, dentry, mnt, NULL, NULL))
		fsp_emit(&s->p.rec);
}

/* kprobe: a nested vfs_open (overlayfs opening its real file), one more level to return from. */
static __always_inline void fsp_open_nest(bool in_slot)
{
	struct fsp_opening *o = fsp_opening_find(in_slot);

	if (o)
		o->nest++;
}

/* kprobe: vfs_open returned ret; the outermost call's open is walked, filtered and emitted. */
static __always_inline void fsp_open_finish(long ret, bool in_slot)
{
	struct fsp_opening *o = fsp_opening_find(in_slot);
	struct vfsmount *mnt;
	struct dentry *dentry;
	__u32 flags;

	if (!o)
		return;
	if (o->nest > 1) {
		o->nest--;
		return;
	}
	/* Locals: CO-RE relocates kernel types only, and the entry goes now. */
	dentry = (struct dentry *)o->dentry;
	mnt = (struct vfsmount *)o->mnt;
	flags = o->flags;
	fsp_opening_drop(o, in_slot);
	fsp_open_emit(dentry, mnt, flags, ret);
}

/*
 * fsp_vfs_finish for the pending event p, found in map (whose values have
 * max bytes of data).
 */
static __always_inline void fsp_vfs_finish_in(void *map, struct fsp_pending_short *p, __u32 max,
					      __u32 tid, __u32 type, long ret)
{
	struct fsp_event *ev;
	struct dentry *obj;

	if (p->ev.event_type != type)
		return;
	if (p->nest > 1) {
		p->nest--;
		return;
	}
	ev = &p->ev;
	ev->retval = ret;
	obj = p->obj; /* a local: CO-RE relocates kernel types only */
	if (type == FSP_EVENT_RENAME) {
		fsp_follow_rename_done(ev, obj, ret);
		/* Passed up only for what was followed (FSP_RENAME_UNSELECTED). */
		if ((ev->flags & FSP_RENAME_UNSELECTED) &&
		    !(ev->flags & (FSP_RENAME_FOLLOWED_SOURCE | FSP_RENAME_FOLLOWED_TARGET))) {
			bpf_map_delete_elem(map, &tid);
			return;
		}
	} else if (obj) {
		/* mkdir: the dentry was negative at the hook and has its inode now. */
		struct inode *inode = FSP_READ(obj, d_inode);

		if (inode) {
			ev->src.inode = FSP_READ(inode, i_ino);
			ev->src.mode = FSP_READ(inode, i_mode);
		}
	}
	fsp_emit_upto((struct fsp_record *)ev, max);
	bpf_map_delete_elem(map, &tid);
}

/* A vfs_* call of this type returned ret; the outermost one emits the event. */
static __always_inline void fsp_vfs_finish(__u32 type, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fsp_pending_short *p;
	struct fsp_pending *long_p;

	if (type == FSP_EVENT_RENAME || type == FSP_EVENT_RMDIR)
		fsp_epoch_exit(); /* whether or not the event was wanted */
	p = bpf_map_lookup_elem(&pending_short, &tid);
	if (p) {
		fsp_vfs_finish_in(&pending_short, p, FSP_PENDING_SHORT_DATA, tid, type, ret);
		return;
	}
	long_p = bpf_map_lookup_elem(&pending, &tid);
	if (long_p)
		fsp_vfs_finish_in(&pending, (struct fsp_pending_short *)long_p, FSP_DATA_SIZE, tid, type, ret);
}

/* The marker of kernel-internal mounts (MNT_NS_INTERNAL, ERR_PTR(-EINVAL)). */
#define FSP_MNT_NS_INTERNAL ((struct mnt_namespace *)-22L)

/*
 * A mount no namespace holds: overlayfs' private clones of its layers (and
 * the kernel's own pseudo file systems). Nobody can name a path on one.
 */
static __always_inline bool fsp_is_internal_mount(struct vfsmount *vfsmnt)
{
	struct mount *m = fsp_real_mount(vfsmnt);

	return m && FSP_READ(m, mnt_ns) == FSP_MNT_NS_INTERNAL;
}

/*
 * overlayfs' internal files, whose operations repeat the overlay's own:
 * since 6.5 "backing files" on the layer's private mount; before, files
 * carrying the overlay's path over the real inode.
 */
static __always_inline bool fsp_is_backing_file(struct file *f)
{
	if (fsp_is_internal_mount(FSP_READ(f, f_path.mnt)))
		return true;
	return FSP_READ(f, f_inode, i_sb) != FSP_READ(f, f_path.dentry, d_sb);
}

/* ---- the hooks, whatever the attach mechanism ---- */

/* kprobe: vfs_open(path, file) entry, where the path is final and file->f_flags still whole. */
static __always_inline void fsp_on_open(const struct path *path, struct file *file, bool in_slot)
{
	struct vfsmount *mnt = FSP_READ(path, mnt);
	struct fsp_opening opening = {};
	struct dentry *dentry;
	__u64 pid_tgid;

	if (!fsp_exits_attached)
		return; /* what it kept could outlive an exit not yet attached */
	if (fsp_is_internal_mount(mnt)) {
		fsp_open_nest(in_slot); /* overlayfs opening its real file */
		return;
	}
	if (!(cfg_event_mask & (1u << FSP_EVENT_OPEN)))
		return;
	dentry = FSP_READ(path, dentry);
	if (fsp_discarded(dentry, mnt))
		return;
	pid_tgid = bpf_get_current_pid_tgid();
	if (cfg_self_tgid && (__u32)(pid_tgid >> 32) == cfg_self_tgid)
		return;
	opening.dentry = (__u64)dentry;
	opening.mnt = (__u64)mnt;
	opening.flags = fsp_open_flags(file);
	opening.nest = 1; /* the vfs_open call itself */
	fsp_opening_keep(&opening, in_slot);
}

/*
 * fentry: vfs_open(path, file) entry. Most opens have none of the flags the
 * kernel clears, and cost this one read.
 */
static __always_inline void fsp_on_open_enter(const struct path *path, struct file *file, bool in_slot)
{
	struct fsp_opening opening = {};
	struct vfsmount *mnt;
	__u32 cleared;

	cleared = FSP_READ(file, f_flags) & FSP_O_CLEARED_BY_OPEN;
	if (!cleared || !fsp_exits_attached)
		return;
	mnt = FSP_READ(path, mnt);
	if (fsp_is_internal_mount(mnt))
		return; /* overlayfs opening its real file: the overlay's open keeps its own */
	opening.dentry = (__u64)FSP_READ(path, dentry);
	opening.mnt = (__u64)mnt;
	opening.flags = cleared;
	opening.nest = 1; /* a slot in use */
	fsp_opening_keep(&opening, in_slot);
}

/* fentry: vfs_open(path, file) returned ret. */
static __always_inline void fsp_on_open_exit(const struct path *path, struct file *file, long ret, bool in_slot)
{
	struct vfsmount *mnt = FSP_READ(path, mnt);
	struct dentry *dentry = FSP_READ(path, dentry);
	struct fsp_opening *o = fsp_opening_find(in_slot);
	__u32 cleared = 0;

	/*
	 * What this call's entry kept is taken whatever the open turns out to
	 * be, so that nothing stays behind; one kept for another path is an
	 * enclosing call's (overlayfs opening its real file inside its open).
	 */
	if (o && o->dentry == (__u64)dentry && o->mnt == (__u64)mnt) {
		cleared = o->flags;
		fsp_opening_drop(o, in_slot);
	}
	if (fsp_discarded(dentry, mnt))
		return;
	if (fsp_is_internal_mount(mnt))
		return; /* overlayfs opening its real file: the overlay's open is reported */
	fsp_open_emit(dentry, mnt, fsp_open_flags(file) | cleared, ret);
}

/* security_file_permission(file, mask): writes, once per open file description. */
static __always_inline void fsp_on_file_permission(struct file *file, int mask)
{
	struct fsp_scratch *s;
	__u64 key = (__u64)file;
	__u8 one = 1;

	if (!(mask & FSP_MAY_WRITE))
		return;
	if (!FSP_S_ISREG(FSP_READ(file, f_inode, i_mode)))
		return;
	if (bpf_map_lookup_elem(&modified_files, &key))
		return;
	if (fsp_is_backing_file(file) ||
	    fsp_discarded(FSP_READ(file, f_path.dentry), FSP_READ(file, f_path.mnt)))
		return;
	s = fsp_vfs_begin(FSP_EVENT_MODIFY);
	if (!s)
		return;
	if (!fsp_vfs_paths(s, FSP_READ(file, f_path.dentry), FSP_READ(file, f_path.mnt),
			   NULL, NULL))
		return;
	bpf_map_update_elem(&modified_files, &key, &one, BPF_ANY);
	fsp_emit(&s->p.rec);
}

/* security_file_free(file): its "already reported as modified" mark goes. */
static __always_inline void fsp_on_file_free(struct file *file)
{
	__u64 key = (__u64)file;

	if (cfg_event_mask & (1u << FSP_EVENT_MODIFY))
		bpf_map_delete_elem(&modified_files, &key);
}

/* security_path_{mkdir,rmdir,unlink}(dir, dentry[, mode]). */
static __always_inline void fsp_on_path_dentry(__u32 type, const struct path *dir,
					       struct dentry *dentry, __u32 mode)
{
	struct fsp_scratch *s;

	if (fsp_vfs_discard_staged(type, dentry, FSP_READ(dir, mnt), NULL, NULL))
		return;
	s = fsp_vfs_begin(type);
	if (!s)
		return;
	s->p.rec.ev.mode = mode;
	if (type == FSP_EVENT_MKDIR)
		s->p.obj = dentry;
	fsp_vfs_stage(s, fsp_vfs_paths(s, dentry, FSP_READ(dir, mnt), NULL, NULL));
}

/*
 * security_path_rename / security_path_link: both paths before the change.
 * A rename also decides, whether or not renames are reported, which object
 * leaving the watch the kernel goes on watching (lib/follow.bpf.h).
 */
static __always_inline void fsp_on_path_pair(__u32 type, struct dentry *old_dentry,
					     struct vfsmount *mnt_old, struct dentry *new_dentry,
					     struct vfsmount *mnt_new, __u32 flags)
{
	struct fsp_event *ev;
	struct fsp_scratch *s;
	__u32 followed = 0;
	int v1, v2;
	bool keep;

	if (fsp_vfs_discard_staged(type, old_dentry, mnt_old, new_dentry, mnt_new))
		return;
	s = fsp_vfs_begin(type);
	if (!s)
		return;
	ev = &s->p.rec.ev;
	ev->flags = flags & ~FSP_RENAME_KERNEL_MARKS;
	fsp_vfs_walk(s, old_dentry, mnt_old, new_dentry, mnt_new, &v1, &v2);
	if (type == FSP_EVENT_RENAME) {
		followed = fsp_follow_rename(old_dentry, new_dentry, flags, v1, v2);
		ev->flags |= followed;
		/* The exit needs it to take a failed exchange's follow back. */
		s->p.obj = (followed & FSP_RENAME_FOLLOWED_TARGET) ? new_dentry : NULL;
	}
	if (cfg_event_mask & (1u << type)) {
		keep = fsp_vfs_keep(s, v1, v2);
	} else {
		/* Hooked only to follow: passed up when it did, for user space to learn. */
		ev->flags |= FSP_RENAME_UNSELECTED;
		keep = followed && fsp_vfs_keep(s, v1, v2);
	}
	/* The target path names the same inode afterwards. */
	ev->target.inode = ev->src.inode;
	ev->target.mode = ev->src.mode;
	fsp_vfs_stage(s, keep);
}

/* security_path_{chmod,chown,truncate}, vfs_utimes: a setattr through notify_change. */
static __always_inline void fsp_on_setattr(const struct path *path, __u32 kind, __u32 mode)
{
	struct fsp_scratch *s;

	if (fsp_vfs_discard_staged(FSP_EVENT_SETATTR, FSP_READ(path, dentry), FSP_READ(path, mnt),
				   NULL, NULL))
		return;
	s = fsp_vfs_begin(FSP_EVENT_SETATTR);
	if (!s)
		return;
	s->p.rec.ev.flags = kind;
	s->p.rec.ev.mode = mode;
	fsp_vfs_stage(s, fsp_vfs_path_of(s, path));
}

/*
 * Extended attributes. vfs_setxattr and vfs_removexattr (and from 6.2 the
 * POSIX ACL calls beside them) get a dentry only. Every caller that changes
 * a user's attribute (the system calls, io_uring, nfsd) first asks for
 * write access to the mount with mnt_want_write[_file] on the same thread:
 * that mount is remembered per thread and used when it holds the dentry.
 */
FSP_MAP(BPF_MAP_TYPE_LRU_HASH, write_mounts, 4096, __u32 /* thread id */, __u64 /* struct vfsmount * */);

/* mnt_want_write(mnt) / mnt_want_write_file(file): remembered for an xattr change. */
static __always_inline void fsp_on_want_write(struct vfsmount *mnt)
{
	__u32 tid;
	__u64 value = (__u64)mnt;

	if (!(cfg_event_mask & (1u << FSP_EVENT_SETATTR)))
		return;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&write_mounts, &tid, &value, BPF_ANY);
}

static __always_inline bool fsp_is_xattr_event(struct fsp_pending_short *p)
{
	return p->ev.event_type == FSP_EVENT_SETATTR &&
	       (p->ev.flags & (FSP_SETATTR_XATTR | FSP_SETATTR_XATTR_REMOVE));
}

/* vfs_setxattr / vfs_removexattr / vfs_set_acl / vfs_remove_acl entry. */
static __always_inline void fsp_on_xattr(struct dentry *dentry, const char *name, __u32 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fsp_pending_short *p = fsp_pending_find(tid);
	struct vfsmount *mnt;
	struct fsp_scratch *s;
	__u64 *remembered;

	if (p && p->nest > 0) {
		/*
		 * Inside another call of this thread: overlayfs passing the
		 * change on to its upper layer (one more level of it), or
		 * copying a file's attributes up for a setattr (the kernel's
		 * doing, not a change the caller asked for).
		 */
		if (fsp_is_xattr_event(p))
			p->nest++;
		return;
	}
	remembered = bpf_map_lookup_elem(&write_mounts, &tid);
	if (!remembered)
		return;
	mnt = (struct vfsmount *)*remembered;
	/* Used once: a later change must not find a mount left from this one. */
	bpf_map_delete_elem(&write_mounts, &tid);
	/*
	 * An internal mount: overlayfs changing its upper layer through its
	 * private clone of it, as when a copy-up (for an open, say) copies a
	 * file's attributes; the kernel's doing, not the caller's.
	 */
	if (FSP_READ(mnt, mnt_sb) != FSP_READ(dentry, d_sb) || fsp_is_internal_mount(mnt))
		return;
	if (fsp_vfs_discard_staged(FSP_EVENT_SETATTR, dentry, mnt, NULL, NULL))
		return;
	s = fsp_vfs_begin(FSP_EVENT_SETATTR);
	if (!s)
		return;
	s->p.rec.ev.flags = kind;
	s->p.nest = 1; /* this call itself */
	if (!fsp_vfs_paths(s, dentry, mnt, NULL, NULL)) {
		fsp_vfs_stage(s, false);
		return;
	}
	fsp_event_add_xattr_name(&s->p.rec, name, false);
	fsp_vfs_stage(s, true);
}

/* Their exit: only an xattr change's own, never another setattr's. */
static __always_inline void fsp_vfs_finish_xattr(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fsp_pending_short *p = fsp_pending_find(tid);

	if (p && fsp_is_xattr_event(p))
		fsp_vfs_finish(FSP_EVENT_SETATTR, ret);
}

/*
 * GCC may split a function and call its second half directly from the same
 * file: 5.10's do_rmdir() calls "vfs_rmdir.part.0", never vfs_rmdir(). Such
 * parts have no BTF (no trampoline), so both VFS backends follow them with
 * these kprobes, attached by user space when the kernel has the symbol.
 */
#define FSP_SPLIT_PART_PROBES(prefix, fn, type)                  \
	SEC("kprobe")                                            \
	int BPF_KPROBE(prefix##fn##_part_in)                     \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_enter(type);                             \
		return 0;                                        \
	}                                                        \
	SEC("kretprobe")                                         \
	int BPF_KRETPROBE(prefix##fn##_part_ret, long ret)       \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_finish(type, fsp_int_result(ret));       \
		return 0;                                        \
	}

#endif /* FSP_BACKEND_VFS_BPF_H */
