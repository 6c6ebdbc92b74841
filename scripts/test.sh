#!/usr/bin/env bash
# Sets up and runs every test of fsprobe (needs root: the tests load the real
# BPF programs into the running kernel).
#   1. install packages and build (scripts/setup.sh)
#   2. check the committed generated BPF artifacts are up to date, and that
#      the kernel source's modules depend on no YAML, SQLite or Kafka library
#   3. build the benchmarks (so they stay current)
#   4. swift test: unit tests, kernel tests on this machine's kernel, CLI tests;
#      the example pipelines in pipelines/ validated and their test cases run
#   5. the Debian package: built, installed, checked and purged
#      (scripts/test-package.sh)
#   6. the same kernel and CLI tests on Debian kernels 5.10, 6.1 and 6.12 in
#      qemu, one VM per core side by side (scripts/test-kernels.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "test: run as root (the tests load BPF programs)" >&2; exit 1; }
scripts/setup.sh --debug
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH

scripts/check-generated.sh
scripts/check-modules.sh

swift build --build-tests 2>&1 | tail -n 3
# Keep the benchmark package compiling with the code it measures (running it is manual).
swift build --package-path Benchmarks 2>&1 | tail -n 1
# The CLI tests run the fsprobe binary built above, as a user would.
export FSPROBE_BIN="$(swift build --show-bin-path)/fsprobe"
swift test --skip-build

# The example pipelines users start from: each must validate, and pass its
# own test cases when it has some (a dummy broker list: nothing connects).
for pipeline in pipelines/*.yaml; do
  KAFKA_BROKERS=localhost:9092 "$FSPROBE_BIN" pipeline validate "$pipeline"
  if grep -q '^tests:' "$pipeline"; then
    KAFKA_BROKERS=localhost:9092 "$FSPROBE_BIN" pipeline test "$pipeline"
  fi
done

scripts/test-package.sh

scripts/test-kernels.sh
