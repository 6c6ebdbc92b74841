#!/usr/bin/env bash
# Runs fsprobe's XCTest suite (kernel, CLI and decoding tests) on real Debian
# kernels booted under qemu (no KVM needed): 5.10, 6.1 and 6.12, once per
# backend each (fentry, kprobe, tracepoint), and fails naming every kernel
# and backend that did not pass. Kernels are cached (scripts/vm/fetch-kernels.sh).
# Expects a debug build with tests (scripts/test.sh does that first).
#   scripts/test-kernels.sh [--kernels 5.10,6.1,6.12] [--backends "fentry kprobe tracepoint"]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH

kernels=5.10,6.1,6.12
backends="fentry kprobe tracepoint"
while [ $# -gt 0 ]; do
  case $1 in
    --kernels) kernels=$2; shift 2 ;;
    --backends) backends=$2; shift 2 ;;
    *) echo "usage: $0 [--kernels LIST] [--backends \"LIST\"]" >&2; exit 2 ;;
  esac
done

bin=$(swift build --show-bin-path)
tests=$bin/fsprobePackageTests.xctest
fsprobe=$bin/fsprobe
uring=$bin/fsprobe-uring
runner=$PWD/scripts/vm/per-backend.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# overlay: the overlayfs test mounts one; loop, xfs, btrfs: the path-truth
# suite loop-mounts images it makes with these mkfs (modules on Debian's
# cloud kernels). The timeout only catches a hung VM: a kernel's run takes
# 13-18 min under emulation on a 2-CPU machine.
mkfs=(--include /usr/sbin/mke2fs --include /usr/sbin/mkfs.xfs --include /usr/sbin/mkfs.btrfs)
set +e
scripts/vm/run-matrix.sh --kernels "$kernels" --tmp ext4 --modules overlay,loop,xfs,btrfs --timeout 2700 \
  --include "$tests" --include "$fsprobe" --include "$uring" --include "$runner" --include /usr/bin/setpriv "${mkfs[@]}" \
  --env FSPROBE_BIN="$fsprobe" -- "$runner" "$backends" "$tests" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One line per kernel and backend; a backend that started and never reported
# is the one running when its VM panicked, died or timed out.
echo "test-kernels: per kernel and backend:"
awk '
  match($0, /^\[[0-9.]+\] fsprobe-matrix: backend [a-z]+: /) {
    split(substr($0, 2), a, "]"); kernel = a[1]
    n = split($0, w, " "); backend = w[4]; sub(/:$/, "", backend)
    verdict = substr($0, RLENGTH + 1)
    key = kernel " " backend
    if (verdict ~ /^starting/) { if (!(key in seen)) order[++count] = key; seen[key] = "no verdict: the VM panicked, died or timed out (see above)" }
    else if (verdict ~ /^(PASS|FAIL)/) seen[key] = verdict
  }
  END { for (i = 1; i <= count; i++) print "  " order[i] ": " seen[order[i]] }
' "$log"
exit "$status"
