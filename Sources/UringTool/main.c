/*
 * fsprobe-uring: a test helper that performs file operations through io_uring
 * only, so tests can prove fsprobe sees changes that never go through the
 * ordinary open/write/rename/unlink/mkdir syscalls.
 *
 * It talks to the kernel with raw syscalls and the <linux/io_uring.h> ABI
 * rather than liburing, because the test VMs do not have liburing installed
 * and the helper must build anywhere the kernel headers are.
 *
 *   fsprobe-uring write PATH TEXT    openat + write + close through the ring
 *   fsprobe-uring rename OLD NEW     IORING_OP_RENAMEAT (5.11+)
 *   fsprobe-uring unlink PATH        IORING_OP_UNLINKAT (5.11+)
 *   fsprobe-uring mkdir PATH         IORING_OP_MKDIRAT  (5.15+)
 *
 * Exit 0 on success. On failure one line "fsprobe-uring: <op>: <path>: <error>"
 * goes to stderr and the exit code is 1, or 2 when the kernel does not support
 * the rename/unlink/mkdir opcode, so tests can skip rather than fail.
 */
/* syscall(), AT_FDCWD and MAP_POPULATE are hidden under a strict -std=c11. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The opcodes are enum members, so they cannot be #ifdef'd; pin them to the
 * upstream ABI values so a header mismatch fails the build, not a test. */
_Static_assert(IORING_OP_OPENAT == 18 && IORING_OP_CLOSE == 19 && IORING_OP_WRITE == 23,
               "io_uring opcode numbering differs from the kernel ABI");
_Static_assert(IORING_OP_RENAMEAT == 35 && IORING_OP_UNLINKAT == 36 && IORING_OP_MKDIRAT == 37,
               "io_uring opcode numbering differs from the kernel ABI");

#define EXIT_UNSUPPORTED 2

struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
};

static const char *cmd_name = "setup";
static const char *cmd_path = "";

static void fail(int err, int code) {
    fprintf(stderr, "fsprobe-uring: %s: %s: %s\n", cmd_name, cmd_path, strerror(err));
    exit(code);
}

static void *map_ring(int fd, size_t len, off_t offset) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
    if (p == MAP_FAILED)
        fail(errno, 1);
    return p;
}

static void ring_init(struct ring *r) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    r->fd = (int)syscall(__NR_io_uring_setup, 4U, &p);
    if (r->fd < 0)
        fail(errno, 1);

    /* Map the SQ and CQ rings separately: that works on every kernel, while
     * relying on IORING_FEAT_SINGLE_MMAP would not. */
    char *sq = map_ring(r->fd, p.sq_off.array + p.sq_entries * sizeof(unsigned), IORING_OFF_SQ_RING);
    char *cq = map_ring(r->fd, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
                        IORING_OFF_CQ_RING);
    r->sqes = map_ring(r->fd, p.sq_entries * sizeof(struct io_uring_sqe), IORING_OFF_SQES);

    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
}

/* Whether the running kernel implements `op`. An unknown opcode and a genuine
 * EINVAL from the operation look the same in the CQE, so ask the kernel. */
static int op_supported(struct ring *r, int op) {
    const unsigned nops = 256;
    struct io_uring_probe *probe = calloc(1, sizeof *probe + nops * sizeof(struct io_uring_probe_op));
    if (probe == NULL)
        fail(ENOMEM, 1);
    int supported = 1; /* without a probe (pre-5.6) only the CQE can tell */
    if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_PROBE, probe, nops) == 0)
        supported = op <= probe->last_op && (probe->ops[op].flags & IO_URING_OP_SUPPORTED);
    free(probe);
    return supported;
}

static struct io_uring_sqe *next_sqe(struct ring *r) {
    struct io_uring_sqe *sqe = &r->sqes[*r->sq_tail & *r->sq_mask];
    memset(sqe, 0, sizeof *sqe);
    return sqe;
}

/* Submit the one prepared SQE and wait for its completion; returns cqe->res.
 * One operation in flight at a time keeps the ordering the tests expect. */
static int submit_and_wait(struct ring *r) {
    unsigned tail = *r->sq_tail;
    r->sq_array[tail & *r->sq_mask] = tail & *r->sq_mask;
    /* The kernel reads the tail without a lock: publish the SQE first. */
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);

    unsigned to_submit = 1;
    for (;;) {
        unsigned head = *r->cq_head;
        if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
            int res = r->cqes[head & *r->cq_mask].res;
            __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
            return res;
        }
        /* syscall() is variadic: pass sigsz as a full-width size_t, or the
         * kernel sees whatever garbage is in the upper half of the register. */
        long n = syscall(__NR_io_uring_enter, r->fd, to_submit, 1U, IORING_ENTER_GETEVENTS,
                         (void *)NULL, (size_t)0);
        if (n < 0 && errno != EINTR)
            fail(errno, 1);
        /* A positive return means the SQE was consumed even if the wait was
         * interrupted, so it must not be submitted twice. */
        if (n > 0)
            to_submit = 0;
    }
}

/* rename/unlink/mkdir are newer than the kernels we still test on, so an
 * unsupported opcode gets its own exit code. */
static void check_newer_op(struct ring *r, int op, int res) {
    if (res >= 0)
        return;
    if (res == -EINVAL && !op_supported(r, op))
        fail(EINVAL, EXIT_UNSUPPORTED);
    fail(-res, 1);
}

static void do_write(struct ring *r, const char *path, const char *text) {
    struct io_uring_sqe *sqe = next_sqe(r);
    sqe->opcode = IORING_OP_OPENAT;
    sqe->fd = AT_FDCWD;
    sqe->addr = (unsigned long)path;
    sqe->open_flags = O_WRONLY | O_CREAT;
    sqe->len = 0644;
    int fd = submit_and_wait(r);
    if (fd < 0)
        fail(-fd, 1);

    size_t len = strlen(text);
    sqe = next_sqe(r);
    sqe->opcode = IORING_OP_WRITE;
    sqe->fd = fd;
    sqe->addr = (unsigned long)text;
    sqe->len = (unsigned)len;
    sqe->off = 0;
    int res = submit_and_wait(r);
    if (res < 0)
        fail(-res, 1);
    /* Tests compare file contents, so a silently short write is a failure. */
    if ((size_t)res != len)
        fail(EIO, 1);

    sqe = next_sqe(r);
    sqe->opcode = IORING_OP_CLOSE;
    sqe->fd = fd;
    res = submit_and_wait(r);
    if (res < 0)
        fail(-res, 1);
}

static void do_rename(struct ring *r, const char *oldpath, const char *newpath) {
    struct io_uring_sqe *sqe = next_sqe(r);
    sqe->opcode = IORING_OP_RENAMEAT;
    sqe->fd = AT_FDCWD;
    sqe->addr = (unsigned long)oldpath;
    sqe->len = (unsigned)AT_FDCWD;
    sqe->addr2 = (unsigned long)newpath;
    sqe->rename_flags = 0;
    check_newer_op(r, IORING_OP_RENAMEAT, submit_and_wait(r));
}

static void do_unlink(struct ring *r, const char *path) {
    struct io_uring_sqe *sqe = next_sqe(r);
    sqe->opcode = IORING_OP_UNLINKAT;
    sqe->fd = AT_FDCWD;
    sqe->addr = (unsigned long)path;
    sqe->unlink_flags = 0;
    check_newer_op(r, IORING_OP_UNLINKAT, submit_and_wait(r));
}

static void do_mkdir(struct ring *r, const char *path) {
    struct io_uring_sqe *sqe = next_sqe(r);
    sqe->opcode = IORING_OP_MKDIRAT;
    sqe->fd = AT_FDCWD;
    sqe->addr = (unsigned long)path;
    sqe->len = 0755;
    check_newer_op(r, IORING_OP_MKDIRAT, submit_and_wait(r));
}

static void usage(void) {
    fprintf(stderr, "fsprobe-uring: usage: fsprobe-uring write PATH TEXT | rename OLD NEW | "
                    "unlink PATH | mkdir PATH\n");
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage();
    cmd_name = argv[1];
    cmd_path = argv[2];

    struct ring r;
    if (strcmp(cmd_name, "write") == 0 && argc == 4) {
        ring_init(&r);
        do_write(&r, argv[2], argv[3]);
    } else if (strcmp(cmd_name, "rename") == 0 && argc == 4) {
        ring_init(&r);
        do_rename(&r, argv[2], argv[3]);
    } else if (strcmp(cmd_name, "unlink") == 0 && argc == 3) {
        ring_init(&r);
        do_unlink(&r, argv[2]);
    } else if (strcmp(cmd_name, "mkdir") == 0 && argc == 3) {
        ring_init(&r);
        do_mkdir(&r, argv[2]);
    } else {
        usage();
    }
    return 0;
}
