#!/usr/bin/env bash
# Runs fsprobe's tests on real Debian kernels booted under qemu (no KVM
# needed): the whole XCTest suite (kernel, CLI and decoding tests) on 6.1 and
# 6.12, where the tracepoint backend must behave exactly as on the host; and
# on 5.10, which lacks bpf_loop, a check that fsprobe refuses to start with
# one clear line. Kernels are cached (see scripts/vm/fetch-kernels.sh).
# Expects a debug build with tests (scripts/test.sh does that first).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH

bin=$(swift build --show-bin-path)
tests=$bin/fsprobePackageTests.xctest
fsprobe=$bin/fsprobe

scripts/vm/run-matrix.sh --kernels 6.1,6.12 --tmp ext4 --timeout 600 \
  --include "$tests" --include "$fsprobe" --include /usr/bin/setpriv \
  --env FSPROBE_BIN="$fsprobe" -- "$tests"

# 5.10: exit status 1 and exactly one line naming the missing helper.
scripts/vm/run-matrix.sh --kernels 5.10 --timeout 300 --include "$fsprobe" -- /bin/sh -c \
  "mkdir -p /tmp/w; $fsprobe /tmp/w 2>/tmp/err; status=\$?; cat /tmp/err;
   [ \$status -eq 1 ] && [ \$(wc -l < /tmp/err) -eq 1 ] && grep -q 'needs the bpf_loop helper' /tmp/err"
