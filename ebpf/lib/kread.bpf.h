/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading kernel memory, as cheaply as the running kernel allows.
 *
 * A bpf_probe_read_kernel() is a helper call of some tens of nanoseconds,
 * and one event's walk makes dozens of them. From 6.2 on, the kfunc
 * bpf_rdonly_cast() turns any kernel address into a typed (BTF) pointer
 * whose fields are plain loads, guarded by the kernel's exception table as
 * the helper is: an address that faults reads as 0, as a failed helper read
 * leaves 0. The verifier inlines the cast itself to nothing.
 *
 * FSP_READ(src, a, b, ...) reads src->a->b... either way. Which way is a
 * CO-RE constant (the kernel's BTF has the verifier's entry for the kfunc
 * or not), so the verifier explores one branch only, and the kfunc call of
 * the other is dead code on kernels that lack it (libbpf leaves a weak,
 * unresolved kfunc as a call of id 0, which the verifier tolerates until it
 * removes the dead code).
 */
#ifndef FSP_KREAD_BPF_H
#define FSP_KREAD_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* Whether this kernel has bpf_rdonly_cast (6.2+). */
#define fsp_direct_reads() bpf_core_enum_value_exists(enum special_kfunc_type, KF_bpf_rdonly_cast)

/* ptr as a BTF pointer to its own, unqualified, type. Only where fsp_direct_reads(). */
#define fsp_btf(ptr)                                                                     \
	((__typeof_unqual__(*(ptr)) *)bpf_rdonly_cast((const void *)(ptr),                \
						      bpf_core_type_id_kernel(__typeof_unqual__(*(ptr)))))

/* src->a->b..., with plain loads where the kernel allows, helper reads elsewhere. */
#define FSP_READ(src, a, ...)                                                            \
	(fsp_direct_reads() ? ___arrow(fsp_btf(src), a, ##__VA_ARGS__)                    \
			    : BPF_CORE_READ(src, a, ##__VA_ARGS__))

#endif /* FSP_KREAD_BPF_H */
