#!/usr/bin/env bash
# Self-test of the qemu kernel matrix, about 30 s after the first fetch:
#   1. a failing command is reported as FAIL with its status (the rig can fail);
#   2. on every kernel, the bpf() syscall works and libbpf loads and attaches
#      fentry, kprobe and lsm programs (what the host's kernel refuses).
#   scripts/vm/selftest.sh [--kernels 5.10,6.1,6.12]
# Needs gcc, libbpf-dev (scripts/setup.sh installs it) and a clang with the BPF
# target (Swift's, at /opt/swift/usr/bin/clang, has it).
set -euo pipefail
VM_PROG=selftest
VM_DIR=$(cd "$(dirname "$0")" && pwd -P)
. "$VM_DIR/common.sh"

usage() {
  sed -n '2,8s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

find_bpf_clang() {
  local c
  for c in clang /opt/swift/usr/bin/clang; do
    command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
  done
  vm_die "no clang found to compile BPF (install Swift at /opt/swift or clang)"
}

# bpf-check (host C, linked to the system libbpf) and the BPF object it loads.
build_checks() {
  local out=$1 clang
  [ -f /usr/include/bpf/libbpf.h ] || vm_die "libbpf-dev is not installed (scripts/setup.sh installs it)"
  clang=$(find_bpf_clang)
  gcc -O2 -Wall -o "$out/bpf-check" "$VM_DIR/selftest/bpf-check.c" -lbpf ||
    vm_die "compiling selftest/bpf-check.c failed"
  "$clang" -g -O2 -target bpf -I"/usr/include/$(gcc -print-multiarch)" \
    -c "$VM_DIR/selftest/probe.bpf.c" -o "$out/probe.bpf.o" ||
    vm_die "compiling selftest/probe.bpf.c failed"
}

# The rig must turn a non-zero status into a FAIL naming it, or every other
# result means nothing.
check_failure_is_reported() {
  local series=$1 out
  if out=$("$VM_DIR/run-matrix.sh" --kernels "$series" --timeout 120 --log-dir "$WORK/failing-logs" \
    -- /bin/sh -c 'exit 3' 2>&1); then
    vm_die "run-matrix passed a command that exited 3 on $series"
  fi
  grep -q "^run-matrix: $series .*FAIL command exited 3" <<<"$out" ||
    vm_die "run-matrix did not report 'command exited 3' on $series: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
  vm_log "ok: a failing command is reported as FAIL on $series"
}

main() {
  local kernels=$VM_ALL_KERNELS
  while [ $# -gt 0 ]; do
    case "$1" in
      --kernels) [ $# -ge 2 ] || usage; kernels=$(vm_parse_kernel_list "$2"); shift 2 ;;
      -h | --help) usage ;;
      *) vm_die "unknown argument '$1' (see --help)" ;;
    esac
  done
  "$VM_DIR/fetch-kernels.sh" --kernels "${kernels// /,}"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/fsprobe-vm-selftest.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  build_checks "$WORK"
  check_failure_is_reported "${kernels%% *}"
  "$VM_DIR/run-matrix.sh" --kernels "${kernels// /,}" --timeout 300 \
    --include "$WORK/probe.bpf.o" -- "$WORK/bpf-check" "$WORK/probe.bpf.o"
}

main "$@"
