/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The fentry backend: the hooks of hooks.bpf.h as fentry programs, and the
 * exits of the vfs_* calls as fexit programs.
 *
 * An fexit program reads the return value in the slot after the last
 * argument, and the number of arguments of vfs_mkdir and friends changed
 * (5.12 added the user namespace, later the idmap, as first argument). So
 * each exit comes in variants named __aN, N being the number of arguments
 * it expects; user space loads the one matching the running kernel's BTF.
 * Programs named __opt hook functions some supported kernels lack; __kpalt
 * marks a kprobe standing in where a trampoline cannot attach.
 */
#ifndef FSP_BACKEND_FENTRY_BPF_H
#define FSP_BACKEND_FENTRY_BPF_H

#include "hooks.bpf.h"

/*
 * An open is built at the exit, from vfs_open's arguments (see struct
 * fsp_opening); what the entry keeps goes to task storage (__ts, 5.12+) or
 * a map (__hm): fsp_opening_keep.
 */
#define FSP_FE_OPEN(suffix, in_slot)                             \
	SEC("fentry/vfs_open")                                   \
	int BPF_PROG(fsp_fe_open__##suffix, const struct path *path, struct file *file) \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_on_open_enter(path, file, in_slot);          \
		return 0;                                        \
	}                                                        \
	SEC("fexit/vfs_open")                                    \
	int BPF_PROG(fsp_fe_open_ret__##suffix, const struct path *path, struct file *file, int ret) \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_on_open_exit(path, file, ret, in_slot);      \
		return 0;                                        \
	}

FSP_FE_OPEN(ts, true)
FSP_FE_OPEN(hm, false)

#define FSP_FE_ENTER(fn, type)                                   \
	SEC("fentry/" #fn)                                       \
	int BPF_PROG(fsp_fe_##fn##_in)                           \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_enter(type);                             \
		return 0;                                        \
	}

/* Exit variant for a prototype of n arguments; the result is ctx[n]. */
#define FSP_FE_EXIT(fn, type, n, result)                          \
	SEC("fexit/" #fn)                                        \
	int fsp_fe_##fn##_ret__a##n(unsigned long long *ctx)     \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_finish(type, result(ctx[n]));            \
		return 0;                                        \
	}

FSP_FE_ENTER(vfs_mkdir, FSP_EVENT_MKDIR)
FSP_FE_ENTER(vfs_rmdir, FSP_EVENT_RMDIR)
FSP_FE_ENTER(vfs_unlink, FSP_EVENT_UNLINK)
/* A directory about to move makes cached paths stale: see lib/cache.bpf.h. */
SEC("fentry/vfs_rename")
int BPF_PROG(fsp_fe_vfs_rename_in, struct renamedata *rd)
{
	FSP_EMPTY_EXIT();
	fsp_epoch_rename_enter(rd);
	fsp_vfs_enter(FSP_EVENT_RENAME);
	return 0;
}
FSP_FE_ENTER(vfs_link, FSP_EVENT_LINK)
/* notify_change(dentry, iattr, deleg) on 5.10, (idmap, dentry, iattr, deleg) after. */
SEC("fentry/notify_change")
int fsp_fe_notify_change_in__a3(unsigned long long *ctx)
{
	FSP_EMPTY_EXIT();
	fsp_vfs_enter_setattr((struct iattr *)ctx[1]);
	return 0;
}
SEC("fentry/notify_change")
int fsp_fe_notify_change_in__a4(unsigned long long *ctx)
{
	FSP_EMPTY_EXIT();
	fsp_vfs_enter_setattr((struct iattr *)ctx[2]);
	return 0;
}

FSP_FE_EXIT(vfs_mkdir, FSP_EVENT_MKDIR, 3, fsp_mkdir_result)      /* 5.10 */
FSP_FE_EXIT(vfs_mkdir, FSP_EVENT_MKDIR, 4, fsp_mkdir_result)      /* 5.12+ */
FSP_FE_EXIT(vfs_rmdir, FSP_EVENT_RMDIR, 2, fsp_int_result)
FSP_FE_EXIT(vfs_rmdir, FSP_EVENT_RMDIR, 3, fsp_int_result)
FSP_FE_EXIT(vfs_unlink, FSP_EVENT_UNLINK, 3, fsp_int_result)
FSP_FE_EXIT(vfs_unlink, FSP_EVENT_UNLINK, 4, fsp_int_result)
FSP_FE_EXIT(vfs_rename, FSP_EVENT_RENAME, 1, fsp_int_result)      /* struct renamedata * */
FSP_FE_EXIT(vfs_link, FSP_EVENT_LINK, 4, fsp_int_result)
FSP_FE_EXIT(vfs_link, FSP_EVENT_LINK, 5, fsp_int_result)
FSP_FE_EXIT(notify_change, FSP_EVENT_SETATTR, 3, fsp_int_result)
FSP_FE_EXIT(notify_change, FSP_EVENT_SETATTR, 4, fsp_int_result)

/* The xattr calls' exits: the result follows their n arguments. */
#define FSP_FE_XATTR_EXIT(fn, suffix, n)                         \
	SEC("fexit/" #fn)                                        \
	int fsp_fe_##fn##_ret##suffix(unsigned long long *ctx)   \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_finish_xattr(fsp_int_result(ctx[n]));    \
		return 0;                                        \
	}

FSP_FE_XATTR_EXIT(vfs_setxattr, __a5, 5)
FSP_FE_XATTR_EXIT(vfs_setxattr, __a6, 6)
FSP_FE_XATTR_EXIT(vfs_removexattr, __a2, 2)
FSP_FE_XATTR_EXIT(vfs_removexattr, __a3, 3)
FSP_FE_XATTR_EXIT(vfs_set_acl, __opt, 4)
FSP_FE_XATTR_EXIT(vfs_remove_acl, __opt, 3)

FSP_SPLIT_PART_PROBES(fsp_fe_, vfs_rmdir, FSP_EVENT_RMDIR)

#endif /* FSP_BACKEND_FENTRY_BPF_H */
