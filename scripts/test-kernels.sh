#!/usr/bin/env bash
# Runs fsprobe's XCTest suite (kernel, CLI and decoding tests) on real Debian
# kernels booted under qemu (no KVM needed): 5.10, 6.1 and 6.12, once per
# backend each (fentry, kprobe, tracepoint), and fails naming every kernel
# and backend that did not pass. Kernels are cached (scripts/vm/fetch-kernels.sh).
# Expects a debug build with tests (scripts/test.sh does that first).
#   scripts/test-kernels.sh [--kernels 5.10,6.1,6.12] [--backends "fentry kprobe tracepoint"]
#       [--parallel N]
# Each kernel's run is two VM jobs: the first backend with the whole suite,
# and the other backends with what depends on the backend. Emulation (TCG)
# keeps one core busy per VM, so N VMs run side by side (default: the
# number of cores), each taking the next job, longest first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH

# Longest first (measured: 6.1 takes longest under emulation, 5.10 least).
kernels=6.1,6.12,5.10
backends="fentry kprobe tracepoint"
parallel=$(nproc)
while [ $# -gt 0 ]; do
  case $1 in
    --kernels) kernels=$2; shift 2 ;;
    --backends) backends=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    *) echo "usage: $0 [--kernels LIST] [--backends \"LIST\"] [--parallel N]" >&2; exit 2 ;;
  esac
done
[[ "$parallel" =~ ^[1-9][0-9]*$ ]] || { echo "test-kernels: --parallel wants a positive number, got '$parallel'" >&2; exit 2; }

bin=$(swift build --show-bin-path)
tests=$bin/fsprobePackageTests.xctest
fsprobe=$bin/fsprobe
uring=$bin/fsprobe-uring
runner=$PWD/scripts/vm/per-backend.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/log

# The tests run fsprobe with a 4 MiB ring, not the default 16 MiB: the kernel
# clears the whole ring at each start, some 0.3 s under emulation, and the
# suite starts fsprobe many times; what the tests make fits in 4 MiB.
ring_pages=1024

# overlay: the overlayfs test mounts one; loop, xfs, btrfs: the path-truth
# suite loop-mounts images it makes with these mkfs (modules on Debian's
# cloud kernels). The timeout only catches a hung VM: a kernel's run takes
# 13-18 min under emulation on a 2-CPU machine.
mkfs=(--include /usr/sbin/mke2fs --include /usr/sbin/mkfs.xfs --include /usr/sbin/mkfs.btrfs)
scripts/vm/fetch-kernels.sh --kernels "$kernels"

# The jobs: every kernel's first backend (whole suite) first, being the
# longest, then every kernel's other backends.
first=${backends%% *}
others=${backends#"$first"}
others=${others# }
vm_jobs=()
for kernel in ${kernels//,/ }; do vm_jobs+=("$kernel|$first|all"); done
if [ -n "$others" ]; then
  for kernel in ${kernels//,/ }; do vm_jobs+=("$kernel|$others|subset"); done
fi

# The index of the next job not taken, or nothing when all are.
echo 0 >"$work/next"
take_job() {
  (
    flock 9
    n=$(cat "$work/next")
    echo $((n + 1)) >"$work/next"
    [ "$n" -lt "${#vm_jobs[@]}" ] && echo "$n"
  ) 9>"$work/next.lock"
}

# One VM at a time, taking jobs until none is left; a failed job is noted.
lane() {
  local index kernel job_backends scope
  while index=$(take_job) && [ -n "$index" ]; do
    IFS='|' read -r kernel job_backends scope <<<"${vm_jobs[$index]}"
    scripts/vm/run-matrix.sh --kernels "$kernel" --tmp ext4 --modules overlay,loop,xfs,btrfs --timeout 2700 \
      --include "$tests" --include "$fsprobe" --include "$uring" --include "$runner" --include /usr/bin/setpriv "${mkfs[@]}" \
      --env FSPROBE_BIN="$fsprobe" --env FSPROBE_TEST_RING_PAGES=$ring_pages -- "$runner" "$job_backends" "$tests" "$scope" ||
      echo "$kernel ($job_backends)" >>"$work/failed"
  done
}

started=$SECONDS
for _ in $(seq "$parallel"); do lane & done 2>&1 | tee "$log"
wait
status=0
[ -s "$work/failed" ] && status=1
echo "test-kernels: ${#vm_jobs[@]} VM jobs on $parallel lanes in $((SECONDS - started)) s"

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
# The failures themselves, so a run's last lines say what to look at.
if [ "$status" -ne 0 ]; then
  echo "test-kernels: failed assertions (first 40):"
  grep -E '^\[[0-9.]+\] .*(error: |Fatal error|Test Case .* failed)' "$log" | head -40 | cut -c1-400
fi
exit "$status"
