/*
 * The workload of the original FSProbe's resolution benchmark: a tree of
 * BREADTH leaf directories, each DEPTH directories below ROOT (components
 * of 10 random characters), FILES files spread over the leaves; then opens
 * and closes a random file of the tree, over and over.
 *   treeloop build ROOT DEPTH BREADTH FILES      create the tree (list in ROOT/.files)
 *   treeloop cost ROOT ITERATIONS                 prints nanoseconds per open+close
 *   treeloop rate ROOT OPS_PER_S SECONDS          paces opens at a rate; prints the rate reached
 * Paths are opened through their full name, as a program would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static unsigned long long next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void random_name(char *out)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (int i = 0; i < 10; i++)
		out[i] = alphabet[next_random() % (sizeof(alphabet) - 1)];
	out[10] = '\0';
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int build(const char *root, long depth, long breadth, long files)
{
	char list_path[PATH_MAX];
	FILE *list;

	snprintf(list_path, sizeof(list_path), "%s/.files", root);
	if (mkdir(root, 0755) && errno != EEXIST) {
		perror(root);
		return 1;
	}
	list = fopen(list_path, "w");
	if (!list) {
		perror(list_path);
		return 1;
	}
	for (long leaf = 0; leaf < breadth; leaf++) {
		char path[PATH_MAX];
		size_t len = (size_t)snprintf(path, sizeof(path), "%s", root);
		long here = files / breadth + (leaf < files % breadth ? 1 : 0);

		for (long level = 0; level < depth; level++) {
			path[len++] = '/';
			random_name(path + len);
			len += 10;
			if (len + 12 >= sizeof(path)) {
				fprintf(stderr, "treeloop: depth %ld too deep for PATH_MAX\n", depth);
				return 1;
			}
			if (mkdir(path, 0755) && errno != EEXIST) {
				perror(path);
				return 1;
			}
		}
		for (long f = 0; f < here; f++) {
			char file[PATH_MAX + 16];
			char name[11];
			int fd;

			random_name(name);
			snprintf(file, sizeof(file), "%s/%s", path, name);
			fd = open(file, O_CREAT | O_WRONLY, 0644);
			if (fd < 0) {
				perror(file);
				return 1;
			}
			close(fd);
			fprintf(list, "%s\n", file);
		}
	}
	return fclose(list) ? 1 : 0;
}

static char **load(const char *root, long *count)
{
	char list_path[PATH_MAX], line[PATH_MAX];
	char **paths = NULL;
	long n = 0, cap = 0;
	FILE *list;

	snprintf(list_path, sizeof(list_path), "%s/.files", root);
	list = fopen(list_path, "r");
	if (!list) {
		perror(list_path);
		exit(1);
	}
	while (fgets(line, sizeof(line), list)) {
		line[strcspn(line, "\n")] = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			paths = realloc(paths, (size_t)cap * sizeof(*paths));
		}
		paths[n++] = strdup(line);
	}
	fclose(list);
	*count = n;
	return paths;
}

static int open_close(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		perror(path);
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char **paths;
	long n;

	if (argc == 6 && !strcmp(argv[1], "build"))
		return build(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "cost")) {
		long iterations = atol(argv[3]);
		double start;

		paths = load(argv[2], &n);
		start = now_ns();
		for (long i = 0; i < iterations; i++)
			if (open_close(paths[next_random() % n]))
				return 1;
		printf("%.0f\n", (now_ns() - start) / iterations);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "rate")) {
		double rate = atof(argv[3]), seconds = atof(argv[4]);
		double start, gap = 1e9 / rate;
		long done = 0;

		paths = load(argv[2], &n);
		start = now_ns();
		double elapsed;

		/*
		 * Catch up to the schedule, then wait for the next slot; the
		 * deadline is checked on every open, since a workload that cannot
		 * keep up never catches up.
		 */
		while ((elapsed = now_ns() - start) < seconds * 1e9) {
			if (done < elapsed / gap) {
				if (open_close(paths[next_random() % n]))
					return 1;
				done++;
			}
		}
		printf("%.0f\n", done / ((now_ns() - start) / 1e9));
		return 0;
	}
	fprintf(stderr, "usage: treeloop build ROOT DEPTH BREADTH FILES | cost ROOT ITERATIONS | rate ROOT OPS_PER_S SECONDS\n");
	return 2;
}
