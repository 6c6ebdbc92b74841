/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kprobe backend: the hooks of hooks.bpf.h as kprobes, and the exits of
 * the vfs_* calls as kretprobes, for kernels that have kprobes but refuse
 * BPF trampolines. Results come from the return register, so prototype
 * changes do not matter here.
 */
#ifndef FSP_BACKEND_KPROBE_BPF_H
#define FSP_BACKEND_KPROBE_BPF_H

#include "hooks.bpf.h"

/*
 * An open's path and flags are kept at the entry: a kretprobe sees the
 * result only. Where they are kept: fsp_opening_keep (__ts from 5.12, __hm
 * before).
 */
#define FSP_KP_OPEN(suffix, in_slot)                             \
	SEC("kprobe/vfs_open")                                   \
	int BPF_KPROBE(fsp_kp_open__##suffix, const struct path *path, struct file *file) \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_on_open(path, file, in_slot);                \
		return 0;                                        \
	}                                                        \
	SEC("kretprobe/vfs_open")                                \
	int BPF_KRETPROBE(fsp_kp_open_ret__##suffix, long ret)   \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_open_finish(fsp_int_result(ret), in_slot);   \
		return 0;                                        \
	}

FSP_KP_OPEN(ts, true)
FSP_KP_OPEN(hm, false)

#define FSP_KP_CALL(fn, type, result)                            \
	SEC("kprobe/" #fn)                                       \
	int BPF_KPROBE(fsp_kp_##fn##_in)                         \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_enter(type);                             \
		return 0;                                        \
	}                                                        \
	SEC("kretprobe/" #fn)                                    \
	int BPF_KRETPROBE(fsp_kp_##fn##_ret, long ret)           \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_finish(type, result(ret));               \
		return 0;                                        \
	}

FSP_KP_CALL(vfs_mkdir, FSP_EVENT_MKDIR, fsp_mkdir_result)
FSP_KP_CALL(vfs_rmdir, FSP_EVENT_RMDIR, fsp_int_result)
FSP_KP_CALL(vfs_unlink, FSP_EVENT_UNLINK, fsp_int_result)
/* A directory about to move makes cached paths stale: see lib/cache.bpf.h. */
SEC("kprobe/vfs_rename")
int BPF_KPROBE(fsp_kp_vfs_rename_in, struct renamedata *rd)
{
	FSP_EMPTY_EXIT();
	fsp_epoch_rename_enter(rd);
	fsp_vfs_enter(FSP_EVENT_RENAME);
	return 0;
}

SEC("kretprobe/vfs_rename")
int BPF_KRETPROBE(fsp_kp_vfs_rename_ret, long ret)
{
	FSP_EMPTY_EXIT();
	fsp_vfs_finish(FSP_EVENT_RENAME, fsp_int_result(ret));
	return 0;
}
FSP_KP_CALL(vfs_link, FSP_EVENT_LINK, fsp_int_result)
/*
 * notify_change(dentry, iattr, deleg) on 5.10, (idmap, dentry, iattr, deleg)
 * after: one program per signature, user space attaches the one that fits.
 */
#define FSP_KP_NOTIFY_CHANGE_IN(suffix, ...)                     \
	SEC("kprobe/notify_change")                              \
	int BPF_KPROBE(fsp_kp_notify_change_in__##suffix, __VA_ARGS__) \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_enter_setattr(ia);                       \
		return 0;                                        \
	}
FSP_KP_NOTIFY_CHANGE_IN(a3, void *dentry, struct iattr *ia)
FSP_KP_NOTIFY_CHANGE_IN(a4, void *idmap, void *dentry, struct iattr *ia)
SEC("kretprobe/notify_change")
int BPF_KRETPROBE(fsp_kp_notify_change_ret, long ret)
{
	FSP_EMPTY_EXIT();
	fsp_vfs_finish(FSP_EVENT_SETATTR, fsp_int_result(ret));
	return 0;
}

#define FSP_KP_XATTR_EXIT(fn, suffix)                            \
	SEC("kretprobe/" #fn)                                    \
	int BPF_KRETPROBE(fsp_kp_##fn##_ret##suffix, long ret)   \
	{                                                        \
		FSP_EMPTY_EXIT();                                \
		fsp_vfs_finish_xattr(fsp_int_result(ret));       \
		return 0;                                        \
	}

FSP_KP_XATTR_EXIT(vfs_setxattr, )
FSP_KP_XATTR_EXIT(vfs_removexattr, )
FSP_KP_XATTR_EXIT(vfs_set_acl, __opt)
FSP_KP_XATTR_EXIT(vfs_remove_acl, __opt)

FSP_SPLIT_PART_PROBES(fsp_kp_, vfs_rmdir, FSP_EVENT_RMDIR)

#endif /* FSP_BACKEND_KPROBE_BPF_H */
