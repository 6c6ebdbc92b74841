/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fsprobe kernel <-> user-space ABI.
 *
 * Included by the BPF program (ebpf/fsprobe.bpf.c) and by the Swift side
 * (through the CFSProbeBPF target). Plain fixed-width fields only; every
 * struct's size is pinned by _Static_assert so a change on one side without
 * the other fails to compile.
 */
#ifndef FSPROBE_ABI_H
#define FSPROBE_ABI_H

#ifdef __BPF__
/* vmlinux.h already defines the __uN types. */
#else
#include <linux/types.h>
#endif

#define FSP_COMM_LEN 16

/* Event types. Numbering is part of the ABI; names match the original FSProbe. */
enum fsp_event_type {
	FSP_EVENT_OPEN = 0,
	FSP_EVENT_MKDIR = 1,
	FSP_EVENT_LINK = 2,
	FSP_EVENT_RENAME = 3,
	FSP_EVENT_SETATTR = 4,
	FSP_EVENT_UNLINK = 5,
	FSP_EVENT_RMDIR = 6,
	FSP_EVENT_MODIFY = 7,
	FSP_EVENT_TYPE_COUNT = 8,
};

/*
 * Per-path flags (fsp_path.flags).
 *
 * FSP_PATH_TRUNCATED: the kernel walk stopped before reaching the root
 *   (too deep, or the data area was full): the path is a suffix only.
 * FSP_PATH_CALLER_SUFFIX: the path is the kernel-resolved base directory
 *   (dirfd or cwd) joined with the string the caller passed to the syscall.
 *   The caller's part was not resolved by the kernel (symlinks, "..").
 * FSP_PATH_CALLER_TRUNCATED: the caller's string was longer than we copy.
 * FSP_PATH_DISCONNECTED: the walk met a dentry detached from its tree.
 * FSP_PATH_NEEDS_FILTER: the kernel could not decide whether this path is
 *   watched (caller string absolute or containing ".."): user space must
 *   apply the watch filter to the joined, normalised path.
 * FSP_PATH_ABSOLUTE_CALLER: the caller's string was absolute, so the base
 *   is the process root and no base fragments were emitted.
 */
#define FSP_PATH_TRUNCATED        (1u << 0)
#define FSP_PATH_CALLER_SUFFIX    (1u << 1)
#define FSP_PATH_CALLER_TRUNCATED (1u << 2)
#define FSP_PATH_DISCONNECTED     (1u << 3)
#define FSP_PATH_NEEDS_FILTER     (1u << 4)
#define FSP_PATH_ABSOLUTE_CALLER  (1u << 5)

/*
 * One path in an event. The bytes live in the event's data area at
 * [offset, offset + fragments_len) then [.., + caller_len):
 *   - fragments: the names met by the kernel dentry walk, leaf first, each
 *     terminated by a NUL byte (names cannot contain NUL or '/'). The root
 *     itself contributes nothing.
 *   - caller: the caller's string (no terminating NUL), present only with
 *     FSP_PATH_CALLER_SUFFIX.
 */
struct fsp_path {
	__u64 inode;          /* inode of the object, 0 when unknown */
	__u32 mount_id;       /* mount id of the object (or of the resolved base) */
	__u32 dev;            /* kernel dev_t (major << 20 | minor) of the superblock */
	__u16 offset;         /* into fsp_event.data */
	__u16 fragments_len;
	__u16 caller_len;
	__u16 flags;          /* FSP_PATH_* */
	__u32 depth;          /* number of fragments written */
	__u32 mode;           /* i_mode of the object when known, else 0 */
};

/* Sizes of the data area that trails the fixed header. */
#define FSP_DATA_SIZE       8192   /* bytes of path data carried per event */
#define FSP_NAME_MAX        256    /* a dentry name + its NUL */
#define FSP_CALLER_MAX      1024   /* bytes copied from a caller's string */

/*
 * Most names written per path (FSP_PATH_TRUNCATED beyond). The kernel walk
 * itself may go further without writing names, so the in-kernel watch
 * filter still sees a watched ancestor above the cut.
 */
#define FSP_MAX_DEPTH       200

struct fsp_event {
	__u64 timestamp_ns;   /* CLOCK_BOOTTIME */
	__u32 event_type;     /* enum fsp_event_type */
	__u32 pid;            /* tgid */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u32 flags;          /* open flags, rename flags, AT_* flags, or setattr kind */
	__u32 mode;           /* requested mode (open/mkdir/chmod) */
	__u32 syscall_nr;     /* the syscall that produced it (tracepoint backend) */
	__s64 retval;         /* syscall return value: >= 0 success, -errno failure */
	char comm[FSP_COMM_LEN];
	struct fsp_path src;
	struct fsp_path target;
	__u32 data_len;       /* bytes used in data[] */
	__u32 _pad;
	/* followed by data_len bytes of path data */
};

/* Setattr kinds carried in fsp_event.flags for FSP_EVENT_SETATTR. */
#define FSP_SETATTR_MODE  (1u << 0)
#define FSP_SETATTR_OWNER (1u << 1)
#define FSP_SETATTR_SIZE  (1u << 2)
#define FSP_SETATTR_TIMES (1u << 3)

/* Key and values of the watched_inodes map (device + inode of a watched object). */
struct fsp_watch_key {
	__u32 dev;            /* kernel dev_t of the superblock */
	__u32 _pad;
	__u64 inode;
};

#define FSP_WATCH_EXPLICIT (1u << 0)  /* given by the user */
#define FSP_WATCH_FOLLOWED (1u << 1)  /* added because a watched object moved */
/*
 * The entry is the parent directory of a watched object (user space adds
 * one for each watch). An entry whose flags are exactly FSP_WATCH_PARENT is
 * not itself a watch: it only lets a path-based event whose base is this
 * directory (e.g. `rmdir watched` run from its parent, where the kernel sees
 * only cwd + "watched") through with FSP_PATH_NEEDS_FILTER. Any other value
 * (including 0) makes the entry a watch.
 */
#define FSP_WATCH_PARENT   (1u << 2)

/* Counters in the per-CPU stats map, one slot each. */
enum fsp_stat {
	FSP_STAT_EMITTED = 0,       /* events written to the ring buffer */
	FSP_STAT_RINGBUF_FULL = 1,  /* events lost: ring buffer full */
	FSP_STAT_FILTERED = 2,      /* events dropped by the in-kernel path filter */
	FSP_STAT_TRUNCATED = 3,     /* paths marked truncated */
	FSP_STAT_COUNT = 4,
};

_Static_assert(sizeof(struct fsp_path) == 32, "fsp_path ABI size");
_Static_assert(sizeof(struct fsp_event) == 136, "fsp_event ABI size");
_Static_assert(sizeof(struct fsp_watch_key) == 16, "fsp_watch_key ABI size");

#endif /* FSPROBE_ABI_H */
