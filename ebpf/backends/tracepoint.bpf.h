/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracepoint backend: one program on tp_btf/sys_exit decodes the x86_64
 * file-system syscalls that just returned, resolves their paths (fully from
 * a file descriptor, or as "base directory + caller string" for path-based
 * calls), applies the in-kernel watch filter and emits the event.
 *
 * Reported: successes and failures alike (retval carries -errno), as long
 * as the path can be located: an fd that no longer resolves (EBADF, closed
 * by another thread) drops the event. Modify events are reported only for
 * regular files. Not seen by this backend: io_uring, writes through mmap.
 */
#ifndef FSP_BACKEND_TRACEPOINT_BPF_H
#define FSP_BACKEND_TRACEPOINT_BPF_H

#include "../lib/common.bpf.h"
#include "../lib/task.bpf.h"
#include "../lib/path.bpf.h"
#include "../lib/context.bpf.h"
#include "../lib/caller.bpf.h"
#include "../lib/event.bpf.h"
#include "../lib/syscalls.bpf.h"
#include "tp_decode.bpf.h"
#include "tp_paths.bpf.h"
#include "tp_attr.bpf.h"

/*
 * Calls that may move or remove a directory bump the cache epoch from
 * their entry to their exit (see lib/cache.bpf.h). Both programs run for
 * every syscall of every task: their first test, one load from the table
 * of lib/syscalls.bpf.h, lets every call fsprobe has no use for go.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(fsp_tp_sys_enter, struct pt_regs *regs, long id)
{
	long nr = id & ~(long)FSP_X32_SYSCALL_BIT;
	__u32 kind = fsp_syscall_kind_of(nr);

	if (cfg_empty_programs || !(kind & (FSP_SC_MOVES | FSP_SC_MOVES32)))
		return 0;
	if (fsp_moves_directories(nr, kind, fsp_current_in_compat(), regs))
		fsp_epoch_enter();
	return 0;
}

/*
 * A system call that may be reported, as sys_exit decoded it: what
 * fsp_tp_report needs besides the scratch event. Per CPU, like the scratch.
 */
struct fsp_tp_call {
	struct fsp_op op;
	struct fsp_attr_values attr; /* FSP_EVENT_SETATTR: what it sets */
	long nr;
	long ret;
	__u64 pid_tgid;
};

FSP_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, tp_calls, 1, __u32, struct fsp_tp_call);

/*
 * Build and filter the event of the call in tp_calls, in scratch; 1 when
 * it is kept. Global (not static): the verifier checks it once, on its
 * own, instead of once for each of the calls fsp_decode tells apart, which
 * would pass its limit. The caller adds the context: called from here, its
 * walk would make the stack of nested calls too deep.
 */
__noinline int fsp_tp_build(__u32 tgid)
{
	__u32 zero = 0, off = 0, limit;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fsp_tp_call *c = bpf_map_lookup_elem(&tp_calls, &zero);
	struct fsp_scratch *s = fsp_scratch_get();
	int v_src, v_tgt = FSP_V_NO;
	struct fsp_op *op;

	if (!c || !s)
		return 0;
	op = &c->op;
	/* Source path; when there is a target, keep room for it. */
	limit = FSP_DATA_SIZE;
	if (op->src.kind == FSP_SRC_AT)
		limit -= FSP_CALLER_MAX;
	if (op->target.kind != FSP_SRC_NONE)
		limit -= FSP_CALLER_MAX + FSP_TARGET_RESERVE;
	v_src = fsp_fill(s, &s->p.rec.ev.src, task, &op->src, &off, limit, &s->walk, &s->scan);
	if (v_src < 0)
		return 0;
	if (op->target.kind != FSP_SRC_NONE) {
		limit = FSP_DATA_SIZE;
		if (op->target.kind == FSP_SRC_AT)
			limit -= FSP_CALLER_MAX;
		v_tgt = fsp_fill(s, &s->p.rec.ev.target, task, &op->target, &off, limit, &s->walk, &s->scan);
		if (v_tgt < 0)
			return 0;
	} else {
		fsp_path_clear(&s->p.rec.ev.target);
	}

	if (!fsp_filter_verdicts(&s->p.rec.ev, v_src, v_tgt))
		return 0;
	fsp_event_set_task(&s->p.rec.ev, op->type, c->pid_tgid);
	s->p.rec.ev.flags = op->flags;
	s->p.rec.ev.mode = op->mode;
	s->p.rec.ev.syscall_nr = c->nr;
	s->p.rec.ev.retval = c->ret;
	s->p.rec.ev.data_len = off;
	if (op->type == FSP_EVENT_SETATTR) {
		s->p.rec.ev.attr = c->attr;
	} else {
		__builtin_memset(&s->p.rec.ev.attr, 0, sizeof(s->p.rec.ev.attr));
		/* The write family returns the bytes written (fallocate: 0, no count). */
		if (op->type == FSP_EVENT_MODIFY && c->ret >= 0 && c->nr != FSP_NR_fallocate) {
			s->p.rec.ev.attr.size = c->ret;
			s->p.rec.ev.attr.valid = FSP_ATTR_SIZE;
		}
	}
	return tgid != 0 || c->pid_tgid == 0; /* tgid only keeps the argument set: see fsp_context_add */
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fsp_tp_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 kind, zero = 0;
	struct fsp_scratch *s;
	struct fsp_tp_call *c;
	__u64 pid_tgid;
	bool compat;
	long nr;

	if (cfg_empty_programs)
		return 0;
	/* A direct (BTF) load: no helper call before the first test. */
	nr = regs->orig_ax & ~(long)FSP_X32_SYSCALL_BIT;
	kind = fsp_syscall_kind_of(nr);
	if (!(kind & (FSP_HOOKED_MASK | FSP_SC_MOVES | FSP_SC_MOVES32)))
		return 0;
	if (kind & (FSP_SC_MOVES | FSP_SC_MOVES32)) {
		compat = fsp_current_in_compat();
		if (fsp_moves_directories(nr, kind, compat, regs))
			fsp_epoch_exit();
		if (compat)
			return 0;
	}
	if (!(kind & FSP_HOOKED_MASK))
		return 0;
	c = bpf_map_lookup_elem(&tp_calls, &zero);
	if (!c)
		return 0;
	__builtin_memset(&c->op, 0, sizeof(c->op));
	/*
	 * The cheapest exits first: a discarder (fsp_src_file) may drop the
	 * event before the checks below, which only ever drop events too. An
	 * ia32 call read through the x86_64 table may reach fsp_src_file with
	 * meaningless arguments: it only reads, and is dropped just after.
	 */
	if (!fsp_decode(regs, nr, ret, &c->op))
		return 0;
	if (c->op.type >= FSP_EVENT_TYPE_COUNT || !(FSP_HOOKED_MASK & (1u << c->op.type)))
		return 0;
	/*
	 * A rename hooked only for --follow: here user space follows, from
	 * the event (the paths are the caller's strings, placed after the
	 * move), so it gets the renames that moved something, marked.
	 */
	if (!(cfg_event_mask & (1u << c->op.type))) {
		if (ret != 0)
			return 0;
		c->op.flags |= FSP_RENAME_UNSELECTED;
	}
	if (c->op.src.kind == FSP_SRC_FD && !fsp_src_file(&c->op.src, c->op.need_reg))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (cfg_self_tgid && (__u32)(pid_tgid >> 32) == cfg_self_tgid)
		return 0;
	if (!(kind & (FSP_SC_MOVES | FSP_SC_MOVES32)) && fsp_current_in_compat())
		return 0;
	c->nr = nr;
	c->ret = ret;
	c->pid_tgid = pid_tgid;
	if (c->op.type == FSP_EVENT_SETATTR)
		fsp_tp_attr(regs, nr, c->op.mode, &c->attr);
	if (!fsp_tp_build(pid_tgid >> 32))
		return 0;
	s = fsp_scratch_get();
	if (!s)
		return 0;
	fsp_event_add_context(s);
	if (c->op.xattr_name)
		fsp_event_add_xattr_name(&s->p.rec, c->op.xattr_name, true);
	fsp_emit(&s->p.rec);
	return 0;
}

#endif /* FSP_BACKEND_TRACEPOINT_BPF_H */
