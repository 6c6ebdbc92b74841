#!/usr/bin/env bash
# What watching costs, fsprobe beside the tools people use: one loop of
# open()+close() on one file, timed with nothing attached, with fsprobe's
# hooks running empty programs (the floor), with fsprobe not selecting opens,
# watching elsewhere (the file 5 and 50 directories deep outside the watch),
# and watching the file in each resolution mode (JSON to a file); then with
# inotifywait, fatrace and bpftrace. Interleaved rounds, medians; each row's
# ratio is to the bare loop timed on its file just before its watcher started
# and just after it stopped; each watcher waited for until it signals ready.
# Also: the BPF run time per open+close (kernel.bpf_stats_enabled), 10 s
# of the loop at full speed per mode counting lost events, and how long a
# lone event takes to reach fsprobe's output (latency.py).
#   Benchmarks/OpenCost/run.sh [--iterations N] [--rounds R] [--docs]
#       [--vm 5.10|6.1|6.12] [--vm-backends "fentry kprobe"] [--vm-tcg multi|single]
#       [--fsprobe BIN]
# --docs writes docs/benchmarks.md and docs/benchmarks.png (host), or the
# kernel's own section of it and docs/benchmarks-vm-KERNEL.png (--vm).
# --vm measures the fentry and kprobe backends inside Debian's kernel under
# qemu (emulated: compare rows within the VM only; no peers there). Its two
# vCPUs run on two emulation threads (--vm-tcg multi, the default), so the
# loop and fsprobe's reader each have a CPU as on the host; with one thread
# (single, what the test matrix uses against text-patching races) the VM has
# one CPU's worth of time, and every watched row also pays for the reader.
# Installs inotify-tools, fatrace, bpftrace and gnuplot from the distribution;
# uses the release build (scripts/setup.sh). Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
iterations="" rounds=3 docs=0 vm="" vm_backends="fentry kprobe" vm_tcg=multi fsprobe=$PWD/.build/release/fsprobe
while [ $# -gt 0 ]; do
  case $1 in
    --iterations) iterations=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --docs) docs=1; shift ;;
    --vm) vm=$2; shift 2 ;;
    --vm-backends) vm_backends=$2; shift 2 ;;
    --vm-tcg) vm_tcg=$2; shift 2 ;;
    --fsprobe) fsprobe=$(realpath "$2"); shift 2 ;;
    *) sed -n '2,25s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
done
case $vm_tcg in multi | single) ;; *) echo "OpenCost: --vm-tcg wants multi or single, got '$vm_tcg'" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "OpenCost: run as root (fsprobe and the peers load BPF programs)" >&2; exit 1; }
[ -x "$fsprobe" ] || scripts/setup.sh
[ -x "$fsprobe" ] || { echo "OpenCost: no fsprobe at $fsprobe" >&2; exit 1; }

packages=(gnuplot-nox)
[ -z "$vm" ] && packages+=(inotify-tools fatrace bpftrace)
. scripts/lib/packages.sh
install_missing_packages OpenCost "${packages[@]}"
# bpftrace finds tracepoints through tracefs.
[ -n "$vm" ] || [ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
loop=$work/loop
cc -O2 -static -o "$loop" Benchmarks/OpenCost/loop.c
results=$work/results
command="Benchmarks/OpenCost/run.sh${vm:+ --vm $vm}${iterations:+ --iterations $iterations} --rounds $rounds"
[ -z "$vm" ] || [ "$vm_tcg" = multi ] || command+=" --vm-tcg $vm_tcg"

if [ -z "$vm" ]; then
  iterations=${iterations:-200000}
  # On this kernel only the backends that load: fentry and kprobe where they can.
  backends=$("$fsprobe" kernel-info 2>/dev/null | awk '$1 == "backend" && /loads and attaches/ { sub(":", "", $2); printf "%s ", $2 }')
  backends=${backends:-tracepoint}
  sh Benchmarks/OpenCost/measure.sh --fsprobe "$fsprobe" --loop "$loop" --work "$work/tree" \
    --iterations "$iterations" --rounds "$rounds" --backends "$backends" --peers --bpf-time --sustain 10 | tee "$results"
  mkdir -p "$work/latency"
  python3 Benchmarks/OpenCost/latency.py "$fsprobe" "$work/latency" | tee -a "$results"
  title="open+close cost, host kernel $(uname -r)"
  png=docs/benchmarks.png
else
  iterations=${iterations:-20000}
  cp Benchmarks/OpenCost/measure.sh "$work/measure.sh"
  scripts/vm/run-matrix.sh --kernels "$vm" --timeout 2400 --tcg-thread "$vm_tcg" --include "$fsprobe" --include "$loop" \
    --include "$work/measure.sh" -- /bin/sh "$work/measure.sh" --fsprobe "$fsprobe" --loop "$loop" \
    --work /tmp/opencost --iterations "$iterations" --rounds "$rounds" --backends "$vm_backends" --bpf-time |
    tee "$work/console"
  sed -n 's/^\[[^]]*\] \(\(RESULT\|BARE\|SKIP\|BPFTIME\) .*\)$/\1/p' "$work/console" | tr -d '\r' >"$results"
  title="open+close cost, Debian $vm under qemu (emulated)"
  png=docs/benchmarks-vm-$vm.png
fi

echo
report=(python3 Benchmarks/OpenCost/report.py "$results" --iterations "$iterations" --title "$title")
# A VM run is judged as one whether or not it writes the docs: its machine
# line names qemu, and its targets are the ones for qemu (no host BPF budget).
if [ -n "$vm" ]; then
  threads="two emulation threads"
  [ "$vm_tcg" = multi ] || threads="one emulation thread"
  report+=(--machine "qemu TCG on $(uname -m), 2 vCPUs on $threads, kernel $vm" --vm "$vm")
fi
if [ "$docs" = 1 ]; then
  "${report[@]}" --chart "$png" --docs docs/benchmarks.md --command "$command"
else
  "${report[@]}"
fi
