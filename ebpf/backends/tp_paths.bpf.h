/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracepoint backend's paths: an operation's fd or dirfd plus string
 * (tp_decode.bpf.h) walked to an event path, with the filter's verdict.
 */
#ifndef FSP_TP_PATHS_BPF_H
#define FSP_TP_PATHS_BPF_H

#include "../lib/common.bpf.h"
#include "../lib/task.bpf.h"
#include "../lib/path.bpf.h"
#include "../lib/caller.bpf.h"
#include "tp_decode.bpf.h"

/*
 * The open file of an FSP_SRC_FD source, looked up once. False to drop the
 * event: the fd is not open, it is not a regular file when need_reg, or it
 * lies in a directory known to hold nothing watched (lib/discard.bpf.h),
 * which is decided here, before anything of the event is built. A call
 * of its own (not inlined): its registers and stack stay off sys_exit's
 * frame, which the deepest chain of calls (sys_exit, fsp_tp_build, the
 * walk) shares with the 512 bytes of BPF stack.
 */
static __noinline bool fsp_src_file(struct fsp_src *src, bool need_reg)
{
	struct file *f = fsp_current_file(src->fd);
	struct path path;

	if (!f)
		return false;
	if (need_reg && !FSP_S_ISREG(FSP_READ(f, f_inode, i_mode)))
		return false;
	path.dentry = FSP_READ(f, f_path.dentry);
	path.mnt = FSP_READ(f, f_path.mnt);
	if (fsp_discarded(path.dentry, path.mnt))
		return false;
	src->file = f;
	return true;
}

/* Fill path p from an open file (fsp_src_file). Returns a verdict. */
static __always_inline int fsp_path_fd(struct fsp_scratch *s, struct fsp_path *p, struct file *f,
				       __u32 *off, __u32 limit)
{
	return fsp_path_walk_learning(s, p, FSP_READ(f, f_path.dentry), FSP_READ(f, f_path.mnt),
				      off, limit);
}

/*
 * Fill path p as base (dirfd / cwd, walked) + caller string (copied).
 * Returns a verdict, or -1 to drop the event (dirfd not open).
 */
static __always_inline int fsp_path_at(struct fsp_scratch *s, struct fsp_path *p,
				       struct task_struct *task, int dirfd, const char *ustr,
				       __u32 *off, __u32 limit, struct fsp_walk *w,
				       struct fsp_scan *sc)
{
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	char c0 = 0;
	bool absolute;
	int v;

	bpf_probe_read_user(&c0, 1, ustr);
	absolute = c0 == '/';

	p->inode = 0;
	p->mode = 0;
	p->offset = *off;
	p->fragments_len = 0;
	p->depth = 0;
	__builtin_memset(&p->learn_key, 0, sizeof(p->learn_key));
	__builtin_memset(&p->learn_stamp, 0, sizeof(p->learn_stamp));
	p->learn_level = 0;
	p->nlink = 0;

	if (absolute) {
		dentry = FSP_READ(task, fs, root.dentry);
		vfsmnt = FSP_READ(task, fs, root.mnt);
	} else if (dirfd == FSP_AT_FDCWD) {
		dentry = FSP_READ(task, fs, pwd.dentry);
		vfsmnt = FSP_READ(task, fs, pwd.mnt);
	} else {
		struct file *f = fsp_task_file(task, dirfd);

		if (!f)
			return -1;
		dentry = FSP_READ(f, f_path.dentry);
		vfsmnt = FSP_READ(f, f_path.mnt);
	}
	p->dev = FSP_READ(dentry, d_sb, s_dev);
	p->mount_id = fsp_mount_id(vfsmnt);

	/*
	 * The base is the object's parent (level 0 of this walk is depth 1),
	 * or for an absolute string the process root: walked too, since in a
	 * chroot or a container that root is not the namespace's. A base
	 * that is a watch's parent makes the object maybe the watch, so its
	 * FSP_WATCH_PARENT entry counts (wants_parent).
	 */
	fsp_walk_into(s, p, dentry, vfsmnt, off, limit, cfg_recursive ? FSP_LEVEL_ANY : 0, 0, true);
	p->flags |= FSP_PATH_CALLER_SUFFIX | (absolute ? FSP_PATH_ABSOLUTE_CALLER : 0);

	fsp_copy_caller(s, p, ustr, off);

	if (!cfg_paths_filtering)
		return FSP_V_YES;
	if (absolute)
		return FSP_V_MAYBE;

	fsp_scan_caller(p, sc);
	/* Certain: base chain watched, and the string cannot leave the scope. */
	if (w->matched && !sc->dotdot && (cfg_recursive || !sc->slash))
		return FSP_V_YES;
	v = FSP_V_NO;
	if (w->matched || sc->dotdot || sc->slash || w->parent_match ||
	    (w->filter && !w->finished))
		v = FSP_V_MAYBE;
	return v;
}

static __always_inline int fsp_fill(struct fsp_scratch *s, struct fsp_path *p,
				    struct task_struct *task, struct fsp_src *src,
				    __u32 *off, __u32 limit, struct fsp_walk *w, struct fsp_scan *sc)
{
	if (src->kind == FSP_SRC_FD)
		return src->file ? fsp_path_fd(s, p, src->file, off, limit) : -1;
	return fsp_path_at(s, p, task, src->fd, src->str, off, limit, w, sc);
}

static __always_inline void fsp_path_clear(struct fsp_path *p)
{
	__builtin_memset(p, 0, sizeof(*p));
}

#endif /* FSP_TP_PATHS_BPF_H */
