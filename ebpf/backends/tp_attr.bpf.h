/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracepoint backend's setattr values: what a chmod, chown, truncate or
 * utimes family call sets, read from its arguments (the VFS backends read
 * what the kernel applies instead).
 */
#ifndef FSP_TP_ATTR_BPF_H
#define FSP_TP_ATTR_BPF_H

#include "../lib/common.bpf.h"
#include "../lib/syscalls.bpf.h"
#include "tp_decode.bpf.h"

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

#endif /* FSP_TP_ATTR_BPF_H */
