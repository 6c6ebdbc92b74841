// Self-test of the qemu kernel matrix: the bpf() syscall works (a raw
// BPF_PROG_LOAD of a socket filter), and, given a BPF object, libbpf loads
// and attaches every program in it. Exit 0 only if all of that succeeded.
//   bpf-check [OBJECT.bpf.o]
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>

// "r0 = 0; exit": the smallest program the verifier accepts.
static int load_socket_filter(void) {
  struct bpf_insn insns[] = {
    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
    {.code = BPF_JMP | BPF_EXIT},
  };
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = (unsigned long)insns;
  attr.insn_cnt = 2;
  attr.license = (unsigned long)"GPL";
  int fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
  if (fd < 0) {
    printf("bpf-check: BPF_PROG_LOAD socket filter: %s\n", strerror(errno));
    return 1;
  }
  printf("bpf-check: BPF_PROG_LOAD socket filter: ok (fd %d)\n", fd);
  close(fd);
  return 0;
}

static int load_and_attach(const char *path) {
  struct bpf_object *obj = bpf_object__open_file(path, NULL);
  if (!obj) {
    printf("bpf-check: open %s: %s\n", path, strerror(errno));
    return 1;
  }
  int err = bpf_object__load(obj);
  if (err) {
    printf("bpf-check: load %s: %s\n", path, strerror(-err));
    return 1;
  }
  int failed = 0;
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, obj) {
    struct bpf_link *link = bpf_program__attach(prog);
    long lerr = libbpf_get_error(link);
    printf("bpf-check: %-16s %-20s %s\n", bpf_program__name(prog), bpf_program__section_name(prog),
           lerr ? strerror((int)-lerr) : "loaded and attached");
    failed |= lerr != 0;
  }
  bpf_object__close(obj);
  return failed;
}

int main(int argc, char **argv) {
  int failed = load_socket_filter();
  if (argc > 1) failed |= load_and_attach(argv[1]);
  return failed;
}
