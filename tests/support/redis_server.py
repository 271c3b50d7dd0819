"""A throwaway redis-server on a free loopback port, started and stopped by pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.support.processes import terminate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process with no persistence; `url` points at it."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/test.sh installs it)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="streamdesk-redis-")
        self._binary = binary
        self._start()

    def _start(self) -> None:
        binary = self._binary
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def restart(self, down_for: float = 0.0) -> None:
        """Stop and start again on the same port, empty (no persistence): a Redis restart."""
        self._process.terminate()
        self._process.wait(timeout=10)
        time.sleep(down_for)
        self._start()

    def stop(self) -> None:
        terminate(self._process)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"RedisServer({self.url})"


def data_dir(server: RedisServer) -> Path:
    return Path(server._dir)
