"""Run only by tests/suite/test_long_tmpdir.py, in a pytest of its own whose TMPDIR is at
least 100 characters long (the name keeps it out of the suite's collection): the suite's
servers that bind a unix socket, or once did, start there.

A unix socket's path is at most 107 bytes (sun_path), and a run's folders sit under
TMPDIR (tests/support/processes.py): no socket may be bound below it. `LONG_TMPDIR_REPORT`
names the file each browser test adds the run's socket folder to, for the outer test.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.support.browsers import shared
from tests.support.postgres_server import PostgresServer
from tests.support.processes import socket_dir
from tests.support.redis_server import RedisServer


def bound_sockets() -> list[str]:
    """The paths of the unix sockets bound on this machine now (/proc/net/unix)."""
    lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    return [fields[7] for fields in map(str.split, lines) if len(fields) > 7]


def under_tmpdir() -> list[str]:
    tmpdir = tempfile.gettempdir()
    return [path for path in bound_sockets() if path.startswith(tmpdir)]


def test_postgresql_and_redis_start():
    """PostgreSQL (it once bound its socket in its data folder's parent) and redis-server."""
    postgres, redis = PostgresServer(), RedisServer()
    try:
        with psycopg.connect(postgres.create_database()) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        assert under_tmpdir() == []
    finally:
        redis.stop()
        postgres.stop()


@pytest.mark.parametrize("full", [True, False], ids=["full-chromium", "headless-shell"])
def test_chromium_starts(browser, full: bool):
    """The full browser binds its singleton socket in TMPDIR (it aborts: "Socket path too
    long"); both builds open a page."""
    page = shared.get(full=full).new_page()
    try:
        page.set_content("<p>up</p>")
        assert page.inner_text("p") == "up"
        assert under_tmpdir() == []
        if full:  # its singleton socket is bound in the run's socket folder
            assert any(path.startswith(f"{socket_dir()}/") for path in bound_sockets())
        with open(os.environ["LONG_TMPDIR_REPORT"], "a") as report:
            report.write(f"{socket_dir()}\n")
    finally:
        page.close()


@pytest.fixture
def browser() -> None:
    """Keeps the shared browser open for the test (tests/conftest.py closes it otherwise)."""


@pytest.fixture(autouse=True)
def _checked() -> None:
    assert "LONG_TMPDIR_REPORT" in os.environ, "run by tests/suite/test_long_tmpdir.py"
    assert len(tempfile.gettempdir()) >= 100, tempfile.gettempdir()
