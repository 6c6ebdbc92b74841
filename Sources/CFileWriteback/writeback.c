/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#define _GNU_SOURCE
#include <fcntl.h>

#include "CFileWriteback.h"

int fsp_start_writeback(int fd, long long offset, long long length)
{
	/* SYNC_FILE_RANGE_WRITE alone: submit, do not wait before or after. */
	return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}
