#!/usr/bin/env bash
# Runs the unit and pipeline tests under ThreadSanitizer and AddressSanitizer
# (the Kafka suites under AddressSanitizer only: see below):
# the disk buffer's reader and writer threads, the pipeline's sink and
# transform threads, the sinks' counters read from the stats thread, and the
# fsprobe binary itself running pipeline files (as root: its kernel source
# loads BPF programs).
#   scripts/sanitizers.sh [thread|address]...      (default: both)
# Each sanitizer builds into its own directory (.build/sanitize-NAME), so
# the normal build is left alone. Exits 1 if any run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH

sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(thread address)
# The suites that need no kernel hook: unit tests, sinks against a real
# SQLite file and broker, and the CLI's pipeline runs.
filter='FSProbeCoreTests|FSProbePipelineTests|FSProbeSourcesTests|FSProbeSinksTests|FSProbeFuzzRegressionTests|PipelineRunTests|PipelineCLITests|SQLiteRunTests|KafkaRunTests|DiskBufferRunTests'

# Swift's crash reporter would run inside the sanitizer's report.
export SWIFT_BACKTRACE=enable=no
# halt_on_error: the first report fails the run; the runtime's lifelong
# caches are not leaks.
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=0

failed=0
for sanitizer in "${sanitizers[@]}"; do
  build=.build/sanitize-$sanitizer
  echo "sanitizers: $sanitizer: building"
  swift build --build-tests --build-path "$build" -Xswiftc -sanitize="$sanitizer" 2>&1 | tail -n 1
  bin=$(swift build --build-path "$build" --show-bin-path)
  echo "sanitizers: $sanitizer: testing"
  skip=()
  # librdkafka (not built with the sanitizer) crashes ThreadSanitizer's
  # allocator on its broker threads: the Kafka suites run under ASan only.
  [ "$sanitizer" = thread ] && skip=(--skip Kafka)
  if FSPROBE_BIN=$bin/fsprobe swift test --skip-build --build-path "$build" --filter "$filter" "${skip[@]}" > "$build/test.log" 2>&1; then
    echo "sanitizers: $sanitizer: PASS ($(grep -E 'Test run with|Executed [0-9]+ tests' "$build/test.log" | tail -n 2 | tr '\n' ' '))"
  else
    failed=1
    echo "sanitizers: $sanitizer: FAIL (log: $build/test.log)"
    grep -m 5 -E 'WARNING: ThreadSanitizer|ERROR: AddressSanitizer|✘|error:' "$build/test.log" || tail -n 20 "$build/test.log"
  fi
done
exit $failed
