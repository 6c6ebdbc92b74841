#!/bin/sh
# Runs an XCTest bundle once per fsprobe backend, inside a test VM (busybox
# sh), with FSPROBE_TEST_BACKEND set, and says which backends failed.
#   per-backend.sh "fentry kprobe tracepoint" TESTS.xctest [all|subset]
# With "all" (the default) the first backend runs the whole suite but the
# HOST_ONLY classes (below); with "subset" it runs what the others run (the
# whole suite ran on this kernel with another backend, in another VM).
# The others also skip the test classes
# that do not depend on the backend (listed below; they probe every backend
# themselves or test no kernel code), which would only repeat the same
# assertions: under emulation a BPF load takes seconds.
# The suites that run once per dentry resolution mode (MODE_MATRIX) run all
# three modes with the first backend and only the default mode (perf_buffer)
# with the others: the modes' code is the same whatever hook feeds it, and
# each mode's run is a minute or more under emulation.
# Prints "fsprobe-matrix: backend B: PASS|FAIL (exit N)" per backend (the
# kernel matrix's summary quotes those lines); exits 1 if any failed.
BACKEND_AGNOSTIC='^FSProbeCLITests\.(BadInputTests|KernelInfoTests|LeastPrivilegeTests|PipelineCLITests|PipelineRunTests)$|^FSProbeSourcesTests\.'
# Classes that test nothing of the kernel (refused flags, a failing output's
# accounting, metrics and reloads, queries of an archive, the JSON schema):
# the host's run covers them; they do not run here at all.
HOST_ONLY='^FSProbeCLITests\.(FlagErrorTests|OutputFaultTests|HelpAndVersionTests|MetricsTests|ReloadTests|LoggingTests|QueryCommandTests)$|^FSProbeSinksTests\.ArchiveQueryTests$|^FSProbeCoreTests\.EventJSONSchemaTests$'
backends=$1
tests=$2
scope=${3:-all}
case $scope in all|subset) ;; *) echo "fsprobe-matrix: scope '$scope': expected all or subset"; exit 2 ;; esac
MODE_MATRIX='^FSProbeKernelTests\.(PathTruthTests|PathViewTests)$'
listed=$("$tests" --list-tests | grep '/')
every=$(echo "$listed" | sed 's,/.*,,' | sort -u | grep -v -E "$HOST_ONLY")
classes=$(echo "$every" | grep -v -E "$BACKEND_AGNOSTIC")
subset=""
for class in $classes; do
  if echo "$class" | grep -q -E "$MODE_MATRIX"; then
    subset="$subset$class/testPerfBuffer,"
  else
    subset="$subset$class,"
  fi
done
subset=${subset%,}
[ -n "$subset" ] || { echo "fsprobe-matrix: no test classes listed by $tests"; exit 1; }

failed=""
filter=$(echo "$every" | tr '\n' ',')
filter=${filter%,}
[ "$scope" = all ] || filter=$subset
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
