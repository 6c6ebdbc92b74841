#!/usr/bin/env bash
# Soak: fsprobe for a long run (10 minutes) with the workload generator at
# full speed, into a file, a SQLite archive and a Kafka broker at once.
# Reports fsprobe's RSS over time and the exact accounting at the end:
#   opens generated = received + lost in the kernel ring buffer
#   per sink: received = delivered + dropped (buffer_full, sink_error),
#             with nothing left queued or in flight after the stop
# and checks each sink's delivered count against its destination: the lines
# read from the file (a FIFO, counted as they come: 10 minutes of JSON would
# not fit on the disk), the archive's rows, the messages read back from the broker.
#   Benchmarks/Soak/run.sh [--seconds S] [--fsprobe BIN]
# Needs root, the release build (scripts/setup.sh) and the test broker
# (scripts/install-kafka.sh); reading the broker back uses confluent-kafka
# from PyPI, in a virtual environment under .build.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=600 fsprobe=$PWD/.build/release/fsprobe
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --fsprobe) fsprobe=$(realpath "$2"); shift 2 ;;
    *) sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "Soak: run as root" >&2; exit 1; }
[ -x "$fsprobe" ] || scripts/setup.sh
broker_bin=/usr/local/bin/fsprobe-test-broker
[ -x "$broker_bin" ] || scripts/install-kafka.sh

work=$(mktemp -d /var/tmp/fsprobe-soak.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cc -O2 -static -o "$work/loop" Benchmarks/OpenCost/loop.c
venv=.build/soak-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q confluent-kafka; } || true

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$broker_bin" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ >"$work/broker.log" 2>&1 &
pids+=($!)
broker_pid=$!
until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do sleep 0.2; done

mkdir -p "$work/tree"
touch "$work/tree/file"
mkfifo "$work/events.jsonl"
wc -l <"$work/events.jsonl" >"$work/lines" &
pids+=($!)
cat >"$work/pipeline.yaml" <<YAML
sources:
  files: {type: kernel, paths: [$work/tree], events: [open], ring_buffer_pages: 2048}
sinks:
  file: {type: file, inputs: [files], path: $work/events.jsonl, when_full: drop_newest, buffer_size: 65536}
  archive: {type: sqlite, inputs: [files], path: $work/events.db, batch_size: 4096, when_full: drop_newest, buffer_size: 65536}
  stream: {type: kafka, inputs: [files], brokers: "127.0.0.1:$port", topic: soak, when_full: drop_newest, buffer_size: 65536}
YAML
"$fsprobe" run "$work/pipeline.yaml" --stats-interval 60 2>"$work/fsprobe.err" &
fsprobe_pid=$!
pids+=($fsprobe_pid)
# This run's ready line, in this run's own stderr file.
until grep -q "fsprobe: ready" "$work/fsprobe.err"; do
  kill -0 "$fsprobe_pid" 2>/dev/null || { cat "$work/fsprobe.err" >&2; exit 1; }
  sleep 0.1
done

echo "Soak: ${seconds}s of open+close at full speed; fsprobe RSS every 30 s:"
"$work/loop" "$work/tree/file" --seconds "$seconds" >"$work/loop.out" &
loop_pid=$!
elapsed=0
while kill -0 "$loop_pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$fsprobe_pid/status")
  broker_rss=$(awk '/VmRSS/ {print $2}' "/proc/$broker_pid/status")
  printf '  %4d s: fsprobe %6d MB, broker %6d MB\n' "$elapsed" $((rss / 1024)) $((broker_rss / 1024))
  sleep 30 & wait $! || true
  elapsed=$((elapsed + 30))
done
wait "$loop_pid"
generated=$(sed -n 's/.*n=\([0-9]*\).*/\1/p' "$work/loop.out")
kill -TERM "$fsprobe_pid"
status=0
wait "$fsprobe_pid" || status=$?
grep -v '^fsprobe: ready' "$work/fsprobe.err" | tail -n 3

stats=$(grep '^fsprobe: stats:' "$work/fsprobe.err" | tail -n 1)
number() { echo "$stats" | sed -n "s/.*$1 \([0-9]*\).*/\1/p"; }
received=$(number 'received')
lost=$(number 'kernel lost')
echo
echo "Soak accounting (generated $generated opens in ${seconds}s; fsprobe exit status $status):"
echo "  received $received + kernel lost $lost = $((received + lost)) (generated $generated)"
ok=1
[ $((received + lost)) -eq "$generated" ] || ok=0
for sink in file archive stream; do
  part=$(echo "$stats" | tr ';' '\n' | grep "^ $sink:")
  d=$(echo "$part" | sed -n 's/.*delivered \([0-9]*\).*/\1/p')
  bf=$(echo "$part" | sed -n 's/.*buffer_full \([0-9]*\).*/\1/p')
  se=$(echo "$part" | sed -n 's/.*sink_error \([0-9]*\).*/\1/p')
  q=$(echo "$part" | sed -n 's/.*queued \([0-9]*\).*/\1/p')
  f=$(echo "$part" | sed -n 's/.*in flight \([0-9]*\).*/\1/p')
  echo "  $sink: delivered $d + buffer_full $bf + sink_error $se + queued $q + in flight $f = $((d + bf + se + q + f)) (received $received)"
  [ $((d + bf + se + q + f)) -eq "$received" ] && [ "$q" -eq 0 ] && [ "$f" -eq 0 ] || ok=0
  eval "delivered_$sink=$d"
done
wait "${pids[-1]}" 2>/dev/null || true
lines=$(cat "$work/lines")
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from events').fetchone()[0])" "$work/events.db")
echo "  file: $lines lines read from it (delivered $delivered_file)"
echo "  archive: $rows rows (delivered $delivered_archive)"
[ "$lines" -eq "$delivered_file" ] && [ "$rows" -eq "$delivered_archive" ] || ok=0
if [ -x "$venv/bin/python" ]; then
  # Read back from the start of every partition until nothing comes for 10 s
  # (the test broker's end offsets are not reliable; its records are).
  consumed=$("$venv/bin/python" - "$port" <<'PY'
import sys, time
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
c = Consumer({"bootstrap.servers": "127.0.0.1:" + sys.argv[1], "group.id": "soak", "enable.auto.commit": False})
parts = c.list_topics("soak", timeout=10).topics["soak"].partitions
c.assign([TopicPartition("soak", p, OFFSET_BEGINNING) for p in parts])
total, idle = 0, time.time()
while time.time() - idle < 10:
    batch = c.consume(10000, 1.0)
    if batch:
        idle = time.time()
    total += sum(1 for m in batch if not m.error())
print(total)
PY
) || consumed="unknown"
  echo "  stream: $consumed messages read back from the broker (delivered $delivered_stream)"
  [ "$consumed" = "$delivered_stream" ] || ok=0
fi
[ $ok = 1 ] && echo "Soak: every event accounted for" || { echo "Soak: ACCOUNTING MISMATCH"; exit 1; }
