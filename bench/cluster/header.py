"""The run's header: the command, the code (and its uncommitted changes), the machine, the
versions of what it runs on, the layout and the load."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys

from bench.cluster.broker import ORDER_SYMBOL
from bench.cluster.processes import ROOT
from bench.cluster.servers import Cluster


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def print_header(cluster: Cluster, args: argparse.Namespace) -> None:
    cpu_model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, timeout=10
    ).stdout.split()[2:3]
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run(
        [*git, "log", "-1", "--format=%h %s"], capture_output=True, text=True, timeout=10
    ).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.split("\n")
    changed = [line[3:] for line in dirty if line.strip()]
    print("## streamdesk scale-out benchmark (bench/cluster/)\n")
    print(f"- command: `{shlex.join(['python', '-m', 'bench.cluster', *sys.argv[1:]])}`")
    print(
        f"- code: `{head[:90]}`"
        + (f" + uncommitted changes in {', '.join(changed)}" if changed else " (clean)")
    )
    print(f"- machine: {os.cpu_count()} CPUs ({cpu_model}), {mem} RAM, {platform.platform()}")
    print(
        f"- Python {platform.python_version()}; Django {version('django')}, "
        f"channels {version('channels')}, daphne {version('daphne')}, "
        f"channels-redis {version('channels-redis')}, redis-py {version('redis')}, "
        f"Twisted {version('twisted')}, websockets {version('websockets')} (client), "
        f"redis-server {''.join(redis_version).removeprefix('v=')}"
    )
    print(
        f"- layer: `{cluster.layer_backend}` (settings module `{cluster.settings_module}`); "
        f"{args.daphne} daphne process(es), tabs routed by {args.route}; layout `{args.layout}`"
        + (f" with {args.worker_procs} stream worker(s)" if args.worker_procs else "")
        + f"; flush {args.flush_interval} s; "
        f"watchdog {args.watchdog} s; {args.load_procs} load-generator process(es); "
        f"naive baseline `{args.naive}`"
    )
    print(
        f"- load: {args.users} users x {args.tabs} tabs, 20 symbols each from B000..B099, "
        f"target {args.quote_rate:.0f} quote events/s into the managers, "
        f"{args.order_rate}/s Market orders ({ORDER_SYMBOL}), every balance pushed at once "
        f"every {args.balance_push:g} s, {args.duration:.0f} s measured "
        f"+ {args.drain:.0f} s drain"
    )
    print(
        "- everything on 127.0.0.1, sharing the same cores: the load generator's own "
        "queueing is part of every latency\n",
        flush=True,
    )
