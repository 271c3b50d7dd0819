"""With `--profile`: py-spy samples each daphne and stream worker over the measured window,
and their samples are given to the stages of the quote path (bench/stages.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.cluster.processes import log
from bench.cluster.servers import Cluster
from bench.stages import read_raw


def start_profilers(
    cluster: Cluster, phase: str, pids: list[int]
) -> list[tuple[subprocess.Popen[Any], Path]] | None:
    """With --profile: py-spy sampling each server process over the measured window
    (`--nonblocking`: the process is never paused; idle threads are not sampled)."""
    if not cluster.args.profile:
        return None
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy (requirements-dev.txt)")
    started = []
    for pid in pids:
        out = cluster.workdir / f"profile-{phase}-{pid}.txt"
        command = [spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
        command += [
            "--nonblocking",
            "--duration",
            str(round(cluster.args.duration)),
            "-o",
            str(out),
        ]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append((cluster.procs.add(f"py-spy {pid}", proc), out))
    return started


def finish_profilers(
    profilers: list[tuple[subprocess.Popen[Any], Path]] | None,
) -> Counter[str] | None:
    """Their samples by stage, once each has written its file (bounded)."""
    if profilers is None:
        return None
    samples: Counter[str] = Counter()
    for proc, out in profilers:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        if out.exists():
            samples.update(read_raw(out.read_text(errors="replace").splitlines()))
        else:
            log(f"  py-spy wrote no profile: {(proc.stderr.read() if proc.stderr else b'')!r}")
    return samples
