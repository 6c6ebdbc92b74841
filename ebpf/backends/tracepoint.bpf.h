/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracepoint backend: one program on tp_btf/sys_exit decodes the x86_64
 * file-system syscalls that just returned, resolves their paths (fully from
 * a file descriptor, or as "base directory + caller string" for path-based
 * calls), applies the in-kernel watch filter and emits the event.
 *
 * Reported: successes and failures alike (retval carries -errno), as long
 * as the path can be located: an fd that no longer resolves (EBADF, closed
 * by another thread) drops the event. Modify events are reported only for
 * regular files. Not seen by this backend: io_uring, writes through mmap.
 */
#ifndef FSP_BACKEND_TRACEPOINT_BPF_H
#define FSP_BACKEND_TRACEPOINT_BPF_H

#include "../lib/common.bpf.h"
#include "../lib/task.bpf.h"
#include "../lib/path.bpf.h"
#include "../lib/context.bpf.h"
#include "../lib/caller.bpf.h"
#include "../lib/event.bpf.h"
#include "../lib/syscalls.bpf.h"

/* How a path of the event is found. */
enum fsp_src_kind {
	FSP_SRC_NONE = 0,
	FSP_SRC_FD = 1,   /* fd: the open file itself */
	FSP_SRC_AT = 2,   /* dirfd (or AT_FDCWD) + caller string */
};

struct fsp_src {
	__u32 kind;       /* enum fsp_src_kind */
	int fd;           /* fd or dirfd */
	const char *str;  /* caller string for FSP_SRC_AT */
	struct file *file;/* FSP_SRC_FD: the open file, once looked up */
};

struct fsp_op {
	__u32 type;       /* enum fsp_event_type */
	__u32 flags;
	__u32 mode;
	__u32 need_reg;   /* drop unless the fd is a regular file (modify) */
	struct fsp_src src;
	struct fsp_src target;
	const char *xattr_name; /* the caller's string, for the FSP_SETATTR_XATTR* kinds */
};

/* Data room kept for the target's base fragments when the source walks first. */
#define FSP_TARGET_RESERVE 1024

/* The tracepoint's regs is a BTF pointer: its fields are plain loads. */
#define ARG(regs, r) ((regs)->r)

static __always_inline void fsp_set_at(struct fsp_src *s, long dirfd, long str)
{
	s->kind = FSP_SRC_AT;
	s->fd = (int)dirfd;
	s->str = (const char *)str;
}

static __always_inline void fsp_set_fd(struct fsp_src *s, long fd)
{
	s->kind = FSP_SRC_FD;
	s->fd = (int)fd;
}

/* An xattr call's kind (set or remove, XATTR_CREATE/REPLACE) and name. */
static __always_inline bool fsp_decode_xattr(struct fsp_op *op, long nr, long name, long flags)
{
	bool set = nr == FSP_NR_setxattr || nr == FSP_NR_lsetxattr || nr == FSP_NR_fsetxattr ||
		   nr == FSP_NR_setxattrat;

	op->type = FSP_EVENT_SETATTR;
	op->flags = set ? fsp_xattr_set_kind(flags) : FSP_SETATTR_XATTR_REMOVE;
	op->xattr_name = (const char *)name;
	return true;
}

/* Map a syscall to an operation. Returns false for uninteresting ones. */
static __always_inline bool fsp_decode(struct pt_regs *regs, long nr, long ret, struct fsp_op *op)
{
	switch (nr) {
	/* ---- open ---- */
	case FSP_NR_open:
		op->type = FSP_EVENT_OPEN;
		op->flags = ARG(regs, si);
		op->mode = ARG(regs, dx);
		if (ret >= 0)
			fsp_set_fd(&op->src, ret);
		else
			fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_creat:
		op->type = FSP_EVENT_OPEN;
		op->flags = FSP_O_CREAT | FSP_O_WRONLY | FSP_O_TRUNC;
		op->mode = ARG(regs, si);
		if (ret >= 0)
			fsp_set_fd(&op->src, ret);
		else
			fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_openat:
	case FSP_NR_openat2:
		op->type = FSP_EVENT_OPEN;
		if (nr == FSP_NR_openat) {
			op->flags = ARG(regs, dx);
			op->mode = ARG(regs, r10);
		} else {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (void *)ARG(regs, dx));
			op->flags = how.flags;
			op->mode = how.mode;
		}
		if (ret >= 0)
			fsp_set_fd(&op->src, ret);
		else
			fsp_set_at(&op->src, ARG(regs, di), ARG(regs, si));
		return true;

	/* ---- mkdir ---- */
	case FSP_NR_mkdir:
		op->type = FSP_EVENT_MKDIR;
		op->mode = ARG(regs, si);
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_mkdirat:
		op->type = FSP_EVENT_MKDIR;
		op->mode = ARG(regs, dx);
		fsp_set_at(&op->src, ARG(regs, di), ARG(regs, si));
		return true;

	/* ---- link ---- */
	case FSP_NR_link:
		op->type = FSP_EVENT_LINK;
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		fsp_set_at(&op->target, FSP_AT_FDCWD, ARG(regs, si));
		return true;
	case FSP_NR_linkat:
		op->type = FSP_EVENT_LINK;
		op->flags = ARG(regs, r8);
		fsp_set_at(&op->src, ARG(regs, di), ARG(regs, si));
		fsp_set_at(&op->target, ARG(regs, dx), ARG(regs, r10));
		return true;

	/* ---- rename ---- */
	case FSP_NR_rename:
		op->type = FSP_EVENT_RENAME;
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		fsp_set_at(&op->target, FSP_AT_FDCWD, ARG(regs, si));
		return true;
	case FSP_NR_renameat:
	case FSP_NR_renameat2:
		op->type = FSP_EVENT_RENAME;
		/* Bits the kernel marks renames with are not the caller's to set
		 * (renameat2 refuses them: EINVAL, still reported). */
		if (nr == FSP_NR_renameat2)
			op->flags = ARG(regs, r8) & ~FSP_RENAME_KERNEL_MARKS;
		fsp_set_at(&op->src, ARG(regs, di), ARG(regs, si));
		fsp_set_at(&op->target, ARG(regs, dx), ARG(regs, r10));
		return true;

	/* ---- setattr ---- */
	case FSP_NR_chmod:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_MODE;
		op->mode = ARG(regs, si);
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_fchmodat:
	case FSP_NR_fchmodat2:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_MODE;
		op->mode = ARG(regs, dx);
		fsp_set_at(&op->src, ARG(regs, di), ARG(regs, si));
		return true;
	case FSP_NR_fchmod:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_MODE;
		op->mode = ARG(regs, si);
		fsp_set_fd(&op->src, ARG(regs, di));
		return true;
	case FSP_NR_chown:
	case FSP_NR_lchown:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_OWNER;
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_fchownat:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_OWNER;
		fsp_set_at(&op->src, ARG(regs, di), ARG(regs, si));
		return true;
	case FSP_NR_fchown:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_OWNER;
		fsp_set_fd(&op->src, ARG(regs, di));
		return true;
	case FSP_NR_truncate:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_SIZE;
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_ftruncate:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_SIZE;
		fsp_set_fd(&op->src, ARG(regs, di));
		return true;
	case FSP_NR_utime:
	case FSP_NR_utimes:
		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_TIMES;
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_futimesat:
	case FSP_NR_utimensat: {
		long path = ARG(regs, si);

		op->type = FSP_EVENT_SETATTR;
		op->flags = FSP_SETATTR_TIMES;
		if (path)
			fsp_set_at(&op->src, ARG(regs, di), path);
		else
			fsp_set_fd(&op->src, ARG(regs, di)); /* NULL path: dirfd itself */
		return true;
	}

	/* ---- extended attributes (setattr) ---- */
	case FSP_NR_setxattr:
	case FSP_NR_lsetxattr:
	case FSP_NR_removexattr:
	case FSP_NR_lremovexattr:
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return fsp_decode_xattr(op, nr, ARG(regs, si), ARG(regs, r8));
	case FSP_NR_fsetxattr:
	case FSP_NR_fremovexattr:
		fsp_set_fd(&op->src, ARG(regs, di));
		return fsp_decode_xattr(op, nr, ARG(regs, si), ARG(regs, r8));
	case FSP_NR_setxattrat:
	case FSP_NR_removexattrat: {
		/* (dirfd, path, at_flags, name, struct xattr_args *, size) */
		long path = ARG(regs, si), args = ARG(regs, r8);
		__u32 xflags = 0;
		char c0 = 0;

		if (path)
			bpf_probe_read_user(&c0, 1, (const void *)path);
		if (!c0 && (ARG(regs, dx) & FSP_AT_EMPTY_PATH))
			fsp_set_fd(&op->src, ARG(regs, di)); /* "" + AT_EMPTY_PATH: dirfd itself */
		else
			fsp_set_at(&op->src, ARG(regs, di), path);
		/* struct xattr_args { __aligned_u64 value; __u32 size; __u32 flags; } */
		if (nr == FSP_NR_setxattrat && args)
			bpf_probe_read_user(&xflags, sizeof(xflags), (const void *)(args + 12));
		return fsp_decode_xattr(op, nr, ARG(regs, r10), xflags);
	}

	/* ---- unlink / rmdir ---- */
	case FSP_NR_unlink:
		op->type = FSP_EVENT_UNLINK;
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_rmdir:
		op->type = FSP_EVENT_RMDIR;
		fsp_set_at(&op->src, FSP_AT_FDCWD, ARG(regs, di));
		return true;
	case FSP_NR_unlinkat:
		op->flags = ARG(regs, dx);
		op->type = (op->flags & FSP_AT_REMOVEDIR) ? FSP_EVENT_RMDIR : FSP_EVENT_UNLINK;
		fsp_set_at(&op->src, ARG(regs, di), ARG(regs, si));
		return true;

	/* ---- modify (regular files only) ---- */
	case FSP_NR_write:
	case FSP_NR_pwrite64:
	case FSP_NR_writev:
	case FSP_NR_pwritev:
		op->type = FSP_EVENT_MODIFY;
		op->need_reg = 1;
		fsp_set_fd(&op->src, ARG(regs, di));
		return true;
	case FSP_NR_pwritev2:
		op->type = FSP_EVENT_MODIFY;
		op->need_reg = 1;
		op->flags = ARG(regs, r8); /* RWF_* */
		fsp_set_fd(&op->src, ARG(regs, di));
		return true;
	case FSP_NR_fallocate:
		op->type = FSP_EVENT_MODIFY;
		op->need_reg = 1;
		op->flags = ARG(regs, si); /* FALLOC_FL_* */
		fsp_set_fd(&op->src, ARG(regs, di));
		return true;
	case FSP_NR_sendfile:
		op->type = FSP_EVENT_MODIFY;
		op->need_reg = 1;
		fsp_set_fd(&op->src, ARG(regs, di)); /* out_fd */
		return true;
	case FSP_NR_copy_file_range:
		op->type = FSP_EVENT_MODIFY;
		op->need_reg = 1;
		fsp_set_fd(&op->src, ARG(regs, dx)); /* fd_out */
		return true;
	}
	return false;
}

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
	 * chroot or a container that root is not the namespace's.
	 */
	fsp_walk_into(s, p, dentry, vfsmnt, off, limit, cfg_recursive ? FSP_LEVEL_ANY : 0, 0);
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

/* utimensat's special nanosecond values (include/uapi/linux/stat.h). */
#define FSP_UTIME_NOW  ((1L << 30) - 1L)
#define FSP_UTIME_OMIT ((1L << 30) - 2L)

/*
 * One time of utimes or utimensat: {seconds, sub} in user memory, sub in
 * nanoseconds (unit 1) or microseconds (1000); utimensat's special values
 * mean "now" and "leave it". set/now are the FSP_ATTR_* bits.
 */
static __always_inline void fsp_tp_time(struct fsp_attr_values *a, const void *user, long unit,
					__s64 *sec, __u32 *nsec, __u32 set, __u32 now)
{
	long t[2];

	if (bpf_probe_read_user(t, sizeof(t), user) < 0)
		return;
	if (unit == 1 && t[1] == FSP_UTIME_OMIT)
		return;
	if (unit == 1 && t[1] == FSP_UTIME_NOW) {
		a->valid |= now;
		return;
	}
	*sec = t[0];
	*nsec = (__u32)(t[1] * unit);
	a->valid |= set;
}

/* Both times of utimes or utimensat (each `size` bytes): NULL sets both to now. */
static __always_inline void fsp_tp_times(struct fsp_attr_values *a, long user, long size, long unit)
{
	if (!user) {
		a->valid |= FSP_ATTR_ATIME_NOW | FSP_ATTR_MTIME_NOW;
		return;
	}
	fsp_tp_time(a, (const void *)user, unit, &a->atime_sec, &a->atime_nsec, FSP_ATTR_ATIME, FSP_ATTR_ATIME_NOW);
	fsp_tp_time(a, (const void *)(user + size), unit, &a->mtime_sec, &a->mtime_nsec, FSP_ATTR_MTIME,
		    FSP_ATTR_MTIME_NOW);
}

/* chown's ids: (uid_t)-1 leaves one as it is. */
static __always_inline void fsp_tp_owner(struct fsp_attr_values *a, __u32 uid, __u32 gid)
{
	if (uid != 0xffffffffu) {
		a->uid = uid;
		a->valid |= FSP_ATTR_UID;
	}
	if (gid != 0xffffffffu) {
		a->gid = gid;
		a->valid |= FSP_ATTR_GID;
	}
}

/* What a setattr system call asks to set, from its arguments. */
static __always_inline void fsp_tp_attr(struct pt_regs *regs, long nr, __u32 mode, struct fsp_attr_values *a)
{
	__builtin_memset(a, 0, sizeof(*a));
	switch (nr) {
	case FSP_NR_chmod:
	case FSP_NR_fchmod:
	case FSP_NR_fchmodat:
	case FSP_NR_fchmodat2:
		a->mode = mode;
		a->valid = FSP_ATTR_MODE;
		break;
	case FSP_NR_chown:
	case FSP_NR_lchown:
	case FSP_NR_fchown:
		fsp_tp_owner(a, ARG(regs, si), ARG(regs, dx));
		break;
	case FSP_NR_fchownat:
		fsp_tp_owner(a, ARG(regs, dx), ARG(regs, r10));
		break;
	case FSP_NR_truncate:
	case FSP_NR_ftruncate:
		a->size = ARG(regs, si);
		a->valid = FSP_ATTR_SIZE;
		break;
	case FSP_NR_utime: { /* struct utimbuf: access and modification seconds */
		long user = ARG(regs, si), t[2];

		if (!user)
			a->valid = FSP_ATTR_ATIME_NOW | FSP_ATTR_MTIME_NOW;
		else if (bpf_probe_read_user(t, sizeof(t), (const void *)user) == 0) {
			a->atime_sec = t[0];
			a->mtime_sec = t[1];
			a->valid = FSP_ATTR_ATIME | FSP_ATTR_MTIME;
		}
		break;
	}
	case FSP_NR_utimes: /* struct timeval[2]: seconds, microseconds */
		fsp_tp_times(a, ARG(regs, si), 2 * sizeof(long), 1000);
		break;
	case FSP_NR_futimesat:
		fsp_tp_times(a, ARG(regs, dx), 2 * sizeof(long), 1000);
		break;
	case FSP_NR_utimensat: /* struct timespec[2] */
		fsp_tp_times(a, ARG(regs, dx), 2 * sizeof(long), 1);
		break;
	}
}

/*
 * Calls that may move or remove a directory bump the cache epoch from
 * their entry to their exit (see lib/cache.bpf.h). Both programs run for
 * every syscall of every task: their first test, one load from the table
 * of lib/syscalls.bpf.h, lets every call fsprobe has no use for go.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(fsp_tp_sys_enter, struct pt_regs *regs, long id)
{
	long nr = id & ~(long)FSP_X32_SYSCALL_BIT;
	__u32 kind = fsp_syscall_kind_of(nr);

	if (cfg_empty_programs || !(kind & (FSP_SC_MOVES | FSP_SC_MOVES32)))
		return 0;
	if (fsp_moves_directories(nr, kind, fsp_current_in_compat(), regs))
		fsp_epoch_enter();
	return 0;
}

/*
 * A system call that may be reported, as sys_exit decoded it: what
 * fsp_tp_report needs besides the scratch event. Per CPU, like the scratch.
 */
struct fsp_tp_call {
	struct fsp_op op;
	struct fsp_attr_values attr; /* FSP_EVENT_SETATTR: what it sets */
	long nr;
	long ret;
	__u64 pid_tgid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fsp_tp_call);
} tp_calls SEC(".maps");

/*
 * Build and filter the event of the call in tp_calls, in scratch; 1 when
 * it is kept. Global (not static): the verifier checks it once, on its
 * own, instead of once for each of the calls fsp_decode tells apart, which
 * would pass its limit. The caller adds the context: called from here, its
 * walk would make the stack of nested calls too deep.
 */
__noinline int fsp_tp_build(__u32 tgid)
{
	__u32 zero = 0, off = 0, limit;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fsp_tp_call *c = bpf_map_lookup_elem(&tp_calls, &zero);
	struct fsp_scratch *s = fsp_scratch_get();
	int v_src, v_tgt = FSP_V_NO;
	struct fsp_op *op;

	if (!c || !s)
		return 0;
	op = &c->op;
	/* Source path; when there is a target, keep room for it. */
	limit = FSP_DATA_SIZE;
	if (op->src.kind == FSP_SRC_AT)
		limit -= FSP_CALLER_MAX;
	if (op->target.kind != FSP_SRC_NONE)
		limit -= FSP_CALLER_MAX + FSP_TARGET_RESERVE;
	v_src = fsp_fill(s, &s->p.rec.ev.src, task, &op->src, &off, limit, &s->walk, &s->scan);
	if (v_src < 0)
		return 0;
	if (op->target.kind != FSP_SRC_NONE) {
		limit = FSP_DATA_SIZE;
		if (op->target.kind == FSP_SRC_AT)
			limit -= FSP_CALLER_MAX;
		v_tgt = fsp_fill(s, &s->p.rec.ev.target, task, &op->target, &off, limit, &s->walk, &s->scan);
		if (v_tgt < 0)
			return 0;
	} else {
		fsp_path_clear(&s->p.rec.ev.target);
	}

	if (!fsp_filter_verdicts(&s->p.rec.ev, v_src, v_tgt))
		return 0;
	fsp_event_set_task(&s->p.rec.ev, op->type, c->pid_tgid);
	s->p.rec.ev.flags = op->flags;
	s->p.rec.ev.mode = op->mode;
	s->p.rec.ev.syscall_nr = c->nr;
	s->p.rec.ev.retval = c->ret;
	s->p.rec.ev.data_len = off;
	if (op->type == FSP_EVENT_SETATTR) {
		s->p.rec.ev.attr = c->attr;
	} else {
		__builtin_memset(&s->p.rec.ev.attr, 0, sizeof(s->p.rec.ev.attr));
		/* The write family returns the bytes written (fallocate: 0, no count). */
		if (op->type == FSP_EVENT_MODIFY && c->ret >= 0 && c->nr != FSP_NR_fallocate) {
			s->p.rec.ev.attr.size = c->ret;
			s->p.rec.ev.attr.valid = FSP_ATTR_SIZE;
		}
	}
	return tgid != 0 || c->pid_tgid == 0; /* tgid only keeps the argument set: see fsp_context_add */
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fsp_tp_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 kind, zero = 0;
	struct fsp_scratch *s;
	struct fsp_tp_call *c;
	__u64 pid_tgid;
	bool compat;
	long nr;

	if (cfg_empty_programs)
		return 0;
	/* A direct (BTF) load: no helper call before the first test. */
	nr = regs->orig_ax & ~(long)FSP_X32_SYSCALL_BIT;
	kind = fsp_syscall_kind_of(nr);
	if (!(kind & (FSP_HOOKED_MASK | FSP_SC_MOVES | FSP_SC_MOVES32)))
		return 0;
	if (kind & (FSP_SC_MOVES | FSP_SC_MOVES32)) {
		compat = fsp_current_in_compat();
		if (fsp_moves_directories(nr, kind, compat, regs))
			fsp_epoch_exit();
		if (compat)
			return 0;
	}
	if (!(kind & FSP_HOOKED_MASK))
		return 0;
	c = bpf_map_lookup_elem(&tp_calls, &zero);
	if (!c)
		return 0;
	__builtin_memset(&c->op, 0, sizeof(c->op));
	/*
	 * The cheapest exits first: a discarder (fsp_src_file) may drop the
	 * event before the checks below, which only ever drop events too. An
	 * ia32 call read through the x86_64 table may reach fsp_src_file with
	 * meaningless arguments: it only reads, and is dropped just after.
	 */
	if (!fsp_decode(regs, nr, ret, &c->op))
		return 0;
	if (c->op.type >= FSP_EVENT_TYPE_COUNT || !(FSP_HOOKED_MASK & (1u << c->op.type)))
		return 0;
	/*
	 * A rename hooked only for --follow: here user space follows, from
	 * the event (the paths are the caller's strings, placed after the
	 * move), so it gets the renames that moved something, marked.
	 */
	if (!(cfg_event_mask & (1u << c->op.type))) {
		if (ret != 0)
			return 0;
		c->op.flags |= FSP_RENAME_UNSELECTED;
	}
	if (c->op.src.kind == FSP_SRC_FD && !fsp_src_file(&c->op.src, c->op.need_reg))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (cfg_self_tgid && (__u32)(pid_tgid >> 32) == cfg_self_tgid)
		return 0;
	if (!(kind & (FSP_SC_MOVES | FSP_SC_MOVES32)) && fsp_current_in_compat())
		return 0;
	c->nr = nr;
	c->ret = ret;
	c->pid_tgid = pid_tgid;
	if (c->op.type == FSP_EVENT_SETATTR)
		fsp_tp_attr(regs, nr, c->op.mode, &c->attr);
	if (!fsp_tp_build(pid_tgid >> 32))
		return 0;
	s = fsp_scratch_get();
	if (!s)
		return 0;
	fsp_event_add_context(s);
	if (c->op.xattr_name)
		fsp_event_add_xattr_name(&s->p.rec, c->op.xattr_name, true);
	fsp_emit(&s->p.rec);
	return 0;
}

#endif /* FSP_BACKEND_TRACEPOINT_BPF_H */
