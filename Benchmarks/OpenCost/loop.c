/*
 * The workload of Benchmarks/OpenCost: open(2)+close(2) of one file, as fast
 * as one thread can, the operation fsprobe's hooks add the most to.
 *   loop PATH N              N iterations
 *   loop PATH --seconds S    as many as S seconds allow
 * Prints "ns=<nanoseconds per open+close> n=<iterations> cpu=<ns>": cpu is
 * the loop's own CPU time (user and system) per open+close, which leaves
 * out the time it waited for a CPU another task held.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	double start, deadline = 0, end, cpu_start;
	long i, n = 0;

	if (argc == 3)
		n = atol(argv[2]);
	else if (argc == 4 && strcmp(argv[2], "--seconds") == 0)
		deadline = atof(argv[3]) * 1e9;
	if (n <= 0 && deadline <= 0) {
		fprintf(stderr, "usage: loop PATH N | loop PATH --seconds S\n");
		return 2;
	}
	cpu_start = cpu_ns();
	start = now_ns();
	for (i = 0; n ? i < n : 1; i++) {
		int fd = open(argv[1], O_RDONLY);

		if (fd < 0) {
			perror(argv[1]);
			return 1;
		}
		close(fd);
		/* The clock is read once per 1024 iterations: it costs a syscall-free vDSO call, still. */
		if (!n && (i & 1023) == 1023 && now_ns() - start >= deadline) {
			i++;
			break;
		}
	}
	end = now_ns();
	printf("ns=%.0f n=%ld cpu=%.0f\n", (end - start) / i, i, (cpu_ns() - cpu_start) / i);
	return 0;
}
