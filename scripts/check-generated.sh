#!/bin/sh
# Fails when the committed skeleton (or the object's checksum) does not match what the committed BPF
# sources (ebpf/*, including the committed ebpf/vmlinux.h) build to.
# Builds into a temporary copy of ebpf/, so the checkout is left untouched.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Build from a copy: the output must not depend on the directory (the
# Makefile maps paths away), which this also checks.
mkdir -p "$tmp/ebpf"
cp -R ebpf/. "$tmp/ebpf/"
rm -f "$tmp/ebpf/fsprobe.bpf.o" "$tmp/ebpf"/*.tmp
if ! make -s -C "$tmp/ebpf" OUTDIR="$tmp/out" SKEL="$tmp/out/fsprobe.skel.h" OBJSUM="$tmp/out/fsprobe_object.h" all >"$tmp/build.log" 2>&1; then
	cat "$tmp/build.log" >&2
	echo "BPF build failed" >&2
	exit 1
fi

status=0
for generated in fsprobe.skel.h fsprobe_object.h; do
	if ! cmp -s "$tmp/out/$generated" "Sources/CFSProbeBPF/include/$generated"; then
		echo "differs: Sources/CFSProbeBPF/include/$generated" >&2
		status=1
	fi
done
# A local object, when present, must match too (it is not committed).
if [ -f ebpf/fsprobe.bpf.o ] && ! cmp -s "$tmp/out/fsprobe.bpf.o" ebpf/fsprobe.bpf.o; then
	echo "differs: ebpf/fsprobe.bpf.o" >&2
	status=1
fi
if [ "$status" -ne 0 ]; then
	echo "generated files are not up to date: run scripts/gen-bpf.sh" >&2
	exit 1
fi
echo "generated files are up to date"
