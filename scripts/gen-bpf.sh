#!/bin/sh
# Regenerates the BPF object and its skeleton from ebpf/:
#   ebpf/fsprobe.bpf.o (not committed), Sources/CFSProbeBPF/include/fsprobe.skel.h
#   and the object's SHA-256 in Sources/CFSProbeBPF/include/fsprobe_object.h.
# Run after any change under ebpf/ and commit both headers.
#   scripts/gen-bpf.sh            object + skeleton from the committed ebpf/vmlinux.h
#   scripts/gen-bpf.sh vmlinux    also regenerate ebpf/vmlinux.h from this kernel first
# Needs clang (default /opt/swift/usr/bin/clang, override with CLANG=...), bpftool,
# libbpf-dev headers.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = "vmlinux" ]; then
	make -C ebpf vmlinux
fi
make -C ebpf all
