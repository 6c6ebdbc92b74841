/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The caller's path string: copying it after the base's fragments, scanning it. */
#ifndef FSP_CALLER_BPF_H
#define FSP_CALLER_BPF_H

#include "common.bpf.h"
#include "chunks.bpf.h"

/*
 * Copy the user string at ustr to data[*off], at most FSP_CALLER_MAX bytes
 * and never past FSP_DATA_SIZE. Sets p->caller_len (no NUL counted) and
 * FSP_PATH_CALLER_TRUNCATED when the string filled the room (length
 * >= room - 1) or could not be read. Advances *off by caller_len.
 */
static __always_inline void fsp_copy_caller(struct fsp_scratch *s, struct fsp_path *p,
					    const char *ustr, __u32 *off)
{
	__u32 o = *off;
	__u32 size;
	long n;

	p->caller_len = 0;
	if (o >= FSP_DATA_SIZE) {
		p->flags |= FSP_PATH_CALLER_TRUNCATED;
		return;
	}
	size = FSP_DATA_SIZE - o;
	if (size > FSP_CALLER_MAX)
		size = FSP_CALLER_MAX;
	n = bpf_probe_read_user_str(fsp_data_at(&s->p.rec, o), size, ustr);
	if (n <= 0) {
		/*
		 * Unreadable without faulting the page in: the kernel may have
		 * unmapped it since it read the string itself (reclaim,
		 * migration, or the caller's own madvise). The base alone is not
		 * the object's path: say that its end is missing.
		 */
		p->flags |= FSP_PATH_CALLER_TRUNCATED;
		return;
	}
	if ((__u32)n >= size)
		p->flags |= FSP_PATH_CALLER_TRUNCATED;
	p->caller_len = n - 1;
	*off = o + (__u32)n - 1;
}


/* Look at byte i of the string (i == len: a virtual final '/'). Returns 1 to stop. */
static __always_inline int fsp_scan_step(struct fsp_scratch *s, __u32 i)
{
	struct fsp_scan *sc = &s->scan;
	char c = '/';

	if (i > sc->len)
		return 1;
	if (i < sc->len) {
		c = s->p.rec.data[(sc->start + i) & FSP_DATA_MASK];
		if (c == '/')
			sc->slash = 1;
	}
	if (c == '/') {
		if (sc->comp_len == 2 && sc->all_dots) {
			sc->dotdot = 1;
			return 1;
		}
		sc->comp_len = 0;
		sc->all_dots = 1;
	} else {
		sc->comp_len++;
		if (c != '.')
			sc->all_dots = 0;
	}
	return 0;
}

#define FSP_SCAN_CHUNK 64

/* Bytes [first, first + FSP_SCAN_CHUNK) of the scan. Returns 1 when done. */
FSP_CHUNK_FUNCTION(fsp_scan_chunk, FSP_SCAN_CHUNK, fsp_scan_step)

/* Look at the copied caller string of p for '/' and ".." components; sc = &scratch->scan. */
static __always_inline void fsp_scan_caller(struct fsp_path *p, struct fsp_scan *sc)
{
	sc->start = p->offset + p->fragments_len;
	sc->len = p->caller_len;
	sc->comp_len = 0;
	sc->all_dots = 1;
	sc->slash = 0;
	sc->dotdot = 0;
	/* One chunk more than the string's room: its end is a step too. */
	FSP_RUN_CHUNKS(fsp_scan_chunk, FSP_CALLER_MAX / FSP_SCAN_CHUNK + 1, FSP_SCAN_CHUNK);
}

#endif /* FSP_CALLER_BPF_H */
