"""A throwaway redis-server on a free loopback port, started and stopped by pid."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.support.processes import (
    PortClash,
    scratch_dir,
    spawn,
    start_on_a_free_port,
    terminate,
    unused_port,
    wait_for,
)

#: A port nothing listens on (an address that refuses): tests of what a dead server does.
free_port = unused_port


class RedisServer:
    """One redis-server process with no persistence; `url` points at it."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/test.sh installs it)")
        self._dir = str(scratch_dir("streamdesk-redis-"))
        self._log = Path(self._dir) / "redis.log"
        self._binary = binary
        self.port = start_on_a_free_port(self._start)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _start(self, port: int) -> None:
        """Start on `port`; `PortClash` if another process took it first."""
        self._log.unlink(missing_ok=True)
        self._process = spawn(
            [
                self._binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
                "--logfile",
                str(self._log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        try:
            wait_for(answers, self._process, 10, "redis-server", self._log)
        finally:
            client.close()

    def restart(self, down_for: float = 0.0) -> None:
        """Stop and start again on the same port, empty (no persistence): a Redis restart."""
        self.stop_process()
        time.sleep(down_for)  # the outage itself
        self.start_process()

    def stop_process(self) -> None:
        """Stop the server (SIGTERM; its port refuses from then on), keep its directory."""
        terminate(self._process)

    def start_process(self) -> None:
        """Start it again on its port (after `stop_process`)."""
        try:
            self._start(self.port)
        except PortClash:
            raise RuntimeError(f"redis-server: port {self.port} was taken meanwhile") from None

    def stop(self) -> None:
        terminate(self._process)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"RedisServer({self.url})"


def data_dir(server: RedisServer) -> Path:
    return Path(server._dir)
