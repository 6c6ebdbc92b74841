/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Task and dentry helpers: file descriptor lookup, syscall ABI, a dentry's links. */
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
	fdt = FSP_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	max_fds = FSP_READ(fdt, max_fds);
	if ((unsigned int)fd >= max_fds)
		return NULL;
	fda = FSP_READ(fdt, fd);
	if (!fda)
		return NULL;
	/* A direct BTF read of fdt->fd[fd] is refused on 6.18: go through probe_read. */
	if (bpf_probe_read_kernel(&f, sizeof(f), &fda[fd]) < 0)
		return NULL;
	return f;
}

/*
 * Whether this kernel has bpf_get_current_task_btf() (5.11+): the current
 * task as a BTF pointer, whose fields are plain loads rather than helper
 * calls. A CO-RE constant: on older kernels the verifier drops the branch
 * that uses it (and the helper it lacks) as dead code.
 */
#define fsp_have_task_btf() bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)

/* fsp_task_file() for the current task, as cheap as this kernel allows. */
static __always_inline struct file *fsp_current_file(int fd)
{
	if (fsp_have_task_btf()) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct fdtable *fdt = task->files->fdt; /* a kernel thread's NULL files reads as 0 */
		struct file *f = NULL;

		if (fd < 0 || !fdt || (unsigned int)fd >= fdt->max_fds)
			return NULL;
		/* fd[] holds pointers: indexing it takes a helper whatever the kernel. */
		if (bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]) < 0)
			return NULL;
		return f;
	}
	return fsp_task_file((struct task_struct *)bpf_get_current_task(), fd);
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
		__u32 status = FSP_READ(task, thread_info.status);
		return status & FSP_TS_COMPAT;
	}
	return false;
}

/* fsp_in_compat_syscall() for the current task, as cheap as this kernel allows. */
static __always_inline bool fsp_current_in_compat(void)
{
	if (fsp_have_task_btf()) {
		struct task_struct *task = bpf_get_current_task_btf();

		if (bpf_core_field_exists(task->thread_info.status))
			return task->thread_info.status & FSP_TS_COMPAT;
		return false;
	}
	return fsp_in_compat_syscall((struct task_struct *)bpf_get_current_task());
}

/* The leading fields of struct dentry the walk needs, in their kernel order. */
struct fsp_dentry_head {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
};

/*
 * Read d_parent, d_name and d_inode: with plain loads where the kernel
 * allows (lib/kread.bpf.h). Otherwise: they have been adjacent, in this
 * order, in struct dentry for a long time (5.10 .. 6.18), and then one
 * bpf_probe_read_kernel does; else (checked with CO-RE) one read each.
 */
static __always_inline void fsp_read_dentry(struct dentry *d, struct fsp_dentry_head *h)
{
	if (fsp_direct_reads()) {
		struct dentry *kd = fsp_btf(d);

		h->d_parent = kd->d_parent;
		h->d_name.hash_len = kd->d_name.hash_len;
		h->d_name.name = kd->d_name.name;
		h->d_inode = kd->d_inode;
		return;
	}
	if (bpf_core_field_offset(struct dentry, d_name) ==
		    bpf_core_field_offset(struct dentry, d_parent) + sizeof(void *) &&
	    bpf_core_field_offset(struct dentry, d_inode) ==
		    bpf_core_field_offset(struct dentry, d_parent) + sizeof(void *) + sizeof(struct qstr) &&
	    bpf_core_type_size(struct qstr) == sizeof(struct qstr)) {
		if (bpf_core_read(h, sizeof(*h), &d->d_parent) == 0)
			return;
		__builtin_memset(h, 0, sizeof(*h));
		return;
	}
	h->d_parent = FSP_READ(d, d_parent);
	bpf_core_read(&h->d_name, sizeof(h->d_name), &d->d_name);
	h->d_inode = FSP_READ(d, d_inode);
}

/*
 * The dentry's own seqcount (d_seq), which d_move bumps around renaming
 * it. Its counter is the first word of d_seq whatever the seqcount flavour.
 */
static __always_inline __u32 fsp_dentry_seq(struct dentry *d)
{
	__u32 seq = 1;

	if (fsp_direct_reads() && bpf_core_field_exists(d->d_seq.seqcount))
		return fsp_btf(d)->d_seq.seqcount.sequence;
	bpf_probe_read_kernel(&seq, sizeof(seq), (void *)d + bpf_core_field_offset(struct dentry, d_seq));
	return seq;
}

/* The dentry's d_flags and d_seq, then the fields fsp_read_dentry reads, in their kernel order. */
struct fsp_dentry_front {
	__u32 d_flags;
	__u32 d_seq;
	__u64 d_hash[2];
	struct fsp_dentry_head head;
};

/*
 * fsp_read_dentry and fsp_dentry_seq, into f's d_seq and head: with plain
 * loads where the kernel allows; else in one read where, as from 5.10 to
 * 6.18 without lock debugging, d_seq's counter directly follows d_flags
 * and d_hash lies between it and d_parent (checked with CO-RE). The
 * caller's f is the read's buffer: no second copy on the small BPF stack.
 */
static __always_inline void fsp_read_dentry_seq(struct dentry *d, struct fsp_dentry_front *f)
{
	if (fsp_direct_reads() && bpf_core_field_exists(d->d_seq.seqcount)) {
		f->d_seq = fsp_btf(d)->d_seq.seqcount.sequence;
		barrier(); /* the counter before the fields it guards */
		fsp_read_dentry(d, &f->head);
		return;
	}
	if (bpf_core_field_offset(struct dentry, d_flags) == 0 &&
	    bpf_core_field_offset(struct dentry, d_seq) == offsetof(struct fsp_dentry_front, d_seq) &&
	    bpf_core_field_offset(struct dentry, d_parent) == offsetof(struct fsp_dentry_front, head) &&
	    bpf_core_field_offset(struct dentry, d_name) ==
		    offsetof(struct fsp_dentry_front, head) + offsetof(struct fsp_dentry_head, d_name) &&
	    bpf_core_field_offset(struct dentry, d_inode) ==
		    offsetof(struct fsp_dentry_front, head) + offsetof(struct fsp_dentry_head, d_inode) &&
	    bpf_core_type_size(struct qstr) == sizeof(struct qstr)) {
		if (bpf_probe_read_kernel(f, sizeof(*f), d) == 0)
			return;
		__builtin_memset(f, 0, sizeof(*f));
		f->d_seq = 1; /* odd: as if torn */
		return;
	}
	f->d_seq = fsp_dentry_seq(d);
	fsp_read_dentry(d, &f->head);
}

#endif /* FSP_TASK_BPF_H */
