/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The hooks of the VFS backends, each defined once and attached two ways:
 * fsp_fe_NAME as an fentry program (BPF trampoline) and fsp_kp_NAME as a
 * kprobe. Both read the function's first N arguments (raw context slots for
 * fentry, registers for kprobes) and run the same fsp_hook_NAME body.
 */
#ifndef FSP_BACKEND_HOOKS_BPF_H
#define FSP_BACKEND_HOOKS_BPF_H

#include "vfs.bpf.h"

#define FSP_FE_ARGS1 ctx[0]
#define FSP_FE_ARGS2 FSP_FE_ARGS1, ctx[1]
#define FSP_FE_ARGS3 FSP_FE_ARGS2, ctx[2]
#define FSP_FE_ARGS4 FSP_FE_ARGS3, ctx[3]
#define FSP_FE_ARGS5 FSP_FE_ARGS4, ctx[4]
#define FSP_FE_ARGS6 FSP_FE_ARGS5, ctx[5]
#define FSP_KP_ARGS1 PT_REGS_PARM1(ctx)
#define FSP_KP_ARGS2 FSP_KP_ARGS1, PT_REGS_PARM2(ctx)
#define FSP_KP_ARGS3 FSP_KP_ARGS2, PT_REGS_PARM3(ctx)
#define FSP_KP_ARGS4 FSP_KP_ARGS3, PT_REGS_PARM4(ctx)
#define FSP_KP_ARGS5 FSP_KP_ARGS4, PT_REGS_PARM5(ctx)
/* x86_64's sixth argument register (this libbpf has no PT_REGS_PARM6). */
#define FSP_KP_ARGS6 FSP_KP_ARGS5, ctx->r9

/* fsp_fe_NAME and fsp_kp_NAME on kernel function fn, passing its first n arguments. */
#define FSP_VFS_HOOK(name, fn, n)                                          \
	SEC("fentry/" #fn)                                                 \
	int fsp_fe_##name(unsigned long long *ctx)                         \
	{                                                                  \
		FSP_EMPTY_EXIT();                                          \
		fsp_hook_##name(FSP_FE_ARGS##n);                           \
		return 0;                                                  \
	}                                                                  \
	SEC("kprobe/" #fn)                                                 \
	int fsp_kp_##name(struct pt_regs *ctx)                             \
	{                                                                  \
		FSP_EMPTY_EXIT();                                          \
		fsp_hook_##name(FSP_KP_ARGS##n);                           \
		return 0;                                                  \
	}

typedef __u64 fsp_arg;

static __always_inline void fsp_hook_permission(fsp_arg file, fsp_arg mask)
{
	fsp_on_file_permission((struct file *)file, (int)mask);
}

static __always_inline void fsp_hook_file_free(fsp_arg file)
{
	fsp_on_file_free((struct file *)file);
}

static __always_inline void fsp_hook_mkdir(fsp_arg dir, fsp_arg dentry, fsp_arg mode)
{
	fsp_on_path_dentry(FSP_EVENT_MKDIR, (const struct path *)dir, (struct dentry *)dentry, (__u32)mode);
}

static __always_inline void fsp_hook_rmdir(fsp_arg dir, fsp_arg dentry)
{
	fsp_on_path_dentry(FSP_EVENT_RMDIR, (const struct path *)dir, (struct dentry *)dentry, 0);
}

static __always_inline void fsp_hook_unlink(fsp_arg dir, fsp_arg dentry)
{
	fsp_on_path_dentry(FSP_EVENT_UNLINK, (const struct path *)dir, (struct dentry *)dentry, 0);
}

static __always_inline void fsp_hook_rename(fsp_arg old_dir, fsp_arg old_dentry, fsp_arg new_dir,
					    fsp_arg new_dentry, fsp_arg flags)
{
	fsp_on_path_pair(FSP_EVENT_RENAME, (struct dentry *)old_dentry,
			 FSP_READ((const struct path *)old_dir, mnt), (struct dentry *)new_dentry,
			 FSP_READ((const struct path *)new_dir, mnt), (__u32)flags);
}

static __always_inline void fsp_hook_link(fsp_arg old_dentry, fsp_arg new_dir, fsp_arg new_dentry)
{
	/* A link never crosses mounts (EXDEV is checked before this hook). */
	struct vfsmount *mnt = FSP_READ((const struct path *)new_dir, mnt);

	fsp_on_path_pair(FSP_EVENT_LINK, (struct dentry *)old_dentry, mnt, (struct dentry *)new_dentry, mnt, 0);
}

static __always_inline void fsp_hook_chmod(fsp_arg path, fsp_arg mode)
{
	fsp_on_setattr((const struct path *)path, FSP_SETATTR_MODE, (__u32)mode);
}

static __always_inline void fsp_hook_chown(fsp_arg path)
{
	fsp_on_setattr((const struct path *)path, FSP_SETATTR_OWNER, 0);
}

static __always_inline void fsp_hook_truncate(fsp_arg path)
{
	fsp_on_setattr((const struct path *)path, FSP_SETATTR_SIZE, 0);
}

/* 6.2+: ftruncate and O_TRUNC opens check the file, not its path. */
static __always_inline void fsp_hook_ftruncate__opt(fsp_arg file)
{
	fsp_on_setattr(&((struct file *)file)->f_path, FSP_SETATTR_SIZE, 0);
}

static __always_inline void fsp_hook_utimes(fsp_arg path)
{
	fsp_on_setattr((const struct path *)path, FSP_SETATTR_TIMES, 0);
}

static __always_inline void fsp_hook_want_write(fsp_arg mnt)
{
	fsp_on_want_write((struct vfsmount *)mnt);
}

static __always_inline void fsp_hook_want_write_file(fsp_arg file)
{
	fsp_on_want_write(FSP_READ((struct file *)file, f_path.mnt));
}

/* vfs_setxattr([ns,] dentry, name, value, size, flags): 5.10 has no ns. */
static __always_inline void fsp_hook_setxattr__a5(fsp_arg dentry, fsp_arg name, fsp_arg value, fsp_arg size,
						  fsp_arg flags)
{
	fsp_on_xattr((struct dentry *)dentry, (const char *)name, fsp_xattr_set_kind((long)flags));
}

static __always_inline void fsp_hook_setxattr__a6(fsp_arg ns, fsp_arg dentry, fsp_arg name, fsp_arg value,
						  fsp_arg size, fsp_arg flags)
{
	fsp_hook_setxattr__a5(dentry, name, value, size, flags);
}

/* vfs_removexattr([ns,] dentry, name). */
static __always_inline void fsp_hook_removexattr__a2(fsp_arg dentry, fsp_arg name)
{
	fsp_on_xattr((struct dentry *)dentry, (const char *)name, FSP_SETATTR_XATTR_REMOVE);
}

static __always_inline void fsp_hook_removexattr__a3(fsp_arg ns, fsp_arg dentry, fsp_arg name)
{
	fsp_hook_removexattr__a2(dentry, name);
}

/* 6.2+: POSIX ACLs are set and removed beside the xattr calls, by name too. */
static __always_inline void fsp_hook_set_acl__opt(fsp_arg idmap, fsp_arg dentry, fsp_arg name, fsp_arg acl)
{
	fsp_on_xattr((struct dentry *)dentry, (const char *)name, FSP_SETATTR_XATTR);
}

static __always_inline void fsp_hook_remove_acl__opt(fsp_arg idmap, fsp_arg dentry, fsp_arg name)
{
	fsp_hook_removexattr__a2(dentry, name);
}

FSP_VFS_HOOK(permission, security_file_permission, 2)
FSP_VFS_HOOK(file_free, security_file_free, 1)
FSP_VFS_HOOK(mkdir, security_path_mkdir, 3)
FSP_VFS_HOOK(rmdir, security_path_rmdir, 2)
FSP_VFS_HOOK(unlink, security_path_unlink, 2)
FSP_VFS_HOOK(rename, security_path_rename, 5)
FSP_VFS_HOOK(link, security_path_link, 3)
FSP_VFS_HOOK(chmod, security_path_chmod, 2)
FSP_VFS_HOOK(chown, security_path_chown, 1)
FSP_VFS_HOOK(truncate, security_path_truncate, 1)
FSP_VFS_HOOK(ftruncate__opt, security_file_truncate, 1)
FSP_VFS_HOOK(utimes, vfs_utimes, 1)
FSP_VFS_HOOK(want_write, mnt_want_write, 1)
FSP_VFS_HOOK(want_write_file, mnt_want_write_file, 1)
FSP_VFS_HOOK(setxattr__a5, vfs_setxattr, 5)
FSP_VFS_HOOK(setxattr__a6, vfs_setxattr, 6)
FSP_VFS_HOOK(removexattr__a2, vfs_removexattr, 2)
FSP_VFS_HOOK(removexattr__a3, vfs_removexattr, 3)
FSP_VFS_HOOK(set_acl__opt, vfs_set_acl, 4)
FSP_VFS_HOOK(remove_acl__opt, vfs_remove_acl, 3)

/*
 * security_path_chown takes kuid_t and kgid_t by value, which trampolines
 * accept only from 6.1: before, this kprobe does fsp_fe_chown's job.
 */
SEC("kprobe/security_path_chown")
int fsp_fe_chown__kpalt(struct pt_regs *ctx)
{
	FSP_EMPTY_EXIT();
	fsp_hook_chown(FSP_KP_ARGS1);
	return 0;
}

#endif /* FSP_BACKEND_HOOKS_BPF_H */
