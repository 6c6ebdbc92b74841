#!/usr/bin/env bash
# Kernel-side cost of fsprobe, per backend: microseconds per open+close with
# nothing attached, with fsprobe attached and the file outside its watch (the
# in-kernel filter drops the event), and with the file watched (event
# delivered). On this machine's kernel, or with --vm K on a Debian kernel
# under qemu (emulated: compare backends with each other, not with hardware).
#   Benchmarks/KernelCost/run.sh [--vm 5.10|6.1|6.12] [--iterations N]
# Uses the release build (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
vm="" iterations=""
while [ $# -gt 0 ]; do
  case $1 in
    --vm) vm=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    *) echo "usage: $0 [--vm KERNEL] [--iterations N]" >&2; exit 2 ;;
  esac
done
fsprobe=$PWD/.build/release/fsprobe
[ -x "$fsprobe" ] || { echo "run scripts/setup.sh first (no $fsprobe)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
loop=$work/openloop
cc -O2 -static -o "$loop" Benchmarks/KernelCost/openloop.c

# The measurement, as one POSIX sh script (it runs in the VM's busybox too).
cat >"$work/measure.sh" <<SCRIPT
set -e
n=\$1; shift
mkdir -p /tmp/fsprobe-cost/watched; touch /tmp/fsprobe-cost/watched/f /tmp/fsprobe-cost/other
echo "nothing attached: \$($loop /tmp/fsprobe-cost/watched/f \$n) us"
for backend in "\$@"; do
  rm -f /tmp/fsprobe-cost/err # the last backend's "ready" must not count for this one
  $fsprobe /tmp/fsprobe-cost/watched -e all -f none --backend \$backend 2>/tmp/fsprobe-cost/err &
  pid=\$!
  until grep -q 'ready' /tmp/fsprobe-cost/err 2>/dev/null; do
    kill -0 \$pid 2>/dev/null || { echo "\$backend: \$(cat /tmp/fsprobe-cost/err)"; continue 2; }
    sleep 0.2
  done
  echo "\$backend, file not watched: \$($loop /tmp/fsprobe-cost/other \$n) us"
  echo "\$backend, file watched: \$($loop /tmp/fsprobe-cost/watched/f \$n) us"
  kill -TERM \$pid; wait \$pid || true
  grep 'stopped' /tmp/fsprobe-cost/err
done
rm -rf /tmp/fsprobe-cost
SCRIPT

if [ -z "$vm" ]; then
  sh "$work/measure.sh" "${iterations:-500000}" fentry kprobe tracepoint
else
  scripts/vm/run-matrix.sh --kernels "$vm" --timeout 900 --include "$fsprobe" --include "$loop" \
    --include "$work/measure.sh" -- /bin/sh "$work/measure.sh" "${iterations:-20000}" fentry kprobe tracepoint
fi
