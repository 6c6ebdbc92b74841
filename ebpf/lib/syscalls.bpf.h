/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* x86_64 syscall numbers handled by the tracepoint backend (arch/x86/entry/syscalls/syscall_64.tbl). */
#ifndef FSP_SYSCALLS_BPF_H
#define FSP_SYSCALLS_BPF_H

#define FSP_NR_write            1
#define FSP_NR_open             2
#define FSP_NR_pwrite64         18
#define FSP_NR_writev           20
#define FSP_NR_sendfile         40
#define FSP_NR_truncate         76
#define FSP_NR_ftruncate        77
#define FSP_NR_rename           82
#define FSP_NR_mkdir            83
#define FSP_NR_rmdir            84
#define FSP_NR_creat            85
#define FSP_NR_link             86
#define FSP_NR_unlink           87
#define FSP_NR_chmod            90
#define FSP_NR_fchmod           91
#define FSP_NR_chown            92
#define FSP_NR_fchown           93
#define FSP_NR_lchown           94
#define FSP_NR_utime            132
#define FSP_NR_setxattr         188
#define FSP_NR_lsetxattr        189
#define FSP_NR_fsetxattr        190
#define FSP_NR_removexattr      197
#define FSP_NR_lremovexattr     198
#define FSP_NR_fremovexattr     199
#define FSP_NR_utimes           235
#define FSP_NR_openat           257
#define FSP_NR_mkdirat          258
#define FSP_NR_fchownat         260
#define FSP_NR_futimesat        261
#define FSP_NR_unlinkat         263
#define FSP_NR_renameat         264
#define FSP_NR_linkat           265
#define FSP_NR_fchmodat         268
#define FSP_NR_utimensat        280
#define FSP_NR_fallocate        285
#define FSP_NR_pwritev          296
#define FSP_NR_renameat2        316
#define FSP_NR_copy_file_range  326
#define FSP_NR_pwritev2         328
#define FSP_NR_openat2          437
#define FSP_NR_fchmodat2        452
#define FSP_NR_setxattrat       463  /* 6.13+ */
#define FSP_NR_removexattrat    466  /* 6.13+ */

/* The same calls in the ia32 table (a 32-bit process may rename or remove a directory too). */
#define FSP_NR32_rename         38
#define FSP_NR32_rmdir          40
#define FSP_NR32_unlinkat       301
#define FSP_NR32_renameat       302
#define FSP_NR32_renameat2      353

/*
 * What a syscall number can lead to, looked up first by both tracepoint
 * programs so that every other syscall of every task leaves after one load:
 * bits 0-7 the event types (1 << enum fsp_event_type) the x86_64 call may
 * report, FSP_SC_MOVES an x86_64 call that may move or remove a directory,
 * FSP_SC_MOVES32 an ia32 call that may (the two tables' numbers overlap).
 * fsp_decode() in backends/tracepoint.bpf.h decodes the same calls: a call
 * added there must be added here (the kernel tests of each type fail when
 * it is missing, the event being dropped at this first test).
 */
#define FSP_SC_MOVES   (1u << 8)
#define FSP_SC_MOVES32 (1u << 9)
#define FSP_SC_TABLE   512
#define FSP_SC(type)   (1u << (type))

static const __u16 fsp_syscall_kind[FSP_SC_TABLE] = {
	[FSP_NR_open] = FSP_SC(FSP_EVENT_OPEN),
	[FSP_NR_creat] = FSP_SC(FSP_EVENT_OPEN),
	[FSP_NR_openat] = FSP_SC(FSP_EVENT_OPEN),
	[FSP_NR_openat2] = FSP_SC(FSP_EVENT_OPEN),
	[FSP_NR_mkdir] = FSP_SC(FSP_EVENT_MKDIR),
	[FSP_NR_mkdirat] = FSP_SC(FSP_EVENT_MKDIR),
	[FSP_NR_link] = FSP_SC(FSP_EVENT_LINK),
	[FSP_NR_linkat] = FSP_SC(FSP_EVENT_LINK),
	[FSP_NR_rename] = FSP_SC(FSP_EVENT_RENAME) | FSP_SC_MOVES,
	[FSP_NR_renameat] = FSP_SC(FSP_EVENT_RENAME) | FSP_SC_MOVES,
	[FSP_NR_renameat2] = FSP_SC(FSP_EVENT_RENAME) | FSP_SC_MOVES,
	[FSP_NR_chmod] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_fchmod] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_fchmodat] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_fchmodat2] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_chown] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_lchown] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_fchown] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_fchownat] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_truncate] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_ftruncate] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_utime] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_utimes] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_futimesat] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_utimensat] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_setxattr] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_lsetxattr] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_fsetxattr] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_removexattr] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_lremovexattr] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_fremovexattr] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_setxattrat] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_removexattrat] = FSP_SC(FSP_EVENT_SETATTR),
	[FSP_NR_unlink] = FSP_SC(FSP_EVENT_UNLINK),
	[FSP_NR_rmdir] = FSP_SC(FSP_EVENT_RMDIR) | FSP_SC_MOVES,
	[FSP_NR_unlinkat] = FSP_SC(FSP_EVENT_UNLINK) | FSP_SC(FSP_EVENT_RMDIR) | FSP_SC_MOVES,
	[FSP_NR_write] = FSP_SC(FSP_EVENT_MODIFY),
	[FSP_NR_pwrite64] = FSP_SC(FSP_EVENT_MODIFY),
	[FSP_NR_writev] = FSP_SC(FSP_EVENT_MODIFY),
	[FSP_NR_pwritev] = FSP_SC(FSP_EVENT_MODIFY),
	[FSP_NR_pwritev2] = FSP_SC(FSP_EVENT_MODIFY),
	[FSP_NR_fallocate] = FSP_SC(FSP_EVENT_MODIFY),
	/* 40 is also ia32's rmdir */
	[FSP_NR_sendfile] = FSP_SC(FSP_EVENT_MODIFY) | FSP_SC_MOVES32,
	[FSP_NR_copy_file_range] = FSP_SC(FSP_EVENT_MODIFY),
	[FSP_NR32_rename] = FSP_SC_MOVES32,
	[FSP_NR32_unlinkat] = FSP_SC_MOVES32,
	[FSP_NR32_renameat] = FSP_SC_MOVES32,
	[FSP_NR32_renameat2] = FSP_SC_MOVES32,
};
_Static_assert(FSP_NR_removexattrat < FSP_SC_TABLE && FSP_NR32_renameat2 < FSP_SC_TABLE, "syscall table too small");

/* The kind bits of syscall nr (0 for every call fsprobe has no use for). */
static __always_inline __u32 fsp_syscall_kind_of(long nr)
{
	if ((unsigned long)nr >= FSP_SC_TABLE)
		return 0;
	return fsp_syscall_kind[nr & (FSP_SC_TABLE - 1)];
}

/*
 * Whether syscall nr may move or remove a directory: every rename (a file
 * cannot be told from a directory before the call), rmdir, and unlinkat
 * with AT_REMOVEDIR (its flags are the third argument, in dx, in both ABIs).
 */
static __always_inline bool fsp_moves_directories(long nr, __u32 kind, bool compat, struct pt_regs *regs)
{
	if (!(kind & (compat ? FSP_SC_MOVES32 : FSP_SC_MOVES)))
		return false;
	if (nr == (compat ? FSP_NR32_unlinkat : FSP_NR_unlinkat))
		return regs->dx & FSP_AT_REMOVEDIR; /* regs: the tracepoint's BTF pointer */
	return true;
}

#endif /* FSP_SYSCALLS_BPF_H */
