/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Task helpers: file descriptor lookup, working directory, syscall ABI. */
#ifndef FSP_TASK_BPF_H
#define FSP_TASK_BPF_H

#include "common.bpf.h"

/* The struct file behind fd in task's table, or NULL. */
static __always_inline struct file *fsp_task_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt;
	struct file **fda;
	struct file *f = NULL;
	unsigned int max_fds;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	max_fds = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max_fds)
		return NULL;
	fda = BPF_CORE_READ(fdt, fd);
	if (!fda)
		return NULL;
	/* A direct BTF read of fdt->fd[fd] is refused on 6.18: go through probe_read. */
	if (bpf_probe_read_kernel(&f, sizeof(f), &fda[fd]) < 0)
		return NULL;
	return f;
}

/* real_mount(): the struct mount that embeds a struct vfsmount. */
static __always_inline struct mount *fsp_real_mount(struct vfsmount *vfsmnt)
{
	if (!vfsmnt)
		return NULL;
	return (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/*
 * True while the current syscall is a 32-bit (ia32) one: its orig_ax is an
 * ia32 number that must not be read through the x86_64 table.
 */
static __always_inline bool fsp_in_compat_syscall(struct task_struct *task)
{
	if (bpf_core_field_exists(task->thread_info.status)) {
		__u32 status = BPF_CORE_READ(task, thread_info.status);
		return status & FSP_TS_COMPAT;
	}
	return false;
}

#endif /* FSP_TASK_BPF_H */
