#!/usr/bin/env bash
# Compares fsprobe's three dentry resolution modes on the original FSProbe's
# six scenarios (depth / breadth / files; components of 10 random characters):
#   1: 10/1/1  2: 60/1/1  3: 10/1/120000  4: 10/4000/80000  5: 60/1000/60000  6: 5/8000/80000
# For each scenario and mode: nanoseconds per open+close of a random file of
# the watched tree (and with nothing attached), events lost, and the walks
# that stopped at a cached directory (counted over the whole machine: other
# processes' walks, filtered in the kernel, count too).
# Then, for one scenario, the highest open rate sustained for SECONDS with no
# event lost, per mode and ring buffer size (--perf-buffer-size).
#   Benchmarks/ResolutionModes/run.sh [--scenarios 1,2,3,4,5,6] [--iterations N]
#       [--rate-scenario K] [--pages "8 64 512 4096"] [--rates "20000 40000 ..."]
#       [--seconds S] [--backend B] [--no-rate]
# Uses the release build (scripts/setup.sh). Needs root; builds its trees
# under a temporary directory (scenario 5 alone is 60,000 directories).
set -euo pipefail
cd "$(dirname "$0")/../.."
scenarios=1,2,3,4,5,6 iterations=120000 rate_scenario=6 pages="8 64 512 4096"
rates="20000 40000 60000 80000 100000 120000 160000" seconds=10 backend=auto rate=1
while [ $# -gt 0 ]; do
  case $1 in
    --scenarios) scenarios=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --rate-scenario) rate_scenario=$2; shift 2 ;;
    --pages) pages=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --no-rate) rate=0; shift ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
  esac
done
fsprobe=$PWD/.build/release/fsprobe
[ -x "$fsprobe" ] || { echo "run scripts/setup.sh first (no $fsprobe)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
loop=$work/treeloop
cc -O2 -o "$loop" Benchmarks/ResolutionModes/treeloop.c
modes="perf_buffer fragments single_fragment"

shape() {
  case $1 in
    1) echo "10 1 1" ;; 2) echo "60 1 1" ;; 3) echo "10 1 120000" ;;
    4) echo "10 4000 80000" ;; 5) echo "60 1000 60000" ;; 6) echo "5 8000 80000" ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
  esac
}

# Starts fsprobe on tree $1 in mode $2 with $3 pages; sets $pid; waits until ready.
start_fsprobe() {
  rm -f "$work/err" # the last run's "ready" must not count for this one
  "$fsprobe" "$1" -e open -f none --backend "$backend" --dentry-resolution-mode "$2" \
    --perf-buffer-size "$3" 2>"$work/err" &
  pid=$!
  until grep -q 'ready' "$work/err" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "fsprobe failed: $(cat "$work/err")" >&2; exit 1; }
    sleep 0.1
  done
}

# Stops fsprobe and reads its shutdown report into $lost, $hits, $misses
# (not in a subshell: only this shell can wait for its child).
stop_fsprobe() {
  kill -TERM "$pid"; wait "$pid" || true
  lost=$(sed -n 's/.*, \([0-9][0-9]*\) lost .*/\1/p' "$work/err" | tail -n 1)
  hits=$(sed -n 's/.*cache: \([0-9][0-9]*\) hits, .*/\1/p' "$work/err" | tail -n 1)
  misses=$(sed -n 's/.*cache: [0-9]* hits, \([0-9][0-9]*\) misses.*/\1/p' "$work/err" | tail -n 1)
  [ -n "$lost" ] && [ -n "$hits" ] && [ -n "$misses" ] || { echo "no shutdown report: $(cat "$work/err")" >&2; exit 1; }
}

echo "## Cost per open+close (ns), backend $backend, $iterations iterations"
echo
echo "| scenario (depth/breadth/files) | nothing attached | perf_buffer | fragments | single_fragment |"
echo "| --- | --- | --- | --- | --- |"
for k in ${scenarios//,/ }; do
  read -r depth breadth files <<<"$(shape "$k")"
  tree=$work/tree$k
  "$loop" build "$tree" "$depth" "$breadth" "$files"
  "$loop" cost "$tree" 20000 >/dev/null # warm the dentry cache
  row="| $k ($depth/$breadth/$files) | $("$loop" cost "$tree" "$iterations")"
  for mode in $modes; do
    start_fsprobe "$tree" "$mode" 4096
    ns=$("$loop" cost "$tree" "$iterations")
    stop_fsprobe
    row="$row | $ns (lost $lost, walks cut short $hits/$((hits + misses)))"
  done
  echo "$row |"
  [ "$k" = "$rate_scenario" ] || rm -rf "$tree"
done

[ "$rate" = 1 ] || exit 0
read -r depth breadth files <<<"$(shape "$rate_scenario")"
tree=$work/tree$rate_scenario
[ -d "$tree" ] || "$loop" build "$tree" "$depth" "$breadth" "$files"
echo
echo "## Highest open rate with no event lost over ${seconds} s, scenario $rate_scenario (opens/s)"
echo
echo "| pages | $(echo $modes | sed 's/ / | /g') |"
echo "| --- |$(for m in $modes; do printf ' --- |'; done)"
for p in $pages; do
  row="| $p"
  for mode in $modes; do
    best=0
    for r in $rates; do
      start_fsprobe "$tree" "$mode" "$p"
      reached=$("$loop" rate "$tree" "$r" "$seconds")
      stop_fsprobe
      [ "$lost" = 0 ] || break
      best=$reached
      # The workload could not go faster: higher targets measure nothing new.
      [ "$reached" -ge $((r * 95 / 100)) ] || break
    done
    row="$row | $best"
  done
  echo "$row |"
done
