"""What a run of bench.cluster started, stopped by pid in reverse order (also on Ctrl-C), and
what /proc says of a process: its CPU seconds, its RSS, whether it is alive, its log's tail."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    from tests.support.redis_server import free_port as _free_port

    return _free_port()


# ---------------------------------------------------------------------- /proc readings
def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLK_TCK


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


# ---------------------------------------------------------------------- processes
class Processes:
    """Everything this run started, stopped by pid in reverse order (also on Ctrl-C)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen[Any]]] = []
        self.all_pids: list[tuple[str, int]] = []
        self.redis: Any = None  # tests.support.redis_server.RedisServer (stops itself)

    def add(self, name: str, proc: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
        self.started.append((name, proc))
        self.all_pids.append((name, proc.pid))
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop_one(self, proc: subprocess.Popen[Any], timeout: float = 15) -> None:
        self.stop(proc, timeout)
        self.started = [(n, p) for n, p in self.started if p is not proc]

    def stop_all(self) -> None:
        for _name, proc in reversed(self.started):
            with contextlib.suppress(Exception):
                self.stop(proc, timeout=10)
        self.started.clear()

    def leftovers(self) -> list[tuple[str, int]]:
        return [(name, pid) for name, pid in self.all_pids if alive(pid)]
