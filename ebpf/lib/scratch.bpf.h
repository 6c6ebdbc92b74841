/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where events are built and kept: the per-CPU scratch (the event under
 * construction and the walks' state), the events pending per thread
 * between a VFS hook and its function's return, the open files already
 * reported as modified.
 */
#ifndef FSP_SCRATCH_BPF_H
#define FSP_SCRATCH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "fsprobe.h"
#include "maps.bpf.h"
#include "walk.bpf.h"

/*
 * Offsets into the data area are masked with this before every write so the
 * verifier can bound them; the scratch data area is FSP_DATA_SIZE plus the
 * largest single write (FSP_CALLER_MAX >= FSP_NAME_MAX) long, and the code
 * keeps the logical length within FSP_DATA_SIZE.
 */
#define FSP_DATA_MASK (FSP_DATA_SIZE - 1)
_Static_assert((FSP_DATA_SIZE & FSP_DATA_MASK) == 0, "FSP_DATA_SIZE must be a power of two");
_Static_assert(FSP_CALLER_MAX >= FSP_NAME_MAX, "scratch slack sized by FSP_CALLER_MAX");
_Static_assert(FSP_DATA_SIZE <= 0xffff, "fsp_path offsets are 16-bit");

/* A process's cached context (lib/context.bpf.h): who it is, and what was resolved then. */
#define FSP_EXE_CACHE_MAX 256

struct fsp_identity {
	__u64 start_boottime; /* the thread group leader's */
	__u64 exe_file;       /* mm->exe_file, 0 for a kernel thread */
	__u64 cred;
	__u64 nsproxy;
};

struct fsp_process {
	struct fsp_identity id;
	struct fsp_task_info ti;
	struct fsp_path exe;  /* offset 0: the bytes are exe_bytes */
	__u32 exe_len;
	__u32 _pad;
	char exe_bytes[FSP_EXE_CACHE_MAX];
};

/* A cache value being built (the kernel's inserts into the caches). */
union fsp_cache_value {
	struct fsp_fragment fragment;
	struct fsp_process process;
	struct {
		struct fsp_single_fragment v;
		char slack[FSP_SINGLE_MAX]; /* lets a masked offset plus a masked length stay in bounds */
	} single;
};

struct fsp_scan {
	__u32 start;      /* offset of the string in scratch data */
	__u32 len;        /* its length */
	__u32 comp_len;   /* length of the current component */
	__u8 all_dots;    /* current component is only dots so far */
	__u8 slash;       /* string has a '/' (more than one component) */
	__u8 dotdot;      /* string has a ".." component */
	__u8 _pad;
};

/*
 * An event under construction: the header immediately followed by its data,
 * emitted to the ring buffer from here. The data area has FSP_CALLER_MAX
 * bytes of slack past FSP_DATA_SIZE (see FSP_DATA_MASK).
 */
struct fsp_record {
	struct fsp_event ev;
	char data[FSP_DATA_SIZE + FSP_CALLER_MAX];
};

/*
 * Where a helper may write at data offset off (< FSP_DATA_SIZE, checked by
 * the caller). The barrier hides that check from clang, so the mask stays
 * in the code: without it clang drops the mask, and the 5.10 verifier,
 * which does not carry a 32-bit compare's bound to a copy of the register
 * spilled before it, rejects the write as unbounded.
 */
static __always_inline char *fsp_data_at(struct fsp_record *rec, __u32 off)
{
	barrier_var(off);
	return &rec->data[off & FSP_DATA_MASK];
}

/*
 * An event of the VFS backends between the security hook that sees the
 * paths (entry) and the return of the vfs_* function that gives its result.
 * Kept per thread (the task may sleep and migrate in between). The fields
 * of its own come first: a short event is kept from the same bytes cut
 * after its data (struct fsp_pending_short).
 */
struct fsp_pending {
	struct dentry *obj;   /* mkdir: the new dentry, whose inode the exit reads */
	__u32 nest;           /* vfs_* calls of this type entered and not returned */
	__u32 _pad;
	struct fsp_record rec;
};

/*
 * Storing an event copies the map's whole value: 9.7 KB for struct
 * fsp_pending, for paths that mostly take some tens of bytes. An event
 * whose data fits FSP_PENDING_SHORT_DATA is kept as this prefix of it.
 */
#define FSP_PENDING_SHORT_DATA 1024

struct fsp_pending_short {
	struct dentry *obj;
	__u32 nest;
	__u32 _pad;
	struct fsp_event ev;
	char data[FSP_PENDING_SHORT_DATA];
};
_Static_assert(offsetof(struct fsp_pending_short, ev) ==
		       offsetof(struct fsp_pending, rec) + offsetof(struct fsp_record, ev) &&
	       offsetof(struct fsp_pending_short, data) ==
		       offsetof(struct fsp_pending, rec) + offsetof(struct fsp_record, data),
	       "struct fsp_pending_short is a prefix of struct fsp_pending");

/*
 * Per-CPU scratch: the event under construction (first, so it can be stored
 * as a pending event as is), then the state of the walks.
 *
 * Loop state lives in this map value, not on the stack, on purpose: the
 * walks run in global functions the verifier checks once, on their own,
 * and they find their state here.
 */
struct fsp_scratch {
	struct fsp_pending p;
	struct fsp_walk walk;
	struct fsp_scan scan;
	union fsp_cache_value value;
};

/*
 * Pending VFS events by thread id, in one map or the other by size (a
 * thread has one at most). LRU: a thread that dies mid-operation leaks
 * nothing.
 */
FSP_MAP(BPF_MAP_TYPE_LRU_HASH, pending, 256, __u32, struct fsp_pending);

FSP_MAP(BPF_MAP_TYPE_LRU_HASH, pending_short, 256, __u32, struct fsp_pending_short);

/*
 * Open files (struct file addresses) already reported as modified: the VFS
 * backends report one modify per open file description, not one per write;
 * the entry goes when the file is freed.
 */
FSP_MAP(BPF_MAP_TYPE_LRU_HASH, modified_files, 16384, __u64, __u8);

FSP_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, scratch, 1, __u32, struct fsp_scratch);

static __always_inline struct fsp_scratch *fsp_scratch_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

#endif /* FSP_SCRATCH_BPF_H */
