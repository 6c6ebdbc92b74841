/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracepoint backend's decode table: which operation a system call that
 * just returned is, and where its paths come from (an fd, or a dirfd plus
 * the caller's string), read from its registers.
 */
#ifndef FSP_TP_DECODE_BPF_H
#define FSP_TP_DECODE_BPF_H

#include "../lib/common.bpf.h"
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

#endif /* FSP_TP_DECODE_BPF_H */
