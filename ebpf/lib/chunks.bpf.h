/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loops longer than the verifier follows (a path's walk, the scan of a
 * caller's string, a segment's cache inserts) run in chunks: a global
 * function (neither static nor inlined), which the verifier checks once,
 * on its own, runs `chunk` steps over state kept in the per-CPU scratch,
 * and the caller's loop only counts chunks. bpf_loop() does this from 5.17;
 * this works on every kernel fsprobe supports.
 */
#ifndef FSP_CHUNKS_BPF_H
#define FSP_CHUNKS_BPF_H

#include "common.bpf.h"

/*
 * Defines `int name(__u32 first)`: step(s, first + i) for i in [0, chunk),
 * s being the scratch; 1 (the loop is over) as soon as a step returns
 * non-zero, or when there is no scratch; 0 to go on.
 */
#define FSP_CHUNK_FUNCTION(name, chunk, step)                     \
	__noinline int name(__u32 first)                          \
	{                                                         \
		struct fsp_scratch *s = fsp_scratch_get();        \
		int i;                                            \
                                                                  \
		if (!s)                                           \
			return 1;                                 \
		for (i = 0; i < (chunk); i++)                     \
			if (step(s, first + i))                   \
				return 1;                         \
		return 0;                                         \
	}

/* Runs up to `chunks` chunks of name (FSP_CHUNK_FUNCTION), until one says the loop is over. */
#define FSP_RUN_CHUNKS(name, chunks, chunk)                         \
	do {                                                        \
		for (__u32 fsp_chunk = 0; fsp_chunk < (chunks); fsp_chunk++) \
			if (name(fsp_chunk * (chunk)))              \
				break;                              \
	} while (0)

#endif /* FSP_CHUNKS_BPF_H */
