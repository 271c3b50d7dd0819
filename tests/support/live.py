"""A real daphne process serving streamdesk, for end-to-end and browser tests.

It gets its own SQLite file, a copy of one migrated and seeded with the demo user and
sandbox links (`demo_setup --verify`, once per test run: tests/support/databases.py), and
talks to the given sandbox over loopback. Its settings are config.settings plus the tests'
fast password hashing (tests/live_settings.py).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_ENCRYPTION_KEY
from tests.support.app_shell import AppShell
from tests.support.databases import copy_seeded_sqlite, seed
from tests.support.processes import (
    kill,
    listening_socket,
    made_once,
    run_cache,
    spawn,
    terminate,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
#: How daphne is started, as deployed (config/serve.py: on streaming/runtime/loop.py's loop).
SERVE = [sys.executable, "-m", "config.serve"]
DEMO_USER = ("demo", "demo-sandbox")
#: The tests' settings for live processes; a bench measuring a login passes config.settings.
LIVE_SETTINGS = "tests.live_settings"


def app_env(sandbox_url: str, workdir: Path, **extra_env: str) -> dict[str, str]:
    """The environment of a live process of the app (daphne, a worker, a shell) talking to
    the sandbox at `sandbox_url`, its SQLite file in `workdir` unless DATABASE_URL is set."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": LIVE_SETTINGS,
        "SQLITE_PATH": str(workdir / "db.sqlite3"),
        "BROKER_ENV": "sandbox",
        "SANDBOX_URL": sandbox_url,
        "TASTYTRADE_BASE_URL": sandbox_url,
        "STREAMDESK_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STREAM_IDLE_GRACE": "2",
        "STREAM_WATCHDOG_TIMEOUT": "5",
        "STREAM_FLUSH_INTERVAL": "0.15",
        "STREAM_RECORD_DIR": str(workdir / "recordings"),
        **extra_env,
    }


#: The Alpaca sandbox's SSE heartbeat (s) an app run here needs: well within its watchdog
#: (`STREAM_WATCHDOG_TIMEOUT`, 5 s above). At the sandbox's default (15 s, the SSE spec's
#: suggested keepalive) the watchdog drops an idle trade-event stream every 5 s and it is
#: replayed from its checkpoint: CPU for nothing, and an order placed meanwhile reaches the
#: page seconds late (bench.orders' Alpaca tail, 1-3.6 s, was this).
ALPACA_HEARTBEAT = 2.0


def check_heartbeat(env: dict[str, str]) -> None:
    """Fail loudly when the sandbox's Alpaca heartbeat is not within the app's watchdog."""
    try:
        config = httpx.get(f"{env['SANDBOX_URL']}/_sandbox/state", timeout=10).json()["config"]
    except httpx.TransportError:
        return  # a test that starts the app with the sandbox down checks something else
    heartbeat = float(config["alpaca_heartbeat_interval"])
    watchdog = float(env["STREAM_WATCHDOG_TIMEOUT"])
    if heartbeat >= watchdog / 2:
        raise RuntimeError(
            f"the sandbox's Alpaca heartbeat ({heartbeat:g} s) is not within the app's "
            f"watchdog ({watchdog:g} s): the trade-event stream would be dropped whenever "
            f"it is idle; start the sandbox with alpaca_heartbeat_interval={ALPACA_HEARTBEAT:g}"
        )


class LiveApp:
    """daphne (`python -m config.serve config.asgi:application`, as deployed) on a free
    loopback port: the test binds the listening socket and daphne adopts it (`--fd`), so
    no other process can take the port in between. A restart listens on the same port."""

    def __init__(
        self, sandbox_url: str, workdir: Path, *, seed: bool = True, **extra_env: str
    ) -> None:
        """`seed=False`: a further process on an already migrated and seeded database."""
        self.seed = seed
        self._sock: socket.socket | None = listening_socket()
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/stream/"
        self.log_path = workdir / f"daphne-{self.port}.log"
        self.env = app_env(sandbox_url, workdir, **extra_env)
        self._proc: subprocess.Popen[bytes] | None = None
        self._shell: AppShell | None = None

    def manage(self, *args: str) -> str:
        """A management command in a process of its own (a Django start-up: for commands
        whose start-up is what is tested; `python` for anything else)."""
        return self._run(["manage.py", *args], what=f"manage.py {' '.join(args)}")

    def python(self, code: str) -> str:
        """Run `code` with Django set up in the app's environment (its database, its
        settings): its stdout. One long-lived shell per app answers every call."""
        if self._shell is None:
            self._shell = AppShell(self.env, self.log_path.with_name(f"shell-{self.port}.log"))
        return self._shell.run(code)

    def start(self) -> LiveApp:
        """Migrate and seed (unless `seed=False`), start daphne, wait until it answers."""
        if self.seed:
            self.seed_database()
        return self.spawn().wait_started()

    def seed_database(self) -> None:
        """The database migrated and seeded (`demo_setup --verify`): the SQLite file a copy
        of the run's seeded one; a DATABASE_URL's database migrated and seeded in place."""
        if self.env.get("DATABASE_URL"):
            seed(self.env)
        else:
            copy_seeded_sqlite(self.env)

    def collect_static(self) -> None:
        """Serve the static files as production does (`collectstatic`: hashed, gzip and
        brotli copies) from the test run's one collection: collecting costs ~10 s of CPU,
        and its output depends only on the source tree. Before `spawn`."""
        root = run_cache() / "collected-static"
        with made_once(root) as to_make:
            if to_make:
                partial = root.with_name(root.name + ".partial")
                shutil.rmtree(partial, ignore_errors=True)
                env = {**self.env, "STREAMDESK_STATIC": "collected", "STATIC_ROOT": str(partial)}
                self._run(
                    ["manage.py", "collectstatic", "--no-input", "-v", "0"], "collectstatic", env
                )
                partial.rename(root)
        self.env.update(STREAMDESK_STATIC="collected", STATIC_ROOT=str(root))

    def _run(self, argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
        """Python with the app's environment (or `env`); its stdout, or a RuntimeError
        with stderr."""
        result = subprocess.run(
            [sys.executable, *argv],
            cwd=ROOT,
            env=self.env if env is None else env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{what} failed:\n{result.stderr}")
        return result.stdout

    def spawn(self) -> LiveApp:
        """Start the daphne process without waiting for it (see `wait_started`): several
        processes start side by side. It adopts our listening socket (ours is closed
        then, so the port refuses once daphne is gone); a restart binds the port again."""
        check_heartbeat(self.env)
        sock = self._sock or listening_socket(self.port)
        self._sock = None
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        try:
            self._proc = spawn(
                [*SERVE, "--fd", str(sock.fileno()), "config.asgi:application"],
                cwd=ROOT,
                env=self.env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(sock.fileno(),),
            )
        finally:
            sock.close()
        return self

    def wait_started(self) -> LiveApp:
        """Until `/health` answers 200 (or fail with daphne's log)."""
        assert self._proc is not None, "spawn() first"

        def healthy() -> bool:
            try:
                return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, self._proc, 30, "daphne", self.log_path)
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def kill(self) -> None:
        """kill -9: no goodbye to Redis, the broker or the sockets."""
        kill(self._proc)

    def stop(self) -> None:
        terminate(self._proc)
        if self._shell is not None:
            self._shell.close()
            self._shell = None
        if getattr(self, "_log", None):
            self._log.close()
        if self._sock is not None:  # never spawned
            self._sock.close()
            self._sock = None

    def login(self, username: str, password: str) -> httpx.Client:
        """An HTTP client logged in through the real login form (CSRF and all)."""
        client = httpx.Client(base_url=self.url, timeout=10)
        page = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, "login form has a CSRF token"
        response = client.post(
            "/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token[1]},
            headers={"Referer": f"{self.url}/login/"},
        )
        assert response.status_code == 302, f"login failed: {response.status_code}"
        return client

    def cookie_header(self, client: httpx.Client) -> str:
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def read_json(client: httpx.Client, path: str, **params: str) -> Any:
    """GET `path` with the client's session: its JSON, asserting a 200."""
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()
