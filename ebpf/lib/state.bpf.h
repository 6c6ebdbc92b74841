/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Globals shared with user space at run time (.bss, which user space maps):
 * the cache epoch and the "may be a watch" sets.
 */
#ifndef FSP_STATE_BPF_H
#define FSP_STATE_BPF_H

#include "vmlinux.h"
#include "fsprobe.h"

/*
 * The cache epoch, as a pair of counters: an operation that can make cached
 * paths stale (a directory rename; in user space, a watch change) adds one
 * to fsp_epoch_started before it acts and one to fsp_epoch_finished after.
 * A walk uses the caches only when both are equal (nothing in flight), and
 * stamps what it caches with fsp_epoch_started, so nothing cached before an
 * operation is used after it. User space bumps them through the mmapped .bss.
 */
__u64 fsp_epoch_started = 0;
__u64 fsp_epoch_finished = 0;
/* Bit (ino % FSP_WATCH_BITS): some watch may have that inode number (lib/discard.bpf.h, lib/path.bpf.h). */
__u64 fsp_watch_bits[FSP_WATCH_BITS / 64] = {};
/*
 * The same for the objects the kernel itself began to watch (lib/follow.bpf.h),
 * one byte per slot so that two CPUs setting slots never lose one (5.10 has
 * no atomic "or"). Apart from fsp_watch_bits, which user space rewrites
 * whole from what it knows; only ever set.
 */
__u8 fsp_followed_slots[FSP_WATCH_BITS] = {};
/*
 * Set by user space once every program is attached. The vfs_open entries
 * (fentry and kprobe), which leave their exit something to take, do so only
 * from then on: an entry that ran while its exit was not yet attached would
 * leave it behind, for a later open on the same thread to take as its own.
 */
__u32 fsp_exits_attached = 0;

#endif /* FSP_STATE_BPF_H */
