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
 * FSP_PATH_CALLER_TRUNCATED: the caller's string was longer than we copy, or
 *   could not be read when the call returned (its page unmapped meanwhile).
 * FSP_PATH_DISCONNECTED: the walk met a dentry detached from its tree.
 * FSP_PATH_NEEDS_FILTER: the kernel could not decide whether this path is
 *   watched (caller string absolute or containing ".."): user space must
 *   apply the watch filter to the joined, normalised path.
 * FSP_PATH_ABSOLUTE_CALLER: the caller's string was absolute, so the base
 *   is the process root (walked like any base).
 */
#define FSP_PATH_TRUNCATED        (1u << 0)
#define FSP_PATH_CALLER_SUFFIX    (1u << 1)
#define FSP_PATH_CALLER_TRUNCATED (1u << 2)
#define FSP_PATH_DISCONNECTED     (1u << 3)
#define FSP_PATH_NEEDS_FILTER     (1u << 4)
#define FSP_PATH_ABSOLUTE_CALLER  (1u << 5)
/*
 * FSP_PATH_DELETED: the object was no longer linked in its directory (a file
 *   unlinked while open, an O_TMPFILE): the path is the name it last had.
 * FSP_PATH_DETACHED: the walk ended on a mount no namespace holds (lazily
 *   unmounted): the path is relative to that mount, not to any root.
 * FSP_PATH_LEARNABLE: the walk was stable (no directory renamed or watch
 *   changed while it ran) and its first mount segment was written whole:
 *   perf_buffer mode may cache the directory at learn_level (learn_key).
 */
#define FSP_PATH_DELETED          (1u << 6)
#define FSP_PATH_DETACHED         (1u << 7)
#define FSP_PATH_LEARNABLE        (1u << 8)
/*
 * FSP_PATH_FOREIGN_NS: the walk ended at the root of a mount namespace
 *   other than fsprobe's (a container's, a service's private one): the path
 *   is as seen from that namespace's root, which fsprobe's namespace may not
 *   show at all.
 */
#define FSP_PATH_FOREIGN_NS       (1u << 9)

/*
 * Dentry resolution modes (--dentry-resolution-mode). All three stop the
 * kernel walk at the first directory found in a cache, write an anchor item
 * (below) for it, and go on from the root of that directory's mount.
 *   PERF_BUFFER: the cache is user space's; the kernel map cached_dirs only
 *     says which directories it holds. The kernel reports a learnable
 *     directory in each path (learn_key); user space caches its path.
 *   FRAGMENTS: the kernel inserts one (name, parent) fragment per directory
 *     it walks into path_fragments; user space follows the chain.
 *   SINGLE_FRAGMENT: the kernel writes the whole mount-relative path of the
 *     first directory it walks into one single_fragments entry.
 */
enum fsp_resolution_mode {
	FSP_RESOLVE_PERF_BUFFER = 0,
	FSP_RESOLVE_FRAGMENTS = 1,
	FSP_RESOLVE_SINGLE_FRAGMENT = 2,
};

/*
 * Key of every resolution cache: a directory inode on one mount, in one
 * cache epoch. Paths are cached relative to the root of their mount, so
 * moving or stacking mounts never makes an entry stale; mount is the
 * address of the kernel's struct mount, whose id and root are checked on
 * every hit (a freed and reused mount cannot pass for the old one). The
 * epoch is part of the key so that an entry is never overwritten by a
 * later epoch's: user space may still have to resolve an anchor of an
 * older epoch, and finds it as it was.
 */
struct fsp_cache_key {
	__u64 inode;
	__u64 mount;
	__u64 epoch;
};

/*
 * What every cache entry starts with. An entry is used only when all of it
 * matches: epoch (bumped around every directory rename and watch change, so
 * an entry made before one is never used after it), the mount's id and root
 * and the inode's generation (a reused inode number is another directory).
 */
struct fsp_cache_stamp {
	__u64 epoch;
	__u64 mnt_root;       /* address of the mount's root dentry */
	__u32 mnt_id;
	__u32 generation;     /* i_generation of the directory */
	__u32 verdict;        /* FSP_CACHE_* */
	__u32 _pad;
};

/* Verdicts of the in-kernel filter, cached with the directory. */
#define FSP_CACHE_INSIDE_WATCH (1u << 0) /* it or an ancestor up to its mount root is watched */
#define FSP_CACHE_IS_WATCH     (1u << 1) /* it is itself watched */

/* A path_fragments value: one directory's name and its parent on the same mount. */
struct fsp_fragment {
	struct fsp_cache_stamp stamp;
	__u64 parent_inode;   /* 0: the parent is the mount's root */
	__u32 name_len;
	__u32 _pad;
	char name[256];
};

/* A single_fragments value: a directory's mount-relative path, items leaf first. */
#define FSP_SINGLE_MAX 4096
struct fsp_single_fragment {
	struct fsp_cache_stamp stamp;
	__u32 len;
	__u32 _pad;
	char path[FSP_SINGLE_MAX];
};

/*
 * Items of a path's fragment bytes, read forwards. A name is its bytes and a
 * NUL. Names never start with '/', so '/' introduces a marker:
 *   '/' 'M'                     the walk crossed into the parent mount here;
 *   '/' 'A' struct fsp_anchor   a cached directory: its mount-relative path
 *                               comes from the mode's cache, and the walk
 *                               went on from its mount's root;
 *   '/' 'R'                     the walk passed the acting process's root
 *                               directory (chroot, container): what is below
 *                               is the path as that process sees it.
 */
#define FSP_ITEM_MARKER '/'
#define FSP_ITEM_MOUNT  'M'
#define FSP_ITEM_ANCHOR 'A'
#define FSP_ITEM_ROOT   'R'
struct fsp_anchor {
	struct fsp_cache_key key;
};
#define FSP_ANCHOR_ITEM_LEN (2 + 24)

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
	/* With FSP_PATH_LEARNABLE: the directory at walk level learn_level. */
	struct fsp_cache_key learn_key;
	struct fsp_cache_stamp learn_stamp;
	__u32 learn_level;    /* 0: the first item; 1: the second (the object's parent) */
	__u32 nlink;          /* link count of the object when known, else 0 */
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

/*
 * Who acted, beyond pid and tid: read from the current task with the event.
 * Namespace ids are the inode numbers /proc/PID/ns/{mnt,pid,user} show.
 */
#define FSP_ID_UNSET 0xffffffffu  /* loginuid, sessionid: never set (no login, no audit) */
struct fsp_task_info {
	__u64 start_boottime; /* the process's start (its thread group leader's), CLOCK_BOOTTIME ns */
	__u64 cgroup_id;      /* cgroup v2 id: inode of its directory on the cgroup2 mount */
	__u32 ppid;           /* tgid of the real parent */
	__u32 loginuid;       /* audit login uid, FSP_ID_UNSET when none */
	__u32 sessionid;      /* audit session id, FSP_ID_UNSET when none */
	__u32 euid;           /* effective ids, as the permission checks use them */
	__u32 egid;
	__u32 mnt_ns;
	__u32 pid_ns;         /* the namespace the process's pid belongs to */
	__u32 user_ns;
};

/*
 * What a setattr sets (fsp_event.attr): read where the VFS backends see the
 * kernel apply it (notify_change's struct iattr), or on the tracepoint
 * backend from the system call's arguments. `valid` says which values hold.
 */
#define FSP_ATTR_MODE      (1u << 0)
#define FSP_ATTR_UID       (1u << 1)
#define FSP_ATTR_GID       (1u << 2)
#define FSP_ATTR_SIZE      (1u << 3)
#define FSP_ATTR_ATIME     (1u << 4)  /* atime_sec/atime_nsec: the new access time */
#define FSP_ATTR_MTIME     (1u << 5)
#define FSP_ATTR_ATIME_NOW (1u << 6)  /* the access time is set to the current time */
#define FSP_ATTR_MTIME_NOW (1u << 7)
struct fsp_attr_values {
	__s64 size;
	__s64 atime_sec;      /* since the Unix epoch */
	__s64 mtime_sec;
	__u32 atime_nsec;
	__u32 mtime_nsec;
	__u32 mode;           /* the new mode (type bits included when the kernel has them) */
	__u32 uid;
	__u32 gid;
	__u32 valid;          /* FSP_ATTR_* */
};

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
	struct fsp_task_info task;
	/* The process's executable, walked like src (inode 0, no bytes: none, a kernel thread). */
	struct fsp_path exe;
	/* SETATTR: what it sets. MODIFY: size = the bytes written when known
	 * (FSP_ATTR_SIZE; the tracepoint backend). Zero otherwise. */
	struct fsp_attr_values attr;
	__u32 data_len;       /* bytes used in data[] */
	/* FSP_SETATTR_XATTR*: the attribute's name at data[xattr_offset, +xattr_len),
	 * after the paths, without NUL; xattr_len 0 when it did not fit. */
	__u16 xattr_offset;
	__u16 xattr_len;
	/* followed by data_len bytes of path data */
};

/* Setattr kinds carried in fsp_event.flags for FSP_EVENT_SETATTR. */
#define FSP_SETATTR_MODE  (1u << 0)
#define FSP_SETATTR_OWNER (1u << 1)
#define FSP_SETATTR_SIZE  (1u << 2)
#define FSP_SETATTR_TIMES (1u << 3)
/*
 * Extended attributes: one set (setxattr, and on 6.2+ a POSIX ACL set) or
 * removed, its name in the event. With a set, the caller's XATTR_CREATE
 * (fail if it exists) or XATTR_REPLACE (fail unless it exists), if given.
 */
#define FSP_SETATTR_XATTR         (1u << 4)
#define FSP_SETATTR_XATTR_REMOVE  (1u << 5)
#define FSP_SETATTR_XATTR_CREATE  (1u << 6)
#define FSP_SETATTR_XATTR_REPLACE (1u << 7)

/*
 * Kernel-side marks in a rename's fsp_event.flags, above the caller's
 * RENAME_* bits (user space reports the flags without them). Following
 * moved objects (--follow) is the kernel's decision on the VFS backends
 * (lib/follow.bpf.h): FOLLOWED_* say what it began to watch. A rename
 * that was not a selected event is still passed up, marked UNSELECTED,
 * when something was followed (user space learns the new watch, and on
 * the tracepoint backend it is user space that follows), never reported.
 */
#define FSP_RENAME_FOLLOWED_SOURCE (1u << 28) /* the moved object left every watch: now watched itself */
#define FSP_RENAME_FOLLOWED_TARGET (1u << 29) /* RENAME_EXCHANGE: the object at the target did */
#define FSP_RENAME_UNSELECTED      (1u << 30) /* rename is not a selected event type */
#define FSP_RENAME_KERNEL_MARKS \
	(FSP_RENAME_FOLLOWED_SOURCE | FSP_RENAME_FOLLOWED_TARGET | FSP_RENAME_UNSELECTED)
#define FSP_RENAME_EXCHANGE_FLAG   (1u << 1)  /* the caller's RENAME_EXCHANGE */
#define FSP_XATTR_NAME_MAX        255  /* XATTR_NAME_MAX */

/* Key and values of the watched_inodes map (device + inode of a watched object). */
struct fsp_watch_key {
	__u32 dev;            /* kernel dev_t of the superblock */
	__u32 _pad;
	__u64 inode;
};

#define FSP_WATCH_EXPLICIT (1u << 0)  /* given by the user */
#define FSP_WATCH_FOLLOWED (1u << 1)  /* added because a watched object moved out of the watch */
/*
 * The entry is the parent directory of a watched object (user space adds
 * one for each watch). An entry whose flags are exactly FSP_WATCH_PARENT is
 * not itself a watch: it only lets a path-based event whose base is this
 * directory (e.g. `rmdir watched` run from its parent, where the kernel sees
 * only cwd + "watched") through with FSP_PATH_NEEDS_FILTER. Any other value
 * (including 0) makes the entry a watch.
 */
#define FSP_WATCH_PARENT   (1u << 2)

/* Bits of the kernel's "may be a watch" set of inode numbers (a power of two). */
#define FSP_WATCH_BITS     4096

/*
 * The longest the ring buffer's reader sleeps between reads: records that
 * did not wake it (see fsp_wakeup_flag) wait no longer than this.
 */
#define FSP_READER_POLL_MS 5

/* Counters in the per-CPU stats map, one slot each. */
enum fsp_stat {
	FSP_STAT_EMITTED = 0,       /* events written to the ring buffer */
	FSP_STAT_RINGBUF_FULL = 1,  /* events lost: ring buffer full */
	FSP_STAT_FILTERED = 2,      /* events dropped by the in-kernel path filter */
	FSP_STAT_TRUNCATED = 3,     /* paths marked truncated */
	FSP_STAT_CACHE_HITS = 4,    /* walks stopped at a cached directory */
	FSP_STAT_CACHE_MISSES = 5,  /* walks that met no cached directory */
	FSP_STAT_CACHE_BYPASSED = 6,/* walks without the caches (rename in flight, chroot) */
	FSP_STAT_DISCARDED = 7,     /* events dropped by a discarder, before any walk */
	FSP_STAT_DISCARDERS_ADDED = 8, /* directories found to hold nothing watched */
	FSP_STAT_FOLLOWED = 9,      /* moved objects the kernel began to watch (--follow) */
	FSP_STAT_FOLLOW_FAILED = 10,/* moved objects it could not: watched_inodes full */
	FSP_STAT_COUNT = 11,
};

_Static_assert(sizeof(struct fsp_path) == 96, "fsp_path ABI size");
_Static_assert(sizeof(struct fsp_task_info) == 48, "fsp_task_info ABI size");
_Static_assert(sizeof(struct fsp_attr_values) == 48, "fsp_attr_values ABI size");
_Static_assert(sizeof(struct fsp_event) == 456, "fsp_event ABI size");
_Static_assert(sizeof(struct fsp_cache_key) == 24, "fsp_cache_key ABI size");
_Static_assert(sizeof(struct fsp_cache_stamp) == 32, "fsp_cache_stamp ABI size");
_Static_assert(sizeof(struct fsp_anchor) + 2 == FSP_ANCHOR_ITEM_LEN, "anchor item size");
_Static_assert(sizeof(struct fsp_watch_key) == 16, "fsp_watch_key ABI size");

#endif /* FSPROBE_ABI_H */
