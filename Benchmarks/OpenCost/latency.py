#!/usr/bin/env python3
"""How long a lone event takes from the kernel to fsprobe's output.

fsprobe batches ring-buffer wake-ups (docs/performance.md), so at low rates
an event must still arrive quickly. This opens a watched file COUNT times,
one every GAP milliseconds, reads fsprobe's JSON lines as they come, and
compares each line's arrival time with the event's own timestamp.
Prints "LATENCY <median ms> <p99 ms> <max ms> <events>" for report.py.

    latency.py FSPROBE WATCHED_DIR [--count N] [--gap-ms MS] [--backend B]
"""
import argparse
import datetime
import json
import os
import selectors
import statistics
import subprocess
import sys
import time


def event_time_ns(line):
    """The event's timestamp (RFC 3339 with nanoseconds, UTC) in ns since the epoch."""
    text = json.loads(line)["timestamp"]
    seconds, _, rest = text.rstrip("Z").partition(".")
    whole = datetime.datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(whole.timestamp()) * 1_000_000_000 + int((rest or "0").ljust(9, "0")[:9])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fsprobe")
    p.add_argument("watched")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--gap-ms", type=float, default=20)
    p.add_argument("--backend", default="auto")
    a = p.parse_args()
    target = os.path.join(a.watched, "latency-target")
    open(target, "w").close()
    proc = subprocess.Popen([a.fsprobe, a.watched, "-e", "open", "-f", "json", "--backend", a.backend],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Its own ready line, on its own stderr: nothing stale can count.
    while b"fsprobe: ready" not in (proc.stderr.readline() or b"fsprobe: ready"):
        pass
    if proc.poll() is not None:
        sys.exit("latency: fsprobe exited: " + proc.stderr.read().decode(errors="replace"))
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    latencies, pending = [], b""
    deadline = time.monotonic() + a.count * a.gap_ms / 1000 + 5
    opened = 0
    next_open = time.monotonic()
    while len(latencies) < a.count and time.monotonic() < deadline:
        if opened < a.count and time.monotonic() >= next_open:
            os.close(os.open(target, os.O_RDONLY))
            opened += 1
            next_open += a.gap_ms / 1000
        for _ in selector.select(timeout=0.001):
            chunk = os.read(proc.stdout.fileno(), 65536)
            arrived = time.time_ns()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if b"latency-target" in line:
                    latencies.append((arrived - event_time_ns(line)) / 1e6)
    proc.terminate()
    proc.wait()
    if not latencies:
        sys.exit("latency: no event arrived")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"LATENCY {statistics.median(latencies):.2f} {p99:.2f} {latencies[-1]:.2f} {len(latencies)}")


if __name__ == "__main__":
    main()
