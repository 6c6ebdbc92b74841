/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sync_file_range(2), which glibc declares only under _GNU_SOURCE and so
 * Swift's Glibc module does not show: the file sinks start the writeback
 * of what they wrote with it (Sources/Sinks/PageCacheTrimmer.swift).
 */
#ifndef CFILEWRITEBACK_H
#define CFILEWRITEBACK_H

/* Starts writing [offset, offset + length) of fd's dirty pages to disk and
 * returns without waiting for it: 0, or -1 with errno set. */
int fsp_start_writeback(int fd, long long offset, long long length);

#endif /* CFILEWRITEBACK_H */
