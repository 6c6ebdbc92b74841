/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The context of an event that passed the filter: who the acting process is
 * (parent, start time, audit login, effective ids, cgroup, namespaces) and
 * its executable, walked like any other path so it is resolved by the
 * kernel, not read back later from /proc (the process may be gone by then,
 * or have exec'd something else).
 */
#ifndef FSP_CONTEXT_BPF_H
#define FSP_CONTEXT_BPF_H

#include "common.bpf.h"
#include "path.bpf.h"

/* Inode number of a namespace (what /proc/PID/ns/NAME links to); every kind embeds ns_common. */
static __always_inline __u32 fsp_ns_inum(struct ns_common *ns)
{
	return ns ? FSP_READ(ns, inum) : 0;
}
#define FSP_NS_INUM(nsp) fsp_ns_inum((nsp) ? (struct ns_common *)((char *)(nsp) + bpf_core_field_offset(typeof(*(nsp)), ns)) : NULL)

/* The pid namespace task's pid lives in: its pid's entry at the deepest level. */
static __always_inline __u32 fsp_task_pid_ns(struct task_struct *task)
{
	struct pid *pid = FSP_READ(task, thread_pid);
	struct upid upid = {};
	struct pid_namespace *ns;
	unsigned int level;

	if (!pid)
		return 0;
	level = FSP_READ(pid, level);
	if (level > 32) /* MAX_PID_NS_LEVEL */
		return 0;
	/* numbers[] is a trailing array: its offset comes from the kernel's BTF. */
	if (bpf_probe_read_kernel(&upid, sizeof(upid),
				  (char *)pid + bpf_core_field_offset(struct pid, numbers) +
					  level * sizeof(struct upid)) < 0)
		return 0;
	ns = upid.ns;
	return FSP_NS_INUM(ns);
}

/* What of the acting task's context can change without its identity changing: read for every event. */
static __always_inline void fsp_context_volatile(struct fsp_task_info *ti)
{
	ti->cgroup_id = bpf_get_current_cgroup_id();
	ti->loginuid = FSP_ID_UNSET;
	ti->sessionid = FSP_ID_UNSET;
	if (fsp_have_task_btf()) {
		struct task_struct *task = bpf_get_current_task_btf();

		ti->ppid = task->real_parent->tgid; /* a parent's exit reparents */
		if (bpf_core_field_exists(task->loginuid)) { /* CONFIG_AUDIT; set once, after a login */
			ti->loginuid = task->loginuid.val;
			ti->sessionid = task->sessionid;
		}
		return;
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	ti->ppid = FSP_READ(task, real_parent, tgid);
	if (bpf_core_field_exists(task->loginuid)) {
		ti->loginuid = FSP_READ(task, loginuid.val);
		ti->sessionid = FSP_READ(task, sessionid);
	}
}

/* The rest of the task's context, which holds as long as its identity (below) does. */
static __always_inline void fsp_context_task(struct fsp_task_info *ti, struct task_struct *task)
{
	const struct cred *cred = FSP_READ(task, cred);

	ti->start_boottime = FSP_READ(task, group_leader, start_boottime);
	ti->euid = FSP_READ(cred, euid.val);
	ti->egid = FSP_READ(cred, egid.val);
	struct user_namespace *user_ns = FSP_READ(cred, user_ns);
	struct mnt_namespace *mnt_ns = FSP_READ(task, nsproxy, mnt_ns);

	ti->user_ns = FSP_NS_INUM(user_ns);
	ti->mnt_ns = FSP_NS_INUM(mnt_ns);
	ti->pid_ns = fsp_task_pid_ns(task);
	fsp_context_volatile(ti);
}

/*
 * The process context cache. Resolving who acted (ids, namespaces, start
 * time) and walking the executable's path cost more than the event's own
 * path, and they are the same for every event of a process: they are kept
 * per thread group, with the executable's names walked once without the
 * resolution caches (so its bytes hold no anchor that could go stale).
 * An entry is used only while the task still has the same identity: the
 * same start time (a reused pid is another process), executable file
 * (exec, prctl), credentials (setuid and friends make new ones) and
 * namespaces (setns, unshare make a new nsproxy); exec also drops it
 * (fsp_any_exec below). What can change without any of these (parent,
 * cgroup, audit login) is read for every event. The entries are struct
 * fsp_process (lib/common.bpf.h).
 */
FSP_MAP(BPF_MAP_TYPE_LRU_HASH, processes, 8192, __u32 /* tgid */, struct fsp_process);

/* The current task's identity, as cheap as this kernel allows. */
static __always_inline void fsp_current_identity(struct fsp_identity *id)
{
	if (fsp_have_task_btf()) {
		struct task_struct *task = bpf_get_current_task_btf();

		id->start_boottime = task->group_leader->start_boottime;
		id->exe_file = (__u64)task->mm->exe_file; /* no mm (kernel thread): 0 */
		id->cred = (__u64)task->cred;
		id->nsproxy = (__u64)task->nsproxy;
		return;
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	id->start_boottime = FSP_READ(task, group_leader, start_boottime);
	id->exe_file = (__u64)FSP_READ(task, mm, exe_file);
	id->cred = (__u64)FSP_READ(task, cred);
	id->nsproxy = (__u64)FSP_READ(task, nsproxy);
}

/*
 * The executable's path, appended to the event's data after its other
 * paths (so it gets whatever room they left), walked without the caches;
 * then the whole context is kept in processes when the path fits.
 */
static __always_inline void fsp_context_resolve(struct fsp_scratch *s, struct fsp_identity *id, __u32 tgid)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fsp_event *ev = &s->p.rec.ev;
	struct fsp_process *proc = &s->value.process;
	struct file *exe = (struct file *)id->exe_file;
	__u32 start = ev->data_len, off = start, len;

	fsp_context_task(&ev->task, task);
	if (!exe || off >= FSP_DATA_SIZE) {
		__builtin_memset(&ev->exe, 0, sizeof(ev->exe));
		ev->exe.offset = off < FSP_DATA_SIZE ? off : FSP_DATA_SIZE;
		if (exe)
			ev->exe.flags = FSP_PATH_TRUNCATED;
		return;
	}
	fsp_path_walk(s, &ev->exe, FSP_READ(exe, f_path.dentry), FSP_READ(exe, f_path.mnt), &off,
		      FSP_DATA_SIZE, FSP_CACHE_NONE);
	ev->data_len = off;
	len = off - start;
	if (len > FSP_EXE_CACHE_MAX || (ev->exe.flags & FSP_PATH_TRUNCATED))
		return;
	proc->id = *id;
	proc->ti = ev->task;
	proc->exe = ev->exe;
	proc->exe.offset = 0;
	proc->exe_len = len;
	proc->_pad = 0;
	barrier_var(len);
	if (len > FSP_EXE_CACHE_MAX)
		return;
	bpf_probe_read_kernel(proc->exe_bytes, len & (2 * FSP_EXE_CACHE_MAX - 1),
			      &s->p.rec.data[start & FSP_DATA_MASK]);
	bpf_map_update_elem(&processes, &tgid, proc, BPF_ANY);
}

/*
 * The cached executable's len bytes to dst, a place in the scratch data
 * (whose slack past FSP_DATA_SIZE takes a whole FSP_EXE_CACHE_MAX). Both
 * are map values, so plain loads and stores do, in 64-byte blocks (the
 * last one partly past len): for the some tens of bytes of a usual path a
 * handful of instructions, where a helper call copied them with the checks
 * meant for kernel memory (some 16 ns of a watched open's 1,030 ns of BPF
 * time on 6.18).
 */
#define FSP_EXE_COPY_BLOCK 64
#define FSP_EXE_COPY_BLOCK_AT(dst, src, len, n)                                          \
	do {                                                                                   \
		if ((len) <= (n) * FSP_EXE_COPY_BLOCK)                                        \
			return;                                                                \
		__builtin_memcpy((dst) + (n) * FSP_EXE_COPY_BLOCK, (src) + (n) * FSP_EXE_COPY_BLOCK, \
				 FSP_EXE_COPY_BLOCK);                                          \
	} while (0)
static __always_inline void fsp_copy_exe_bytes(char *dst, const char *src, __u32 len)
{
	FSP_EXE_COPY_BLOCK_AT(dst, src, len, 0);
	FSP_EXE_COPY_BLOCK_AT(dst, src, len, 1);
	FSP_EXE_COPY_BLOCK_AT(dst, src, len, 2);
	FSP_EXE_COPY_BLOCK_AT(dst, src, len, 3);
}
_Static_assert(FSP_EXE_CACHE_MAX == 4 * FSP_EXE_COPY_BLOCK, "four blocks hold the cached executable");
_Static_assert(FSP_CALLER_MAX >= FSP_EXE_CACHE_MAX, "scratch slack takes the last block");

/*
 * Everything above, for the event in scratch, once the filter has kept it.
 * Global (not static): the verifier checks it once, on its own, rather than
 * once per path of every program that calls it.
 */
__noinline int fsp_context_add(__u32 tgid)
{
	struct fsp_scratch *s = fsp_scratch_get();
	struct fsp_identity id;
	struct fsp_process *proc;
	struct fsp_event *ev;
	__u32 off, len;

	if (!s)
		return 0;
	ev = &s->p.rec.ev;
	off = ev->data_len;

	fsp_current_identity(&id);
	proc = bpf_map_lookup_elem(&processes, &tgid);
	if (!proc || proc->id.start_boottime != id.start_boottime || proc->id.exe_file != id.exe_file ||
	    proc->id.cred != id.cred || proc->id.nsproxy != id.nsproxy) {
		fsp_context_resolve(s, &id, tgid);
		return 0;
	}
	len = proc->exe_len;
	barrier_var(len);
	if (len > FSP_EXE_CACHE_MAX || off + len > FSP_DATA_SIZE) {
		fsp_context_resolve(s, &id, tgid); /* no room for the cached bytes here */
		return 0;
	}
	ev->task = proc->ti;
	fsp_context_volatile(&ev->task);
	ev->exe = proc->exe;
	ev->exe.offset = off;
	fsp_copy_exe_bytes(fsp_data_at(&s->p.rec, off), proc->exe_bytes, len);
	ev->data_len = off + len;
	return 0;
}

static __always_inline void fsp_event_add_context(struct fsp_scratch *s)
{
	/* The argument is used: clang leaves an unused one unset, which the verifier refuses. */
	fsp_context_add(s->p.rec.ev.pid);
}

/* An exec ends its thread group's cached context (the identity check would catch it too). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(fsp_any_exec, struct task_struct *p)
{
	__u32 tgid;

	if (cfg_empty_programs)
		return 0;
	tgid = p->tgid;
	bpf_map_delete_elem(&processes, &tgid);
	return 0;
}

#endif /* FSP_CONTEXT_BPF_H */
