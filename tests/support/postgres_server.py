"""A throwaway PostgreSQL server (Debian's binaries) on a free loopback port, TCP only.

Like the Redis one: the test session starts it, tests make databases in it, and a test
may restart it to prove connections heal. PostgreSQL refuses to run as root, so under
root (CI) it runs as Debian's `postgres` user.

`initdb` runs once per test run: every server starts from a copy of that pristine data
directory (what initdb would write again, in a fraction of the time), or from a copy of
another stopped server's data (`data_from`, e.g. tests/support/databases.py's seeded one).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psycopg

from tests.support.processes import (
    PortClash,
    made_once,
    run_cache,
    scratch_dir,
    spawn,
    start_on_a_free_port,
    terminate,
    wait_for,
)


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (scripts/test.sh installs it)")
    return Path(found[-1]).parent


def owned_dir(path: Path | None = None, prefix: str = "streamdesk-pg-") -> Path:
    """A new directory (`path`, or a temporary one) the server's user owns."""
    if path is None:
        path = scratch_dir(prefix)
    else:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def _as_server_user() -> dict[str, str]:
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


def _pristine_data() -> Path:
    """A freshly initdb'd data directory, made once per test run."""
    holder = run_cache() / "pg-initdb"
    with made_once(holder) as missing:
        if missing:
            made = owned_dir(holder.with_name(holder.name + ".new"))
            subprocess.run(
                [
                    str(_bin_dir() / "initdb"),
                    "-D",
                    str(made / "data"),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                    "--wal-segsize=1",  # 1 MB, not 16: every cluster copies this folder
                ],
                check=True,
                capture_output=True,
                timeout=120,
                **_as_server_user(),
            )
            os.replace(made, holder)
    return holder / "data"


class PostgresServer:
    """One postgres cluster with trust auth on 127.0.0.1, no durability (tests only).

    `data_from`: start from a copy of that (stopped) data directory instead of a pristine
    one; see `copy_data`."""

    def __init__(self, data_from: Path | None = None) -> None:
        self._bin = _bin_dir()
        self._dir = owned_dir()
        self._data = self._dir / "data"
        self._log = self._dir / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        # cp -a as the server's user: the copy keeps initdb's owner and modes (0700)
        self._run("cp", "-a", str(data_from or _pristine_data()), str(self._data))
        self.port = start_on_a_free_port(self._start)

    @property
    def _user(self) -> dict[str, str]:
        return {"user": "postgres", "group": "postgres"} if self._as_postgres else {}

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=120, **self._user)

    def _start(self, port: int) -> None:
        """Start on `port`; `PortClash` if another process took it first."""
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            # TCP only: every client connects to 127.0.0.1, and a socket's path under a
            # long TMPDIR is past its 107 bytes ("... is too long": the server stops)
            "unix_socket_directories": "",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "300",
        }
        options = [f"-c{name}={value}" for name, value in settings.items()]
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with open(self._log, "wb") as log:
            self._process = spawn(
                [str(self._bin / "postgres"), "-D", str(self._data), *options],
                stdout=log,
                stderr=subprocess.STDOUT,
                **self._user,
            )

        def answers() -> bool:
            try:
                psycopg.connect(url, connect_timeout=1).close()
                return True
            except psycopg.OperationalError:
                return False

        wait_for(answers, self._process, 30, "postgres", self._log)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "streamdesk", template: str | None = None) -> str:
        """A new empty database (or a copy of the database `template`); returns its URL
        (DATABASE_URL for a process)."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def copy_data_to(self, destination: Path) -> None:
        """Stop the server and copy its data directory to `destination` (in a folder the
        server's user owns), for `PostgresServer(data_from=...)`: a set-up made once,
        started many times."""
        self.stop_process()
        self._run("cp", "-a", str(self._data), str(destination))

    def connections(self, database_url: str) -> int:
        """Client connections to that database now (pg_stat_activity)."""
        name = database_url.rsplit("/", 1)[1]
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (fast: every client connection is cut) and start on the same port."""
        self.stop_process()
        time.sleep(down_for)  # the outage itself
        self.start_process()

    def stop_process(self) -> None:
        """Stop the server, keep its data: its port refuses until `start_process`.
        SIGINT is PostgreSQL's "fast" shutdown: every client connection is cut."""
        terminate(self._process, timeout=20, signum=signal.SIGINT)

    def start_process(self) -> None:
        """Start it again on its port (after `stop_process`)."""
        try:
            self._start(self.port)
        except PortClash:
            raise RuntimeError(f"postgres: port {self.port} was taken meanwhile") from None

    def stop(self) -> None:
        self.stop_process()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"PostgresServer(127.0.0.1:{self.port})"
