/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Choosing, before load, which programs of the one BPF object run: those of
 * the requested backend, in the variants that fit the running kernel.
 * Relies on the naming rules of ebpf/fsprobe.bpf.c:
 *   fsp_tp_ / fsp_fe_ / fsp_kp_   the backend a program belongs to;
 *   fsp_any_                      a tracepoint every backend runs;
 *   __aN                          an fexit variant for a prototype of N arguments;
 *   __opt                         a hook some supported kernels do not have;
 *   __kpalt                       (fentry backend) a kprobe standing in for the
 *                                 fentry program of the same hook where the
 *                                 kernel's trampolines cannot take its prototype;
 *   __ts / __hm                   (fentry and kprobe backends) keeping per-thread state
 *                                 in task storage, where the kernel lets tracing
 *                                 programs use it (5.12+), or in a map by thread id.
 */
#include "CFSProbeBPF.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static const char *const fsp_backend_prefix[] = {
	[FSP_BACKEND_TRACEPOINT] = "fsp_tp_",
	[FSP_BACKEND_FENTRY] = "fsp_fe_",
	[FSP_BACKEND_KPROBE] = "fsp_kp_",
};

/* The kernel function a program attaches to: the part of its section after '/'. */
static const char *fsp_attach_function(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *slash = sec ? strchr(sec, '/') : NULL;

	return slash ? slash + 1 : NULL;
}

/* Number of arguments of kernel function name, or -1 when BTF lacks it. */
static int fsp_function_arity(const struct btf *btf, const char *name)
{
	const struct btf_type *proto;
	__s32 id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);

	if (id < 0)
		return -1;
	proto = btf__type_by_id(btf, btf__type_by_id(btf, (__u32)id)->type);
	return proto ? (int)btf_vlen(proto) : -1;
}

/* True when kernel function name returns a pointer. */
static bool fsp_function_returns_pointer(const struct btf *btf, const char *name)
{
	const struct btf_type *t;
	__s32 id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);

	if (id < 0)
		return false;
	t = btf__type_by_id(btf, btf__type_by_id(btf, (__u32)id)->type);
	if (!t || !t->type)
		return false;
	return btf_is_ptr(btf__type_by_id(btf, t->type));
}

/* The running kernel's (major, minor) as one number, e.g. 601 for 6.1. */
static unsigned fsp_kernel_version(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) == 0)
		sscanf(u.release, "%u.%u", &major, &minor);
	return major * 100 + minor;
}

/*
 * True when a trampoline cannot attach to kernel function name: it takes a
 * struct by value (security_path_chown's kuid_t), which trampolines accept
 * only from 6.1 on.
 */
static bool fsp_trampoline_refuses(const struct btf *btf, const char *name)
{
	const struct btf_param *param;
	const struct btf_type *proto;
	__s32 id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	int i;

	if (id < 0 || fsp_kernel_version() >= 601)
		return false;
	proto = btf__type_by_id(btf, btf__type_by_id(btf, (__u32)id)->type);
	if (!proto)
		return false;
	param = btf_params(proto);
	for (i = 0; i < btf_vlen(proto); i++) {
		const struct btf_type *t = btf__type_by_id(btf, param[i].type);

		while (t && (btf_is_typedef(t) || btf_is_mod(t)))
			t = btf__type_by_id(btf, t->type);
		if (t && (btf_is_struct(t) || btf_is_union(t)))
			return true;
	}
	return false;
}

#define FSP_EV(type) (1u << (type))

/*
 * The event types each hooked kernel function serves: a program is loaded
 * only when one of them is selected, so an unselected type costs its hooks
 * nothing. Functions not listed are hooked whatever is selected: vfs_rename
 * and vfs_rmdir keep the cache epochs (lib/cache.bpf.h).
 */
static const struct {
	const char *function;
	__u32 events;
} fsp_hook_events[] = {
	{ "vfs_open", FSP_EV(FSP_EVENT_OPEN) },
	{ "security_file_permission", FSP_EV(FSP_EVENT_MODIFY) },
	{ "security_file_free", FSP_EV(FSP_EVENT_MODIFY) },
	{ "security_path_mkdir", FSP_EV(FSP_EVENT_MKDIR) },
	{ "vfs_mkdir", FSP_EV(FSP_EVENT_MKDIR) },
	{ "security_path_rmdir", FSP_EV(FSP_EVENT_RMDIR) },
	{ "security_path_unlink", FSP_EV(FSP_EVENT_UNLINK) },
	{ "vfs_unlink", FSP_EV(FSP_EVENT_UNLINK) },
	{ "security_path_rename", FSP_EV(FSP_EVENT_RENAME) },
	{ "security_path_link", FSP_EV(FSP_EVENT_LINK) },
	{ "vfs_link", FSP_EV(FSP_EVENT_LINK) },
	{ "security_path_chmod", FSP_EV(FSP_EVENT_SETATTR) },
	{ "security_path_chown", FSP_EV(FSP_EVENT_SETATTR) },
	{ "security_path_truncate", FSP_EV(FSP_EVENT_SETATTR) },
	{ "security_file_truncate", FSP_EV(FSP_EVENT_SETATTR) },
	{ "vfs_utimes", FSP_EV(FSP_EVENT_SETATTR) },
	{ "notify_change", FSP_EV(FSP_EVENT_SETATTR) },
	{ "mnt_want_write", FSP_EV(FSP_EVENT_SETATTR) },
	{ "mnt_want_write_file", FSP_EV(FSP_EVENT_SETATTR) },
	{ "vfs_setxattr", FSP_EV(FSP_EVENT_SETATTR) },
	{ "vfs_removexattr", FSP_EV(FSP_EVENT_SETATTR) },
	{ "vfs_set_acl", FSP_EV(FSP_EVENT_SETATTR) },
	{ "vfs_remove_acl", FSP_EV(FSP_EVENT_SETATTR) },
};

/* Whether a VFS hook on function fn serves one of the selected event types. */
static bool fsp_hook_serves(const char *fn, __u32 event_mask)
{
	size_t i;

	if (!fn)
		return true; /* the split parts of vfs_rmdir (no function in the section) */
	for (i = 0; i < sizeof(fsp_hook_events) / sizeof(fsp_hook_events[0]); i++)
		if (strcmp(fsp_hook_events[i].function, fn) == 0)
			return (fsp_hook_events[i].events & event_mask) != 0;
	return true;
}

/*
 * Asked of the running kernel, which loads the programs, whatever BTF
 * describes it. Kprobe and fentry programs got task storage in the same
 * kernel (5.12); a kprobe program is the one that can be probed without a
 * function to attach to.
 */
bool fsp_tracing_has_task_storage(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_task_storage_get, NULL) == 1;
}

/* Whether program name, of a backend keeping state in task storage or not, fits. */
static bool fsp_storage_variant_fits(const char *name, bool task_storage)
{
	if (strstr(name, "__ts"))
		return task_storage;
	if (strstr(name, "__hm"))
		return !task_storage;
	return true;
}

int fsp_skel_select(struct fsprobe_bpf *s, enum fsp_backend backend, __u32 event_mask, const char *btf_path,
		    char *missing, size_t missing_size)
{
	const char *prefix = fsp_backend_prefix[backend];
	bool task_storage = backend != FSP_BACKEND_TRACEPOINT && fsp_tracing_has_task_storage();
	struct bpf_program *prog;
	struct btf *btf;
	int err = 0;

	btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	if (missing_size)
		missing[0] = '\0';

	bpf_object__for_each_program(prog, s->obj) {
		const char *name = bpf_program__name(prog);
		const char *fn = fsp_attach_function(prog);
		const char *variant = strstr(name, "__a");
		bool any = strncmp(name, "fsp_any_", strlen("fsp_any_")) == 0;
		bool wanted = any || strncmp(name, prefix, strlen(prefix)) == 0;
		bool vfs = wanted && !any && backend != FSP_BACKEND_TRACEPOINT;
		int arity;

		if (vfs)
			wanted = fsp_hook_serves(fn, event_mask);
		if (vfs && wanted && fn) {
			arity = fsp_function_arity(btf, fn);
			if (arity < 0) {
				wanted = false;
				if (!strstr(name, "__opt") && !err) {
					snprintf(missing, missing_size, "%s", fn);
					err = -ENOENT;
				}
			} else if (variant && atoi(variant + 3) != arity) {
				wanted = false;
			} else if (backend == FSP_BACKEND_FENTRY) {
				/* The kprobe stand-in runs exactly where the trampoline cannot. */
				wanted = (strstr(name, "__kpalt") != NULL) == fsp_trampoline_refuses(btf, fn);
			}
		}
		bpf_program__set_autoload(prog, wanted && fsp_storage_variant_fits(name, task_storage));
	}
	/* Only the __ts programs use it, and 5.10 has no task storage to create. */
	bpf_map__set_autocreate(s->maps.opening_slots, task_storage);

	s->rodata->cfg_mkdir_returns_dentry = fsp_function_returns_pointer(btf, "vfs_mkdir");
	btf__free(btf);
	return err;
}

/* True when /proc/kallsyms lists symbol (as a text symbol). */
static bool fsp_kallsyms_has(const char *symbol)
{
	char line[512], name[256], type;
	unsigned long long addr;
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
			strcmp(name, symbol) == 0;
	fclose(f);
	return found;
}

int fsp_skel_attach_split_parts(struct fsprobe_bpf *s, enum fsp_backend backend)
{
	static const char part[] = "vfs_rmdir.part.0";
	struct bpf_program *in, *ret;
	struct bpf_link **in_link, **ret_link;

	if (backend == FSP_BACKEND_TRACEPOINT || !fsp_kallsyms_has(part))
		return 0;
	if (backend == FSP_BACKEND_FENTRY) {
		in = s->progs.fsp_fe_vfs_rmdir_part_in;
		ret = s->progs.fsp_fe_vfs_rmdir_part_ret;
		in_link = &s->links.fsp_fe_vfs_rmdir_part_in;
		ret_link = &s->links.fsp_fe_vfs_rmdir_part_ret;
	} else {
		in = s->progs.fsp_kp_vfs_rmdir_part_in;
		ret = s->progs.fsp_kp_vfs_rmdir_part_ret;
		in_link = &s->links.fsp_kp_vfs_rmdir_part_in;
		ret_link = &s->links.fsp_kp_vfs_rmdir_part_ret;
	}
	*in_link = bpf_program__attach_kprobe(in, false, part);
	if (!*in_link)
		return -errno;
	*ret_link = bpf_program__attach_kprobe(ret, true, part);
	if (!*ret_link)
		return -errno;
	return 0;
}
