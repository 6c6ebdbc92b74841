#!/usr/bin/env bash
# Fuzzes what fsprobe reads from outside with libFuzzer and AddressSanitizer:
# disk-buffer segments and state files, disk-buffer event records, kernel
# ring-buffer records, pipeline files, JSON event lines read back
# (Fuzz/Targets/FuzzTarget.swift says what each checks).
#   scripts/fuzz.sh [--time SECONDS] [TARGET...]     (default: 60 s each, every target)
# Each target starts from Fuzz/Regressions/TARGET (seeds, and every input
# that once failed) plus its own growing corpus in .build/fuzz-corpus. An
# input that fails is copied to Fuzz/Regressions/TARGET/, where the tests
# (FuzzRegressionTests) replay it from then on: commit it with the fix.
# Exits 1 when a target found a failing input.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH

seconds=60
if [ "${1:-}" = --time ]; then seconds=$2; shift 2; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(disk-buffer event-codec kernel-record pipeline-file event-json)

swift build --product fsprobe-fuzz --build-path .build/fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | tail -n 1
fuzzer=.build/fuzz/debug/fsprobe-fuzz

# Swift's own crash reporter would run inside ASan's and hide the report;
# leak checking would report the runtime's lifelong caches.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1

failed=0
for target in "${targets[@]}"; do
  corpus=.build/fuzz-corpus/$target
  artifacts=.build/fuzz-artifacts/$target
  mkdir -p "$corpus" "$artifacts" "Fuzz/Regressions/$target"
  log=$artifacts/log
  echo "fuzz: $target for ${seconds}s"
  if FSPROBE_FUZZ_TARGET=$target "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
       -artifact_prefix="$artifacts/" "$corpus" "Fuzz/Regressions/$target" >"$log" 2>&1; then
    echo "fuzz: $target: no failure ($(grep -o 'DONE *cov: [0-9]*' "$log" | tail -n 1 || true); $(grep -c '' <(ls "$corpus")) inputs in the corpus)"
  else
    failed=1
    for artifact in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
      [ -e "$artifact" ] || continue
      cp "$artifact" "Fuzz/Regressions/$target/"
      echo "fuzz: $target: FAILED on $(basename "$artifact"), kept in Fuzz/Regressions/$target/ (details: $log)"
      rm "$artifact"
    done
    grep -m 1 -E 'ERROR|Fatal error|runtime failure' "$log" || tail -n 5 "$log"
  fi
done
exit $failed
