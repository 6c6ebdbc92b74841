/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CFSProbeBPF: the compiled half of the shims declared in CFSProbeBPF.h. */
#include "CFSProbeBPF.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- skeleton lifecycle ---- */

struct fsprobe_bpf *fsp_skel_open(const char *btf_custom_path, uint32_t kernel_log_level)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts,
		    .btf_custom_path = btf_custom_path,
		    .kernel_log_level = kernel_log_level);

	return fsprobe_bpf__open_opts(&opts);
}

int fsp_skel_load(struct fsprobe_bpf *s)
{
	int err = fsprobe_bpf__load(s);
	return err < 0 ? err : (err > 0 ? -err : 0);
}

int fsp_skel_attach(struct fsprobe_bpf *s)
{
	int err = fsprobe_bpf__attach(s);

	if (err)
		return err < 0 ? err : -err;
	/* Every exit runs from now on: entries may leave what their exits take. */
	__atomic_store_n(&s->bss->fsp_exits_attached, 1, __ATOMIC_SEQ_CST);
	return 0;
}

void fsp_skel_detach(struct fsprobe_bpf *s)
{
	fsprobe_bpf__detach(s);
}

void fsp_skel_destroy(struct fsprobe_bpf *s)
{
	fsprobe_bpf__destroy(s);
}

/* ---- statistics ---- */

int fsp_stats_read(struct fsprobe_bpf *s, __u64 out[FSP_STAT_COUNT])
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *values;
	__u32 key;
	int err = 0;

	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;
	values = calloc((size_t)ncpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (key = 0; key < FSP_STAT_COUNT; key++) {
		__u64 sum = 0;
		int cpu;

		err = bpf_map__lookup_elem(s->maps.stats, &key, sizeof(key), values,
					   (size_t)ncpus * sizeof(*values), 0);
		if (err)
			break;
		for (cpu = 0; cpu < ncpus; cpu++)
			sum += values[cpu];
		out[key] = sum;
	}
	free(values);
	return err;
}

/* ---- libbpf log capture ---- */

static pthread_mutex_t fsp_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char fsp_log_buf[FSP_LOG_CAPACITY];
static size_t fsp_log_len;
static int fsp_log_max_level = LIBBPF_WARN;
static fsp_log_handler fsp_log_fn;
static void *fsp_log_ctx;

/* Append, keeping the tail when full. Caller holds the lock. */
static void fsp_log_append(const char *msg, size_t n)
{
	if (n >= FSP_LOG_CAPACITY) {
		msg += n - (FSP_LOG_CAPACITY - 1);
		n = FSP_LOG_CAPACITY - 1;
	}
	if (fsp_log_len + n >= FSP_LOG_CAPACITY) {
		/* Drop the oldest bytes, at least half the buffer, at a line start if possible. */
		size_t drop = fsp_log_len + n - (FSP_LOG_CAPACITY - 1);
		char *nl;

		if (drop < FSP_LOG_CAPACITY / 2)
			drop = FSP_LOG_CAPACITY / 2;
		if (drop > fsp_log_len)
			drop = fsp_log_len;
		nl = memchr(fsp_log_buf + drop, '\n', fsp_log_len - drop);
		if (nl)
			drop = (size_t)(nl - fsp_log_buf) + 1;
		memmove(fsp_log_buf, fsp_log_buf + drop, fsp_log_len - drop);
		fsp_log_len -= drop;
	}
	memcpy(fsp_log_buf + fsp_log_len, msg, n);
	fsp_log_len += n;
	fsp_log_buf[fsp_log_len] = '\0';
}

static int fsp_log_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[1024];
	char *msg = line;
	va_list copy;
	int n;

	if ((int)level > fsp_log_max_level)
		return 0;
	va_copy(copy, args);
	n = vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(line)) {
		/* Verifier logs come through as one large "%s": format into the heap. */
		msg = malloc((size_t)n + 1);
		if (!msg)
			return 0;
		vsnprintf(msg, (size_t)n + 1, fmt, args);
	}

	pthread_mutex_lock(&fsp_log_lock);
	fsp_log_append(msg, (size_t)n);
	if (fsp_log_fn)
		fsp_log_fn((int)level, msg, fsp_log_ctx);
	pthread_mutex_unlock(&fsp_log_lock);

	if (msg != line)
		free(msg);
	return n;
}

static int fsp_log_none(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

void fsp_log_capture(int max_level, fsp_log_handler handler, void *context)
{
	pthread_mutex_lock(&fsp_log_lock);
	fsp_log_max_level = max_level;
	fsp_log_fn = handler;
	fsp_log_ctx = context;
	pthread_mutex_unlock(&fsp_log_lock);
	libbpf_set_print(fsp_log_print);
}

void fsp_log_silence(void)
{
	libbpf_set_print(fsp_log_none);
	pthread_mutex_lock(&fsp_log_lock);
	fsp_log_fn = NULL;
	fsp_log_ctx = NULL;
	pthread_mutex_unlock(&fsp_log_lock);
}

size_t fsp_log_copy(char *buf, size_t size)
{
	size_t len;

	pthread_mutex_lock(&fsp_log_lock);
	len = fsp_log_len;
	if (buf && size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(buf, fsp_log_buf, n);
		buf[n] = '\0';
	}
	pthread_mutex_unlock(&fsp_log_lock);
	return len;
}

void fsp_log_clear(void)
{
	pthread_mutex_lock(&fsp_log_lock);
	fsp_log_len = 0;
	fsp_log_buf[0] = '\0';
	pthread_mutex_unlock(&fsp_log_lock);
}
