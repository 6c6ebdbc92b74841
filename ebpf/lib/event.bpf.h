/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finishing an event: the task's identity, the filter's decision, emission. */
#ifndef FSP_EVENT_BPF_H
#define FSP_EVENT_BPF_H

#include "common.bpf.h"
#include "path.bpf.h"

/*
 * The current task's uid, gid and name. From 5.11 with plain loads of its
 * credentials and comm (bpf_get_current_task_btf): the helpers cost a call
 * each, and the name's a copy of it byte by byte: some 7 % of a watched
 * open's BPF time on 6.18. The values are the helpers' own: the uid and gid
 * of current_cred(), as the initial user namespace sees them (a kuid is
 * that), and the comm, which the kernel keeps NUL-terminated and padded.
 */
static __always_inline void fsp_event_set_ids_and_comm(struct fsp_event *ev)
{
	if (fsp_have_task_btf()) {
		struct task_struct *task = bpf_get_current_task_btf();
		const struct cred *cred = task->cred;

		ev->uid = cred->uid.val;
		ev->gid = cred->gid.val;
		__builtin_memcpy(ev->comm, task->comm, sizeof(ev->comm));
	} else {
		__u64 uid_gid = bpf_get_current_uid_gid();

		ev->uid = (__u32)uid_gid;
		ev->gid = uid_gid >> 32;
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	}
}

/* Time, type and the current task's identity. */
static __always_inline void fsp_event_set_task(struct fsp_event *ev, __u32 type, __u64 pid_tgid)
{
	ev->timestamp_ns = bpf_ktime_get_boot_ns();
	ev->event_type = type;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	fsp_event_set_ids_and_comm(ev);
	ev->xattr_offset = 0;
	ev->xattr_len = 0;
}

/*
 * Apply the per-path verdicts: false (and counted) when neither path is
 * watched; paths the kernel could not decide are flagged for user space.
 */
static __always_inline bool fsp_filter_verdicts(struct fsp_event *ev, int v_src, int v_tgt)
{
	if (!cfg_paths_filtering)
		return true;
	if (v_src == FSP_V_NO && v_tgt == FSP_V_NO) {
		fsp_stat_inc(FSP_STAT_FILTERED);
		return false;
	}
	if (v_src == FSP_V_MAYBE)
		ev->src.flags |= FSP_PATH_NEEDS_FILTER;
	if (v_tgt == FSP_V_MAYBE)
		ev->target.flags |= FSP_PATH_NEEDS_FILTER;
	return true;
}

/* A set's XATTR_CREATE (1) / XATTR_REPLACE (2) as FSP_SETATTR_* bits. */
static __always_inline __u32 fsp_xattr_set_kind(long flags)
{
	return FSP_SETATTR_XATTR | ((flags & 1) ? FSP_SETATTR_XATTR_CREATE : 0) |
	       ((flags & 2) ? FSP_SETATTR_XATTR_REPLACE : 0);
}

/*
 * The extended attribute's name, appended to the data after the paths and
 * the executable (from kernel memory on the VFS backends, where the kernel
 * has its own copy; from the caller's on the tracepoint backend).
 */
static __always_inline void fsp_event_add_xattr_name(struct fsp_record *rec, const char *name, bool user)
{
	__u32 off = rec->ev.data_len;
	__u32 size = FSP_XATTR_NAME_MAX + 1;
	long n;

	rec->ev.xattr_offset = off < FSP_DATA_SIZE ? off : FSP_DATA_SIZE;
	rec->ev.xattr_len = 0;
	if (off >= FSP_DATA_SIZE || !name)
		return;
	/* The name must end inside the data the event carries. */
	if (size > FSP_DATA_SIZE - off)
		size = FSP_DATA_SIZE - off;
	barrier_var(size);
	if (size == 0 || size > FSP_XATTR_NAME_MAX + 1)
		return;
	if (user)
		n = bpf_probe_read_user_str(fsp_data_at(rec, off), size, name);
	else
		n = bpf_probe_read_kernel_str(fsp_data_at(rec, off), size, name);
	/* n == size below the longest name: cut short by the room left. */
	if (n <= 1 || (__u32)n > size || ((__u32)n == size && size <= FSP_XATTR_NAME_MAX))
		return;
	rec->ev.xattr_len = n - 1;
	rec->ev.data_len = off + n - 1;
}

/*
 * Waking the reader costs the writer an interrupt and the reader a context
 * switch; at a high rate, once per event would be most of the cost (under a
 * hypervisor the interrupt is a self-IPI, an exit to the host: measured at
 * 70 % of a watched open). So a record wakes the reader only
 *  - when FSP_WAKEUP_INTERVAL_NS have passed since the last wake-up (a lone
 *    event, so at low rates each one), or
 *  - when it is the record that brings what waits to cfg_wakeup_bytes.
 * Not every record above that mark: while the reader is behind it is awake
 * and reads on until the ring is empty, and a wake-up per record would only
 * slow the writers (it did: 60 % of records raised one). The others stay for
 * the reader, which reads at the next wake-up or at its poll timeout
 * (FSP_READER_POLL_MS in fsprobe.h), whichever comes first: so no record
 * waits longer than that.
 */
#define FSP_WAKEUP_INTERVAL_NS 1000000ull
__u64 fsp_last_wakeup_ns = 0;

static __always_inline __u64 fsp_wakeup_flag(__u64 now, __u32 size)
{
	__u64 waiting;

	if (now - fsp_last_wakeup_ns >= FSP_WAKEUP_INTERVAL_NS)
		goto wake;
	waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (waiting < cfg_wakeup_bytes && waiting + size >= cfg_wakeup_bytes)
		goto wake;
	return BPF_RB_NO_WAKEUP;
wake:
	fsp_last_wakeup_ns = now; /* racy across CPUs: at worst one wake-up more */
	return BPF_RB_FORCE_WAKEUP;
}

/*
 * Write rec (header + ev.data_len bytes of data) to the ring buffer. max:
 * the data room rec has (FSP_DATA_SIZE, or less for a short pending event),
 * a bound the verifier needs.
 */
static __always_inline void fsp_emit_upto(struct fsp_record *rec, __u32 max)
{
	__u32 len = rec->ev.data_len;

	/* Counted for emitted (not filtered) events only. */
	if (rec->ev.src.flags & FSP_PATH_TRUNCATED)
		fsp_stat_inc(FSP_STAT_TRUNCATED);
	if (rec->ev.target.flags & FSP_PATH_TRUNCATED)
		fsp_stat_inc(FSP_STAT_TRUNCATED);
	/*
	 * Without the barrier clang copies len to another register, tests one
	 * and passes the other: the 6.1 verifier does not carry the bound
	 * across that 32-bit copy (6.12's does) and rejects the size.
	 */
	barrier_var(len);
	if (len > max)
		len = max;
	if (bpf_ringbuf_output(&events, rec, sizeof(rec->ev) + len,
			       fsp_wakeup_flag(rec->ev.timestamp_ns, sizeof(rec->ev) + len)))
		fsp_stat_inc(FSP_STAT_RINGBUF_FULL);
	else
		fsp_stat_inc(FSP_STAT_EMITTED);
}

static __always_inline void fsp_emit(struct fsp_record *rec)
{
	fsp_emit_upto(rec, FSP_DATA_SIZE);
}

#endif /* FSP_EVENT_BPF_H */
