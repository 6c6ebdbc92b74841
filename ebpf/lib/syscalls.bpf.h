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
 * Whether syscall nr may move or remove a directory: every rename (a file
 * cannot be told from a directory before the call), rmdir, and unlinkat
 * with AT_REMOVEDIR (its flags are the third argument, in dx, in both ABIs).
 */
static __always_inline bool fsp_moves_directories(long nr, bool compat, struct pt_regs *regs)
{
	if (compat) {
		if (nr == FSP_NR32_unlinkat)
			return BPF_CORE_READ(regs, dx) & FSP_AT_REMOVEDIR;
		return nr == FSP_NR32_rename || nr == FSP_NR32_renameat || nr == FSP_NR32_renameat2 ||
		       nr == FSP_NR32_rmdir;
	}
	if (nr == FSP_NR_unlinkat)
		return BPF_CORE_READ(regs, dx) & FSP_AT_REMOVEDIR;
	return nr == FSP_NR_rename || nr == FSP_NR_renameat || nr == FSP_NR_renameat2 || nr == FSP_NR_rmdir;
}

#endif /* FSP_SYSCALLS_BPF_H */
