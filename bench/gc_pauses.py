"""The garbage collector's pauses per process, from the logs of bench/probes.

    mkdir -p /tmp/gc && GC_PROBE_DIR=/tmp/gc PYTHONPATH=bench/probes \\
        python -m bench.cluster --users 100 --tabs 4 --quote-rate 2000 --duration 30 \\
        --phases designed --daphne 2 --route sessions
    python -m bench.gc_pauses /tmp/gc --match daphne --since <unix time>

Prints, per matching process: full collections (count, median, max ms), the pauses of
any generation over 50 ms, and the objects frozen at the end (streaming/runtime/heap.py).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--match", default="daphne", help="a word of the process's command")
    parser.add_argument("--since", type=float, default=0.0, help="unix time: skip before")
    args = parser.parse_args()
    print("| process | full collections | full p50 / max ms | pauses > 50 ms | frozen at end |")
    print("|---|---|---|---|---|")
    for log in sorted(args.directory.glob("gc-*.log")):
        lines = log.read_text().splitlines()
        if not lines or args.match not in lines[0]:
            continue
        full, long_pauses, frozen = [], 0, 0
        for line in lines[1:]:
            at, generation, took, frozen_now = line.split()
            if float(at) < args.since:
                continue
            frozen = int(frozen_now)
            if float(took) > 50:
                long_pauses += 1
            if generation == "2":
                full.append(float(took))
        median = f"{statistics.median(full):.0f}" if full else "-"
        longest = f"{max(full):.0f}" if full else "-"
        name = log.stem.removeprefix("gc-")
        print(f"| {name} | {len(full)} | {median} / {longest} | {long_pauses} | {frozen:,} |")


if __name__ == "__main__":
    main()
