#!/bin/sh
# Runs an XCTest bundle once per fsprobe backend, inside a test VM (busybox
# sh), with FSPROBE_TEST_BACKEND set, and says which backends failed.
#   per-backend.sh "fentry kprobe tracepoint" TESTS.xctest
# The first backend runs the whole suite. The others skip the test classes
# that do not depend on the backend (listed below; they probe every backend
# themselves or test no kernel code), which would only repeat the same
# assertions: under emulation a BPF load takes seconds.
# Prints "fsprobe-matrix: backend B: PASS|FAIL (exit N)" per backend (the
# kernel matrix's summary quotes those lines); exits 1 if any failed.
BACKEND_AGNOSTIC='^FSProbeCLITests\.(BadInputTests|KernelInfoTests|PipelineCLITests|PipelineRunTests)$|^FSProbeSourcesTests\.'
backends=$1
tests=$2
subset=$("$tests" --list-tests | grep '/' | sed 's,/.*,,' | sort -u | grep -v -E "$BACKEND_AGNOSTIC" | tr '\n' ',')
subset=${subset%,}
[ -n "$subset" ] || { echo "fsprobe-matrix: no test classes listed by $tests"; exit 1; }

failed=""
filter=""
for backend in $backends; do
  echo "fsprobe-matrix: backend $backend: starting${filter:+ ($filter)}"
  FSPROBE_TEST_BACKEND=$backend "$tests" $filter
  status=$?
  if [ "$status" -eq 0 ]; then
    echo "fsprobe-matrix: backend $backend: PASS"
  else
    echo "fsprobe-matrix: backend $backend: FAIL (exit $status)"
    failed="$failed $backend"
  fi
  filter=$subset
done
[ -z "$failed" ] || { echo "fsprobe-matrix: failed backends:$failed"; exit 1; }
