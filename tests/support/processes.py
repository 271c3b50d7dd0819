"""Ending the servers the tests start (daphne, nginx, redis-server): one way, by pid."""

from __future__ import annotations

import subprocess


def terminate(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM and wait; SIGKILL if it has not ended by then. Nothing if already gone."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
