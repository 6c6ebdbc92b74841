#!/bin/sh
# The measurement of Benchmarks/OpenCost, as one POSIX sh script so that it
# runs the same on the host and in a qemu VM's busybox. It prints one line
# per figure, for report.py:
#   RESULT <row> <round> <ns per open+close> <events reported> <events lost> <loop CPU ns>
#        (the loop's own CPU time per open+close: what it did not spend waiting
#        for a CPU another task held)
#   BARE <row> <round> <ns before> <ns after>: the loop on the row's file with
#        nothing attached, just before its watcher started and after it stopped
#   BPFTIME <row> <ns of BPF run time per open+close>
#   SUSTAIN <row> <seconds> <opens> <events reported> <events lost>
#   SKIP <row> <reason>
# Rows: nothing (and nothing:5, nothing:50: the files 5 and 50 directories
# deep); then per backend B: floor@B (the same hooks, empty programs; also
# floor:5@B, floor:50@B), unselected@B (-e mkdir), unwatched:5@B and
# unwatched:50@B (a file 5 or 50 directories deep outside the watch),
# watched-MODE@B (one per resolution mode, JSON to a file); then the peers
# (host only): the floor of per-syscall tracepoints, inotifywait, fatrace,
# bpftrace.
#   measure.sh --fsprobe BIN --loop BIN --work DIR [--iterations N] [--rounds R]
#              [--backends "tracepoint"] [--peers] [--bpf-time] [--sustain S]
set -eu

iterations=200000 rounds=3 backends=tracepoint peers=0 bpf_time=0 sustain=0
fsprobe="" loop="" work=""
while [ $# -gt 0 ]; do
  case $1 in
    --fsprobe) fsprobe=$2; shift 2 ;;
    --loop) loop=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --backends) backends=$2; shift 2 ;;
    --peers) peers=1; shift ;;
    --bpf-time) bpf_time=1; shift ;;
    --sustain) sustain=$2; shift 2 ;;
    *) echo "measure.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$fsprobe" ] && [ -x "$loop" ] && [ -n "$work" ] || { echo "measure.sh: --fsprobe, --loop and --work are required" >&2; exit 2; }

modes="perf_buffer fragments single_fragment"
watched=$work/watched
target=$watched/openloop-target
mkdir -p "$watched"
: >"$target"
# Unwatched files, 5 and 50 directories below a sibling of the watched directory.
deep() { d=$work/outside; i=0; while [ $i -lt "$1" ]; do d=$d/d$i; i=$((i + 1)); done; echo "$d"; }
for depth in 5 50; do mkdir -p "$(deep $depth)"; : >"$(deep $depth)/openloop-target"; done

# The unwatched files lie deeper than the watched one, which makes the
# kernel's own lookup longer: each depth has its own "nothing" and floor.
rows="nothing nothing:5 nothing:50"
for b in $backends; do
  rows="$rows floor@$b floor:5@$b floor:50@$b unselected@$b unwatched:5@$b unwatched:50@$b"
  for m in $modes; do rows="$rows watched-$m@$b"; done
done
[ "$peers" = 1 ] && rows="$rows floor-syscall-tracepoints inotifywait fatrace bpftrace"

pid="" out=$work/out err=$work/err

# The file a row's loop opens.
row_file() {
  file_kind=${1%@*}
  case $file_kind in
    *:*) echo "$(deep "${file_kind#*:}")/openloop-target" ;;
    *) echo "$target" ;;
  esac
}

# Waits (30 s at most) until file $1 holds $2, the watcher $pid staying alive.
wait_for() {
  tries=0
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "SKIP $row exited: $(tr '\n' ' ' <"$err" | cut -c1-300)"; return 1; }
    tries=$((tries + 1))
    [ $tries -lt 300 ] || { echo "SKIP $row not ready after 30 s"; return 1; }
    sleep 0.1
  done
}

# A peer's own ready signal: it has reported an open of this run's marker.
wait_marker() {
  marker=$watched/ready-$row-$round-$$
  : >"$marker"
  tries=0
  until grep -q "ready-$row-$round-$$" "$out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "SKIP $row exited: $(tr '\n' ' ' <"$err" | cut -c1-300)"; return 1; }
    tries=$((tries + 1))
    [ $tries -lt 300 ] || { echo "SKIP $row not ready after 30 s"; return 1; }
    cat "$marker" >/dev/null
    sleep 0.1
  done
  rm -f "$marker"
}

# Starts the watcher of row $1 (none for "nothing") and waits for its own
# ready signal: the old output and log are deleted first, so a stale one
# cannot count.
start_row() {
  row=$1
  rm -f "$out" "$err"
  pid=""
  case $row in
    nothing*) return 0 ;;
    inotifywait)
      inotifywait -m -r -e open -o "$out" "$watched" 2>"$err" &
      pid=$!
      wait_for "$err" "Watches established" ;;
    fatrace)
      # -c: the file system of the current directory; line-buffered so the marker shows.
      (cd "$watched" && exec stdbuf -oL fatrace -c -f O -o "$out") 2>"$err" &
      pid=$!
      wait_marker ;;
    floor-syscall-tracepoints)
      # What the per-syscall tracepoints cost by themselves: empty probes on
      # open's enter and exit (BEGIN runs once every probe is attached).
      bpftrace -e 'BEGIN { printf("attached\n"); }
        tracepoint:syscalls:sys_enter_openat { } tracepoint:syscalls:sys_exit_openat { }' >"$out" 2>"$err" &
      pid=$!
      wait_for "$out" attached ;;
    bpftrace)
      # opensnoop's approach: the name at entry, the result at exit.
      bpftrace -o "$out" -e 'tracepoint:syscalls:sys_enter_openat { @name[tid] = args->filename; }
        tracepoint:syscalls:sys_exit_openat /@name[tid]/ { printf("%d %s %d\n", pid, str(@name[tid]), args->ret); delete(@name[tid]); }' \
        >/dev/null 2>"$err" &
      pid=$!
      wait_marker ;;
    *)
      backend=${row#*@} kind=${row%@*}
      kind=${kind%:*}
      set -- "$watched" --backend "$backend" -f json -o "$out" -e open
      case $kind in
        floor) set -- "$@" --bench-empty-programs ;;
        unselected) set -- "$watched" --backend "$backend" -f json -o "$out" -e mkdir ;;
        watched-*) set -- "$@" --dentry-resolution-mode "${kind#watched-}" ;;
      esac
      "$fsprobe" "$@" 2>"$err" &
      pid=$!
      wait_for "$err" "fsprobe: ready" ;;
  esac
}

# Stops the watcher; sets $reported (its lines naming the loop's file) and $lost.
stop_row() {
  reported=0 lost=0
  [ -n "$pid" ] || return 0
  # TERM: a background job of a non-interactive shell ignores SIGINT.
  kill -TERM "$pid" 2>/dev/null || true
  case $row in
    *@*) ;;  # fsprobe: let it deliver what it captured, however long that takes
    *) # A peer that is still running after 10 s gets INT, which it handles
       # itself (bpftrace once stayed in its event loop after a TERM), then KILL.
       tries=0
       while kill -0 "$pid" 2>/dev/null; do
         tries=$((tries + 1))
         [ $tries -ne 100 ] || kill -INT "$pid" 2>/dev/null || true
         [ $tries -ne 200 ] || kill -KILL "$pid" 2>/dev/null || true
         sleep 0.1
       done ;;
  esac
  wait "$pid" 2>/dev/null || true
  pid=""
  reported=$(grep -c openloop-target "$out" 2>/dev/null || true)
  case $row in
    *@*) lost=$(sed -n 's/.*, \([0-9][0-9]*\) lost .*/\1/p' "$err" | tail -n 1)
         [ -n "$lost" ] || { echo "SKIP $row no shutdown report: $(tr '\n' ' ' <"$err" | cut -c1-300)"; lost=0; } ;;
  esac
}

# After a watcher that did not get ready: stop it if it still runs.
abandon_row() {
  [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
  [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
  pid=""
}

# BPF run time of the watcher's programs, summed over the descriptors it
# holds (their fdinfo counts it while kernel.bpf_stats_enabled=1).
bpf_run_time() {
  cat /proc/"$pid"/fdinfo/* 2>/dev/null | awk '$1 == "run_time_ns:" { sum += $2 } END { printf "%d\n", sum }'
}

# The words after the first, with the first $1 of them moved to the end.
rotate() {
  n=$1; shift
  while [ "$n" -gt 0 ]; do first=$1; shift; set -- "$@" "$first"; n=$((n - 1)); done
  echo "$@"
}

# The loop on row $1's file with nothing attached: its ns per open+close.
bare_ns() {
  "$loop" "$(row_file "$1")" "$iterations" | sed -n 's/ns=\([0-9]*\).*/\1/p'
}

round=1
while [ $round -le "$rounds" ]; do
  # Interleaved: every row once per round, starting one row later each round.
  order=$(rotate $((round - 1)) $rows)
  for r in $order; do
    # Each watched row is bracketed by the bare loop on its file, timed just
    # before the watcher starts and just after it stops: the machine's load
    # drifts within a round, and its rows are minutes apart.
    case $r in nothing*) before="" ;; *) before=$(bare_ns "$r") ;; esac
    start_row "$r" || { abandon_row; continue; }
    result=$("$loop" "$(row_file "$r")" "$iterations")
    stop_row
    ns=$(echo "$result" | sed -n 's/ns=\([0-9]*\).*/\1/p')
    cpu=$(echo "$result" | sed -n 's/.* cpu=\([0-9]*\).*/\1/p')
    echo "RESULT $r $round $ns $reported $lost $cpu"
    [ -z "$before" ] || echo "BARE $r $round $before $(bare_ns "$r")"
  done
  round=$((round + 1))
done

if [ "$bpf_time" = 1 ]; then
  old=$(cat /proc/sys/kernel/bpf_stats_enabled)
  echo 1 >/proc/sys/kernel/bpf_stats_enabled
  for r in $rows; do
    case $r in *@*) ;; *) continue ;; esac
    start_row "$r" || { abandon_row; continue; }
    before=$(bpf_run_time)
    "$loop" "$(row_file "$r")" "$iterations" >/dev/null
    after=$(bpf_run_time)
    stop_row
    echo "BPFTIME $r $(( (after - before) / iterations ))"
  done
  echo "$old" >/proc/sys/kernel/bpf_stats_enabled
fi

if [ "$sustain" != 0 ]; then
  for b in $backends; do
    for m in $modes; do
      r=watched-$m@$b
      start_row "$r" || { abandon_row; continue; }
      result=$("$loop" "$target" --seconds "$sustain")
      stop_row
      echo "SUSTAIN $r $sustain $(echo "$result" | sed -n 's/.* n=\([0-9]*\).*/\1/p') $reported $lost"
    done
  done
fi
