/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every fsprobe BPF file starts from: the kernel's types, libbpf's
 * helpers, the ABI shared with user space, and the headers by topic:
 * uapi constants, configuration, shared globals, maps, the walk's state,
 * the scratch buffers.
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
#include "uapi.bpf.h"
#include "config.bpf.h"
#include "state.bpf.h"
#include "maps.bpf.h"
#include "walk.bpf.h"
#include "scratch.bpf.h"

#endif /* FSP_COMMON_BPF_H */
