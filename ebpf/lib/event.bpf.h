/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finishing an event: the task's identity, the filter's decision, emission. */
#ifndef FSP_EVENT_BPF_H
#define FSP_EVENT_BPF_H

#include "common.bpf.h"
#include "path.bpf.h"

/* Time, type and the current task's identity. */
static __always_inline void fsp_event_set_task(struct fsp_event *ev, __u32 type, __u64 pid_tgid)
{
	__u64 uid_gid = bpf_get_current_uid_gid();

	ev->timestamp_ns = bpf_ktime_get_boot_ns();
	ev->event_type = type;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->uid = (__u32)uid_gid;
	ev->gid = uid_gid >> 32;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->_pad = 0;
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

/* Write rec (header + ev.data_len bytes of data) to the ring buffer. */
static __always_inline void fsp_emit(struct fsp_record *rec)
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
	if (len > FSP_DATA_SIZE)
		len = FSP_DATA_SIZE;
	if (bpf_ringbuf_output(&events, rec, sizeof(rec->ev) + len, 0))
		fsp_stat_inc(FSP_STAT_RINGBUF_FULL);
	else
		fsp_stat_inc(FSP_STAT_EMITTED);
}

#endif /* FSP_EVENT_BPF_H */
