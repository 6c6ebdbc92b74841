/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared definitions of the fsprobe BPF programs: configuration globals,
 * maps, the per-CPU scratch event buffer, small constants vmlinux.h lacks.
 */
#ifndef FSP_COMMON_BPF_H
#define FSP_COMMON_BPF_H

/*
 * 6.18 declares dentry.d_name and file.f_path const (inside unions); libbpf
 * 1.1's BPF_CORE_READ declares its temporary with the field's type, which
 * clang >= 21 flags as a const left uninitialised. The temporary is filled by
 * bpf_probe_read_kernel, so the warning is noise here.
 */
#if defined(__has_warning)
#if __has_warning("-Wdefault-const-init-var-unsafe")
#pragma clang diagnostic ignored "-Wdefault-const-init-var-unsafe"
#endif
#endif

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "fsprobe.h"
#include "kread.bpf.h"

/* ---- constants from uapi / kernel headers (vmlinux.h carries no macros) ---- */
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
#define FSP_O_TRUNC  01000
#define FSP_O_LARGEFILE 0100000

/* x86: thread_info.status bit set while a 32-bit (ia32) syscall runs. */
#define FSP_TS_COMPAT 0x0002
/* x86: x32 ABI syscalls carry this bit in orig_ax. */
#define FSP_X32_SYSCALL_BIT 0x40000000

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

/*
 * Upper bound on walk steps (names + mount crossings) per path. Names stop
 * being written after FSP_MAX_DEPTH or when the data area is full, but the
 * walk may go on (without writing) so the in-kernel filter can still see a
 * watched ancestor above the truncation point.
 */
#define FSP_MAX_WALK 4096

/* ---- configuration, set by user space before load (.rodata) ---- */
const volatile bool cfg_paths_filtering = false;
const volatile bool cfg_recursive = true;
const volatile __u32 cfg_event_mask = (1u << FSP_EVENT_TYPE_COUNT) - 1;
/* Follow objects moved out of the watch (--follow; only with paths filtering). */
const volatile bool cfg_follow = false;
const volatile __u32 cfg_self_tgid = 0;
/* vfs_mkdir returns a struct dentry * (6.15+) rather than an int. */
const volatile bool cfg_mkdir_returns_dentry = false;
/* enum fsp_resolution_mode */
const volatile __u32 cfg_resolution_mode = FSP_RESOLVE_PERF_BUFFER;
/* Inode number of fsprobe's own mount namespace; 0: do not compare. */
const volatile __u32 cfg_mnt_ns = 0;
/*
 * Benchmarks only: every program returns at once, so the cost measured is
 * the hooks' own (tracepoint, trampoline or kprobe), the floor fsprobe can
 * approach but not go below.
 */
const volatile bool cfg_empty_programs = false;
/* Bytes waiting in the ring buffer that wake its reader (lib/event.bpf.h). */
const volatile __u64 cfg_wakeup_bytes = 1024 * 4096 / 4;
/*
 * Event types whose hooks run: the selected ones, and renames when moved
 * objects are followed (the follow does not depend on reporting them).
 */
#define FSP_HOOKED_MASK (cfg_event_mask | (cfg_follow ? 1u << FSP_EVENT_RENAME : 0))
/* The first statement of every program of the VFS backends. */
#define FSP_EMPTY_EXIT()            \
	do {                        \
		if (cfg_empty_programs) \
			return 0;   \
	} while (0)

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
/* Bit (ino % FSP_WATCH_BITS): some watch has that inode number (lib/discard.bpf.h). */
__u64 fsp_watch_bits[FSP_WATCH_BITS / 64] = {};
/*
 * The same for the objects the kernel itself began to watch (lib/follow.bpf.h),
 * one byte per slot so that two CPUs setting slots never lose one (5.10 has
 * no atomic "or"). Apart from fsp_watch_bits, which user space rewrites
 * whole from what it knows; only ever set.
 */
__u8 fsp_followed_slots[FSP_WATCH_BITS] = {};

/* ---- maps ---- */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 4096); /* user space sets it (--perf-buffer-size) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FSP_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fsp_watch_key);
	__type(value, __u32);
} watched_inodes SEC(".maps");

/*
 * The resolution caches, one per mode (user space shrinks the two it does
 * not use to one entry before load). LRU: bounded, oldest out first.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fsp_cache_key);
	__type(value, struct fsp_cache_stamp);
} cached_dirs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fsp_cache_key);
	__type(value, struct fsp_fragment);
} path_fragments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct fsp_cache_key);
	__type(value, struct fsp_single_fragment);
} single_fragments SEC(".maps");

/* Threads inside a directory rename (the exit must match its entry's bump). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} renaming_threads SEC(".maps");

/* Levels of a walk's first mount segment remembered for the cache inserts. */
#define FSP_SEG_MAX 64

struct fsp_walk {
	struct dentry *dentry;  /* next dentry to visit */
	struct mount *mnt;      /* mount it belongs to */
	struct dentry *mnt_root;/* mnt->mnt.mnt_root, read once per mount */
	__u32 sb_dev;           /* mnt->mnt.mnt_sb->s_dev, read once per mount */
	__u32 mnt_id;           /* mnt->mnt_id, read once per mount */
	__u32 off;              /* next write offset in scratch data */
	__u32 limit;            /* names must end at or before this offset */
	__u32 names;            /* names written */
	__u32 level;            /* names met, written or not (0 = start object) */
	__u32 match_max;        /* a watch counts only at level <= match_max */
	__u16 flags;            /* FSP_PATH_* gathered by the walk */
	__u8 filter;            /* still looking for a watch */
	__u8 matched;           /* a watch met at level <= match_max */
	__u8 parent_match;      /* an FSP_WATCH_PARENT entry met at level 0 */
	__u8 finished;          /* reached the top mount's root, or disconnected */
	__u8 emit_stopped;      /* no more names written (depth/space/read error) */
	__u8 cache_ok;          /* the resolution cache may be used by this walk */
	__u8 reread;            /* the current dentry is being read a second time */
	__u8 root_seen;         /* the process root was met (its marker written) */
	__u8 epoch_stable;      /* no directory rename or watch change in flight at its start */
	__u8 level1_seen;       /* the object's parent was looked up in watched_inodes */
	__u8 level1_entry;      /* and had an entry there (a watch or a watch's parent) */
	__u8 _pad0[3];
	struct dentry *root_dentry; /* the acting process's root directory */
	struct mount *root_mnt;     /* and its mount */
	__u64 level1_ino;       /* the object's parent's inode, with level1_seen */
	__u64 level1_mounts_event; /* and its mount namespace's event count (lib/discard.bpf.h) */

	/*
	 * The resolution cache. The first mount segment (from the start up
	 * to a cached directory or to the mount's root) is remembered level
	 * by level, so that when the walk is over the directories in it can
	 * be cached with the filter's verdict, which only the whole segment
	 * tells (a watch may sit above a directory).
	 */
	__u64 epoch;            /* fsp_epoch_started when the walk began */
	__u32 cache_min;        /* lowest level looked up in (and added to) the cache */
	__u32 seg_top;          /* level where the first segment ended */
	__u8 seg_open;          /* still in the first segment */
	__u8 seg_hit;           /* it ended at a cached directory (hit_*) */
	__u8 seg_names_ok;      /* every item of it was written */
	__u8 seg_high_watch;    /* a watch at one of its levels >= FSP_SEG_MAX */
	__u32 seg_mnt_id;
	__u64 seg_mnt;          /* its struct mount * */
	__u64 seg_root;         /* that mount's root dentry */
	__u64 watch_mask;       /* bit k: level k of the first segment is a watch */
	struct fsp_cache_key hit_key;
	__u32 hit_verdict;
	__u32 _pad1;
	__u64 seg_ino[FSP_SEG_MAX];
	__u32 seg_gen[FSP_SEG_MAX];
	__u16 seg_name_off[FSP_SEG_MAX];
	__u16 seg_name_len[FSP_SEG_MAX];   /* without the NUL */
};

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
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct fsp_pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct fsp_pending_short);
} pending_short SEC(".maps");

/*
 * Open files (struct file addresses) already reported as modified: the VFS
 * backends report one modify per open file description, not one per write;
 * the entry goes when the file is freed.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} modified_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fsp_scratch);
} scratch SEC(".maps");

static __always_inline struct fsp_scratch *fsp_scratch_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline void fsp_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

#endif /* FSP_COMMON_BPF_H */
