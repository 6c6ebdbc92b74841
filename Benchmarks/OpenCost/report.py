#!/usr/bin/env python3
"""Turns measure.sh's lines into the table of Benchmarks/OpenCost.

Each figure is a median over the interleaved rounds. A row's ratio to
"nothing" is taken per round against the bare loop timed on the same file
just before its watcher started and just after it stopped (BARE lines), then
their median, so a noisy machine shifts both sides of a ratio alike. "× floor"
is the ratio of the row's and the floor's ratios, per round.

    report.py RESULTS [--title T] [--chart PNG] [--docs MD --command C]
"""
import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

LABELS = {
    "nothing": "nothing attached",
    "floor": "floor: the same hooks, empty programs",
    "unselected": "fsprobe `-e mkdir` on the file's directory (opens not selected)",
    "unwatched": "fsprobe `-e open`, file outside the watch",
    "watched-perf_buffer": "fsprobe `-e open`, file watched, perf_buffer",
    "watched-fragments": "fsprobe `-e open`, file watched, fragments",
    "watched-single_fragment": "fsprobe `-e open`, file watched, single_fragment",
    "floor-syscall-tracepoints": "floor of per-syscall tracepoints: empty bpftrace probes on `syscalls:sys_{enter,exit}_openat`",
    "inotifywait": "`inotifywait -m -r -e open`",
    "fatrace": "`fatrace -c -f O` (fanotify)",
    "bpftrace": "bpftrace, opensnoop-style, `syscalls:sys_{enter,exit}_openat`",
}


def label(row):
    kind, _, backend = row.partition("@")
    kind, _, depth = kind.partition(":")
    text = LABELS.get(kind, kind)
    if depth:
        text += f", file {depth} directories deep"
    return f"{text} ({backend})" if backend else text


def bases(row):
    """The "nothing" and floor rows a row compares with: same file, same backend."""
    kind, _, backend = row.partition("@")
    depth = kind.partition(":")[2]
    suffix = f":{depth}" if depth else ""
    return "nothing" + suffix, (f"floor{suffix}@{backend}" if backend else None)


def parse(path):
    results, bare, bpf, sustain, skips, latency = {}, {}, {}, {}, [], None
    with open(path) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "RESULT" and len(words) in (6, 7) and words[3].isdigit():
                row, rnd, ns, reported, lost = words[1], int(words[2]), int(words[3]), int(words[4]), int(words[5])
                cpu = int(words[6]) if len(words) == 7 and words[6].isdigit() else None
                results.setdefault(row, {})[rnd] = (ns, reported, lost, cpu)
            elif words[0] == "BARE" and len(words) == 5 and words[3].isdigit() and words[4].isdigit():
                bare.setdefault(words[1], {})[int(words[2])] = (int(words[3]) + int(words[4])) / 2
            elif words[0] == "BPFTIME" and len(words) == 3:
                bpf[words[1]] = int(words[2])
            elif words[0] == "SUSTAIN" and len(words) == 6:
                sustain[words[1]] = tuple(int(w) for w in words[2:])
            elif words[0] == "SKIP":
                skips.append(" ".join(words[1:]))
            elif words[0] == "LATENCY" and len(words) == 5:
                latency = (float(words[1]), float(words[2]), float(words[3]), int(words[4]))
    return results, bare, bpf, sustain, skips, latency


def per_round(results, bare, row):
    """{round: row's time / the bare loop's bracketing it}."""
    own = bare.get(row, {})
    return {r: ns / own[r] for r, (ns, *_) in results.get(row, {}).items() if own.get(r)}


def ratio(results, bare, row, floor=None):
    """Median over rounds of row's ratio to nothing, or to its floor's (both per round)."""
    mine = per_round(results, bare, row)
    if floor is None:
        return statistics.median(mine.values()) if mine else None
    theirs = per_round(results, bare, floor)
    pairs = [mine[r] / theirs[r] for r in mine if theirs.get(r)]
    return statistics.median(pairs) if pairs else None


def table(results, bare, bpf, iterations):
    rows = list(results)
    head = ("| what runs while the loop runs | ns per open+close | × nothing | × floor | loop's CPU ns | "
            "events reported | lost | BPF ns per open+close |")
    lines = [head, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    chart = []
    for row in rows:
        rounds = results[row]
        ns = statistics.median(v[0] for v in rounds.values())
        reported = statistics.median(v[1] for v in rounds.values())
        lost = max(v[2] for v in rounds.values())
        cpus = [v[3] for v in rounds.values() if v[3] is not None]
        cpu = f"{int(statistics.median(cpus)):,}" if cpus else "—"
        nothing, floor = bases(row)
        r_nothing = ratio(results, bare, row) if nothing != row else 1.0
        r_floor = ratio(results, bare, row, floor) if floor and floor != row else None
        if row.startswith(("nothing", "floor")):
            events = "—"
        else:
            events = f"{int(reported):,} ({100 * reported / iterations:.0f} %)"
        lines.append("| {} | {:,} | {} | {} | {} | {} | {} | {} |".format(
            label(row), int(ns),
            f"{r_nothing:.2f}" if r_nothing else "—",
            f"{r_floor:.2f}" if r_floor else "—",
            cpu, events,
            "—" if "@" not in row else f"{lost:,}",
            f"{bpf[row]:,}" if row in bpf else "—"))
        chart.append((row, r_nothing or 1.0))
    return "\n".join(lines), chart


MODES = ("perf_buffer", "fragments", "single_fragment")


def targets(results, bare, bpf, sustain, iterations, vm):
    """fsprobe's cost targets, each beside this run's figure and whether it holds."""
    rows = []

    def check(what, value, limit, text=None):
        if value is None:
            return
        shown = round(value, 2)  # judged as printed: a ratio shown as 1.10 meets "≤ 1.10"
        rows.append(f"| {what} | {text or f'{value:.2f}'} | {'yes' if shown <= limit else 'no'} |")

    def r(row, floor=None):
        return ratio(results, bare, row, floor)  # None when a row is missing

    inotify = r("inotifywait")
    for b in sorted({row.partition("@")[2] for row in results if "@" in row}):
        check(f"{b}: opens not selected, × floor ≤ 1.02", r(f"unselected@{b}", f"floor@{b}"), 1.02)
        for depth in (5, 50):
            row = f"unwatched:{depth}@{b}"
            check(f"{b}: unwatched, {depth} deep, × floor ≤ 1.10 (aim 1.03)", r(row, f"floor:{depth}@{b}"), 1.10)
            if vm:
                check(f"{b}: unwatched, {depth} deep, × nothing ≤ 1.10", r(row), 1.10)
        for mode in MODES:
            row = f"watched-{mode}@{b}"
            if row not in results:
                continue
            watched = r(row)
            check(f"{b}: watched, {mode}, × nothing ≤ 2.0", watched, 2.0)
            if inotify is not None and watched is not None:
                check(f"{b}: watched, {mode}, × nothing ≤ inotifywait's (aim)", watched, inotify,
                      f"{watched:.2f} against {inotify:.2f}")
            reported = statistics.median(v[1] for v in results[row].values())
            check(f"{b}: watched, {mode}, every event reported", iterations - reported, 0,
                  f"{int(reported):,} of {iterations:,}")
            if not vm and row in bpf:
                check(f"{b}: watched, {mode}, BPF ns per open+close ≤ 1,500", bpf[row], 1500, f"{bpf[row]:,}")
    for row, (seconds, opens, reported, lost) in sustain.items():
        check(f"{label(row)}: {seconds} s at full speed, none lost", lost, 0, f"{lost:,} lost of {opens:,}")
    if not rows:
        return ""
    return "\n".join(["| target | this run | holds |", "| --- | ---: | :---: |"] + rows)


def sustain_table(sustain):
    if not sustain:
        return ""
    lines = ["| fsprobe, default flags, JSON to a file | seconds | opens | events reported | lost |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for row, (seconds, opens, reported, lost) in sustain.items():
        lines.append(f"| {label(row)} | {seconds} | {opens:,} | {reported:,} | {lost:,} |")
    return "\n".join(lines)


def draw(chart, png, title):
    """A horizontal bar chart of each row's cost as a multiple of "nothing" (gnuplot)."""
    if not shutil.which("gnuplot"):
        print("report: gnuplot not found, no chart", file=sys.stderr)
        return False
    data = png + ".dat"
    with open(data, "w") as f:
        for i, (row, value) in enumerate(reversed(chart)):
            name = row.replace("@", " ").replace("_", "-")
            f.write(f'{i} {value:.3f} "{name}"\n')
    script = f"""
set terminal pngcairo size 1000,{120 + 34 * len(chart)} font "sans,10"
set output "{png}"
set title "{title}"
set style fill solid 0.8
set xlabel "cost of open+close, as a multiple of nothing attached"
set ytics nomirror
set grid xtics
set xrange [0:*]
set yrange [-0.7:{len(chart) - 0.3}]
unset key
plot "{data}" using ($2*0.5):1:($2*0.5):(0.35):yticlabels(3) with boxxyerror lc rgb "#3b75af", \\
     "{data}" using 2:1:(sprintf(" %.2f", $2)) with labels left offset 0.3,0
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(data)
    return True


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, kernel {platform.release()}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--iterations", type=int, required=True)
    p.add_argument("--title", default="open+close cost")
    p.add_argument("--chart")
    p.add_argument("--docs")
    p.add_argument("--command", default="")
    p.add_argument("--machine", default=None)
    p.add_argument("--vm", help="the kernel of a --vm run: judged by the targets for qemu, written to its own section of the docs page")
    a = p.parse_args()
    results, bare, bpf, sustain, skips, latency = parse(a.results)
    if "nothing" not in results:
        sys.exit("report: no 'nothing' row in the results: the measurement failed (see above)")
    text, chart = table(results, bare, bpf, a.iterations)
    rounds = max(len(v) for v in results.values())
    where = a.machine or machine()
    body = [f"{a.title}: {a.iterations:,} open+close per row and round, {rounds} interleaved rounds, medians; {where}.", "", text]
    extra = sustain_table(sustain)
    if extra:
        body += ["", extra]
    if latency:
        median, p99, worst, count = latency
        body += ["", f"A lone event, from the kernel to fsprobe's JSON output ({count} opens, one every 20 ms): "
                     f"median {median:.2f} ms, p99 {p99:.2f} ms, worst {worst:.2f} ms."]
    aims = targets(results, bare, bpf, sustain, a.iterations, bool(a.vm))
    if aims:
        body += ["", "What fsprobe aims at, and this run:", "", aims]
    if skips:
        body += ["", "Not measured: " + "; ".join(skips)]
    print("\n".join(body))
    drawn = draw(chart, a.chart, a.title) if a.chart else False
    if a.docs:
        write_docs(a, body, drawn)


VM_BLOCK = re.compile(r"<!-- BEGIN (vm [^ ]+) -->.*?<!-- END \1 -->\n", re.S)


def read_docs(path):
    """The docs page as it stands, or "" before the first run writes it."""
    try:
        return open(path).read()
    except OSError:
        return ""


def kept_vm_blocks(text, drop=None):
    """The per-kernel VM sections already in the docs page, but the one being rewritten."""
    return [m.group(0) for m in VM_BLOCK.finditer(text) if m.group(1) != drop]


def write_vm_section(a, body, drawn):
    """Adds (or replaces) this kernel's section at the end of the docs page."""
    name = f"vm {a.vm}"
    chart = os.path.relpath(a.chart, os.path.dirname(a.docs)) if drawn else None
    block = [f"<!-- BEGIN {name} -->", f"## fentry and kprobe on Debian {a.vm}, under qemu", "",
             f"Written by `{a.command}`. Software emulation: compare the rows of this table with each other only.", ""]
    block += body
    if chart:
        block += ["", f"![cost of open+close under qemu, kernel {a.vm}]({chart})"]
    block += [f"<!-- END {name} -->", ""]
    text = read_docs(a.docs) or "# What watching costs\n\n"
    blocks = kept_vm_blocks(text, drop=name) + ["\n".join(block)]
    # Newest kernel first, whichever was measured last.
    blocks.sort(key=lambda b: [-int(n) for n in re.findall(r"\d+", VM_BLOCK.match(b).group(1))])
    text = VM_BLOCK.sub("", text).rstrip("\n") + "\n\n"
    with open(a.docs, "w") as f:
        f.write(text + "\n".join(blocks))


def write_docs(a, body, drawn):
    if a.vm:
        return write_vm_section(a, body, drawn)
    chart = os.path.relpath(a.chart, os.path.dirname(a.docs)) if drawn else None
    vm_blocks = kept_vm_blocks(read_docs(a.docs))
    with open(a.docs, "w") as f:
        f.write("# What watching costs: fsprobe beside the tools people use\n\n")
        f.write("Written by `" + a.command + "` (see `Benchmarks/OpenCost/run.sh` for what each row runs).\n\n")
        f.write("Every row times the same loop of `open()`+`close()` on one existing file while one watcher runs; "
                "each watcher is started, waited for until it signals it is ready (fsprobe's `fsprobe: ready` line, "
                "inotifywait's `Watches established`, for fatrace and bpftrace an open of a marker file of that very "
                "run showing in their output), then stopped and its output counted. "
                "\"Floor\" is fsprobe's hooks with programs that return at once: what attaching costs before fsprobe "
                "does anything (on the tracepoint backend, every syscall of every task takes the kernel's slow "
                "syscall path while any syscall tracepoint is attached). \"BPF ns\" is the run time the kernel "
                "counts for fsprobe's programs (`kernel.bpf_stats_enabled=1`, a separate pass) divided by the loop's "
                "iterations.\n\n")
        f.write("\n".join(body) + "\n")
        if chart:
            f.write(f"\n![cost of open+close per watcher, as a multiple of nothing attached]({chart})\n")
        f.write(LEGEND)
        if vm_blocks:
            f.write("\n" + "\n".join(vm_blocks))


LEGEND = """
## Reading the table

- **× nothing**: in each round, the row's time over the bare loop's on the same file, timed just before
  the watcher started and just after it stopped (their mean); the table gives the median over rounds.
  **× floor**: the row's ratio over the floor's, per round, then the median. The machine is shared, so
  only ratios inside one run mean anything; the "nothing attached" rows give the bare loop's time.
- **loop's CPU ns**: the loop's own CPU time per `open`+`close` (median round), user and system: the
  work done in its context, fsprobe's programs included. Below **ns per open+close** by the time the
  loop waited for a CPU another task held, such as a watcher's threads when they need more than the
  other CPU.
- **What fsprobe aims at**: the targets of [performance.md](performance.md#targets), each beside this
  run's figure; a ratio is judged as printed.
- **events reported**: lines of the watcher's output naming the loop's file. inotify and fanotify merge
  identical events that are still queued, so they report fewer than the opens that happened; fsprobe
  and bpftrace report each one.
- **lost**: fsprobe's own count of events the kernel could not put in its ring buffer, in the round that lost the most (**events reported** is the median round's).
"""

if __name__ == "__main__":
    main()
