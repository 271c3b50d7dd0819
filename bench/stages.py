"""Where a daphne's CPU goes, by stage of the quote path (issue 42): py-spy's samples of a
running process, each stack given to the innermost stage it passes through.

    python -m bench.cluster --users 100 --tabs 4 --daphne 2 --route sessions \\
        --phases designed --profile            # the table below the phase's row
    python -m bench.stages PROFILE.txt [...]   # a table from py-spy's raw output

The stages, from the broker to the socket:

  dxlink read      the SDK's reader over httpx-ws, wsproto and anyio (the broker's socket)
  compact mapping  DXLink rows into the contract's fields (brokers/tastytrade/compact.py)
  manager, state   the stream's per-tick work: quote_feed, state, health (streaming/stream/)
  listeners        the features run per tick: alerts, limits, metrics, P&L, news, pushes
  account events   the adapters' account work and the account frames (never conflated)
  flush, outbox    the batch's flush into frames, the outbox, the sender (streaming/stream/)
  fan-out          frames to the tabs: cluster fan-out, relay, the channel layer, Redis
  tab frames       a tab's merge, encoding and pacing (streaming/tabs/)
  deflate          permessage-deflate (autobahn's compressor, zlib)
  socket write     autobahn's framing and Twisted's transport writes
  recording        the day's record: a report serialized and queued, the writer's gzip
                   and appends (streaming/stream/recording.py, day_file.py)
  event loop       asyncio and Twisted themselves (scheduling, selectors, timers)
  other            anything else (HTTP requests, the lease, metrics, …)

A stack counts for the innermost stage whose pattern one of its frames matches (a
frame's `function (file)`), so a library call inside a stage is that stage's: a json
parse under the SDK's reader is the DXLink read, orjson inside a tab's encoder is the
tab's. `py-spy record` samples only running threads (idle ones are not counted): a
stage's share of the samples times the process's CPU seconds is that stage's CPU.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: (stage, pattern on a py-spy frame, `function (path:line)`): for one frame the first
#: pattern that matches names its stage; the stack's stage is that of its innermost frame
#: that matches one. The event loop's own frames count only for a stack with no other.
STAGES: list[tuple[str, re.Pattern[str]]] = [
    ("deflate", re.compile(r"compress|deflate|zlib", re.I)),
    (
        "socket write",
        re.compile(r"twisted/internet/(abstract|tcp)\.py|autobahn/|twisted/protocols/"),
    ),
    ("compact mapping", re.compile(r"brokers/tastytrade/compact\.py")),
    ("listeners", re.compile(r"streaming/(alerts|risk|push|news)/")),
    ("tab frames", re.compile(r"streaming/tabs/")),
    (
        "fan-out",
        re.compile(
            r"streaming/cluster/(fanout|relay|redis_batch|layer|redis_layer)\.py"
            r"|channels_redis/|channels/layers\.py|\bredis/|msgpack"
        ),
    ),
    (
        "account events",
        re.compile(
            r"^(account_event\w*|_account|apply_account_event|_emit_changed) \("
            r"|brokers/\w+/(orders|portfolio|reads|net_liq|trading|updates)\.py"
        ),
    ),
    (
        "flush, outbox",
        re.compile(r"streaming/stream/(outbox|flusher|write_ahead)\.py|cluster/eventlog\.py"),
    ),
    (
        "dxlink read",
        re.compile(r"tastytrade/streamers?\.py|httpx_ws/|wsproto/|anyio/|h11/"),
    ),
    ("manager, state", re.compile(r"streaming/stream/|streaming/brokers/")),
]
#: The recorder's frames: a stack through one is the recorder's, whatever it calls (its
#: writer's gzip is not a socket's deflate).
RECORDING = re.compile(r"streaming/stream/(recording|day_file)\.py")
#: The loops themselves (scheduling, selectors, timers): a stack with nothing else.
EVENT_LOOP = re.compile(
    r"asyncio/|twisted/internet/|selectors\.py|streaming/runtime/loop\.py|daphne/"
)
#: Presented from the broker to the socket.
PATH_ORDER = [
    "dxlink read",
    "compact mapping",
    "manager, state",
    "listeners",
    "account events",
    "flush, outbox",
    "fan-out",
    "tab frames",
    "deflate",
    "socket write",
    "recording",
    "event loop",
    "other",
]


def stage_of(frames: list[str]) -> str:
    """The stage of one stack (frames root first, as py-spy writes them)."""
    if any(RECORDING.search(frame) for frame in frames):
        return "recording"
    for frame in reversed(frames):
        for name, pattern in STAGES:
            if pattern.search(frame):
                return name
    if any(EVENT_LOOP.search(frame) for frame in frames):
        return "event loop"
    return "other"


def read_raw(lines: Iterable[str]) -> Counter[str]:
    """Samples per stage from py-spy's `--format raw` lines (`frame;frame;… count`)."""
    found: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames and frames[0].startswith(("process ", "thread ")):
            frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        found[stage_of(frames)] += int(count)
    return found


@dataclass
class StageTable:
    """Samples per stage of one or more processes, and what they did meanwhile."""

    samples: Counter[str]
    cpu_seconds: float  # the processes' CPU over the profiled window
    quote_events: int  # DXLink events the processes took in over it
    frames_out: int  # frames delivered to sockets over it

    def rows(self) -> list[tuple[str, float, float | None, float | None]]:
        """(stage, share of CPU %, CPU-µs per quote event, CPU-µs per delivered frame)."""
        total = sum(self.samples.values()) or 1
        out = []
        for name in PATH_ORDER:
            share = self.samples.get(name, 0) / total
            cpu_us = share * self.cpu_seconds * 1e6
            per_event = cpu_us / self.quote_events if self.quote_events else None
            per_frame = cpu_us / self.frames_out if self.frames_out else None
            out.append((name, share * 100, per_event, per_frame))
        return out

    def markdown(self) -> str:
        lines = [
            "| stage | share of daphne CPU | CPU-µs per quote event | CPU-µs per delivered frame |",
            "|---|---|---|---|",
        ]
        sums = [0.0, 0.0, 0.0]
        for name, share, per_event, per_frame in self.rows():
            sums[0] += share
            sums[1] += per_event or 0.0
            sums[2] += per_frame or 0.0
            lines.append(f"| {name} | {share:.1f} % | {_us(per_event)} | {_us(per_frame)} |")
        lines.append(f"| **all** | {sums[0]:.0f} % | {sums[1]:.1f} | {sums[2]:.1f} |")
        return "\n".join(lines)


def _us(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("profiles", nargs="+", type=Path, help="py-spy --format raw files")
    parser.add_argument("--cpu-seconds", type=float, default=0.0)
    parser.add_argument("--quote-events", type=int, default=0)
    parser.add_argument("--frames", type=int, default=0)
    args = parser.parse_args()
    samples: Counter[str] = Counter()
    for path in args.profiles:
        samples.update(read_raw(path.read_text(errors="replace").splitlines()))
    print(StageTable(samples, args.cpu_seconds, args.quote_events, args.frames).markdown())


if __name__ == "__main__":
    main()
