/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Constants of uapi and kernel headers that vmlinux.h (types only) lacks. */
#ifndef FSP_UAPI_BPF_H
#define FSP_UAPI_BPF_H

#define FSP_S_IFMT   00170000
#define FSP_S_IFREG  0100000
#define FSP_S_IFDIR  0040000
#define FSP_S_ISREG(m) (((m) & FSP_S_IFMT) == FSP_S_IFREG)
#define FSP_S_ISDIR(m) (((m) & FSP_S_IFMT) == FSP_S_IFDIR)

#define FSP_AT_FDCWD      (-100)
#define FSP_AT_REMOVEDIR  0x200
#define FSP_AT_EMPTY_PATH 0x1000

#define FSP_O_WRONLY 01
#define FSP_O_CREAT  0100
#define FSP_O_EXCL   0200
#define FSP_O_NOCTTY 0400
#define FSP_O_TRUNC  01000
#define FSP_O_LARGEFILE 0100000

/* x86: thread_info.status bit set while a 32-bit (ia32) syscall runs. */
#define FSP_TS_COMPAT 0x0002
/* x86: x32 ABI syscalls carry this bit in orig_ax. */
#define FSP_X32_SYSCALL_BIT 0x40000000

#endif /* FSP_UAPI_BPF_H */
