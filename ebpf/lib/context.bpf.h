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
	return ns ? BPF_CORE_READ(ns, inum) : 0;
}
#define FSP_NS_INUM(nsp) fsp_ns_inum((nsp) ? (struct ns_common *)((char *)(nsp) + bpf_core_field_offset(typeof(*(nsp)), ns)) : NULL)

/* The pid namespace task's pid lives in: its pid's entry at the deepest level. */
static __always_inline __u32 fsp_task_pid_ns(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	struct upid upid = {};
	struct pid_namespace *ns;
	unsigned int level;

	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
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

static __always_inline void fsp_context_task(struct fsp_task_info *ti, struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);

	ti->start_boottime = BPF_CORE_READ(task, group_leader, start_boottime);
	ti->cgroup_id = bpf_get_current_cgroup_id();
	ti->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ti->loginuid = FSP_ID_UNSET;
	ti->sessionid = FSP_ID_UNSET;
	if (bpf_core_field_exists(task->loginuid)) { /* CONFIG_AUDIT */
		ti->loginuid = BPF_CORE_READ(task, loginuid.val);
		ti->sessionid = BPF_CORE_READ(task, sessionid);
	}
	ti->euid = BPF_CORE_READ(cred, euid.val);
	ti->egid = BPF_CORE_READ(cred, egid.val);
	struct user_namespace *user_ns = BPF_CORE_READ(cred, user_ns);
	struct mnt_namespace *mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns);

	ti->user_ns = FSP_NS_INUM(user_ns);
	ti->mnt_ns = FSP_NS_INUM(mnt_ns);
	ti->pid_ns = fsp_task_pid_ns(task);
}

/*
 * The executable's path, appended to the event's data after its other
 * paths (so it gets whatever room they left). Its walk uses and feeds the
 * resolution caches like theirs: the directories of executables are few
 * and hot, so the walk usually stops at the first one.
 */
static __always_inline void fsp_context_exe(struct fsp_scratch *s, struct task_struct *task)
{
	struct fsp_event *ev = &s->p.rec.ev;
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	__u32 off = ev->data_len;

	if (!exe || off >= FSP_DATA_SIZE) {
		__builtin_memset(&ev->exe, 0, sizeof(ev->exe));
		ev->exe.offset = off < FSP_DATA_SIZE ? off : FSP_DATA_SIZE;
		if (exe)
			ev->exe.flags = FSP_PATH_TRUNCATED;
		return;
	}
	fsp_path_walk(s, &ev->exe, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt), &off,
		      FSP_DATA_SIZE);
	ev->data_len = off;
}

/* Everything above, for the event in scratch, once the filter has kept it. */
static __always_inline void fsp_event_add_context(struct fsp_scratch *s)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	fsp_context_task(&s->p.rec.ev.task, task);
	fsp_context_exe(s, task);
}

#endif /* FSP_CONTEXT_BPF_H */
