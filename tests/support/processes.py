"""Every process a test starts, and how each one ends, however the test ends.

A service (redis-server, PostgreSQL, daphne, a stream worker, nginx, a helper process) is
started with `spawn`: in a process group of its own, so a Ctrl-C at the terminal reaches
pytest alone (which then tears its fixtures down in order) and `terminate` ends the whole
group (nginx's workers, PostgreSQL's backends), not only its leader.

Each pytest process (the xdist controller and every worker) is an *owner*: it puts a token
of its own in the environment (`OWNER_VAR`) before it starts anything, so every process it
starts, and theirs in turn (Chromium under Playwright's driver included), carries it; and
`spawn` writes each new process group down in the owner's register (`register_path`), since
redis-server, PostgreSQL and nginx write their process titles over their environment. The
reaper (tests/support/reaper.py) finds what is left by both: at the end of the session, on
SIGTERM, and from a watchdog process when the owner itself is killed with -9.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

#: In the environment of every process a pytest process starts: that owner's token.
OWNER_VAR = "STREAMDESK_TEST_OWNER"
#: In the environment of every process of one test run (scripts/test.sh sets it once, for
#: its leftover check; the outermost pytest sets it when nothing did).
RUN_VAR = "STREAMDESK_TEST_RUN"


def register_path(run: str, owner: str = "") -> Path:
    """The run's register of process groups (a folder), or one owner's file in it."""
    folder = Path(tempfile.gettempdir()) / f"streamdesk-run-{run}"
    return folder / f"{owner}.groups" if owner else folder


#: A test run's cache folder handed to a run inside it (tests/suite), which then makes
#: nothing again that the outer run already made.
CACHE_VAR = "STREAMDESK_TEST_CACHE"


def run_cache() -> Path:
    """This test run's folder for what is made once and shared by its pytest processes
    (removed at the run's end); a folder of this process's own outside a run (a bench)."""
    run, owner = os.environ.get(RUN_VAR), os.environ.get(OWNER_VAR)
    if os.environ.get(CACHE_VAR):
        folder = Path(os.environ[CACHE_VAR])
    elif run and owner:
        folder = register_path(run) / "cache"
    else:
        folder = Path(tempfile.gettempdir()) / f"streamdesk-cache-{os.getpid()}"
        if not folder.exists():
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def scratch_dir(prefix: str) -> Path:
    """A new temporary folder (a server's data, logs): in a test run, inside the run's
    folder, which goes with the run however a test ended (a process killed with -9 removes
    nothing of its own); outside one, in the system's."""
    parent = None
    if run := os.environ.get(RUN_VAR):
        parent = register_path(run) / "scratch"
        parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


#: Where unix sockets go, whatever TMPDIR is: a socket's path is at most 107 bytes
#: (sun_path, with its NUL), and the run's folder under a TMPDIR of 100 characters is past
#: that already (PostgreSQL refused to start, Chromium aborted).
SOCKET_PARENT = Path("/tmp")
#: In the run's folder: a link to its socket folder.
SOCKETS = "sockets"


def socket_dir() -> Path:
    """This test run's folder for unix sockets (`/tmp/sd-XXXXXXXX`, mode 0700: its user's
    alone), made once for all its processes and removed with the run's folder
    (`remove_run`); a folder of this process's own outside a run. For a server that binds
    one where it is told (Chromium's singleton socket: tests/support/browsers.py); the
    others listen on loopback ports only."""
    run = os.environ.get(RUN_VAR)
    if not run:
        folder = Path(tempfile.mkdtemp(prefix="sd-", dir=SOCKET_PARENT))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        return folder
    link = register_path(run) / SOCKETS
    link.parent.mkdir(parents=True, exist_ok=True)
    with made_once(link) as missing:
        if missing:
            link.symlink_to(tempfile.mkdtemp(prefix="sd-", dir=SOCKET_PARENT))
    return Path(os.readlink(link))


def remove_run(run: str) -> None:
    """A run's folders, once nothing of it runs: its register (with its cache and scratch)
    and its socket folder."""
    folder = register_path(run)
    with contextlib.suppress(OSError):
        shutil.rmtree(os.readlink(folder / SOCKETS))
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def made_once(path: Path) -> Iterator[bool]:
    """Hold the run's lock on `path` (other processes wait); yields whether it still has
    to be made. Make it inside, and only move it to `path` once complete."""
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield not path.exists()


def spawn(argv: list[str], **popen: Any) -> Any:
    """A new process in a process group of its own, written down in this owner's register,
    with the owner's token in its environment (an explicit `env` gets it too, and the run
    id unless it names one). The app's Python processes are forked from this owner's fork
    server (tests/support/forkserver.py: their libraries imported once); the rest are
    `subprocess.Popen`. Either way the result has what the tests use of a `Popen`."""
    env = popen.pop("env", None)
    env = dict(os.environ if env is None else env)
    if OWNER_VAR in os.environ:
        env[OWNER_VAR] = os.environ[OWNER_VAR]
    if RUN_VAR in os.environ:
        env.setdefault(RUN_VAR, os.environ[RUN_VAR])
    if not _forkable(argv, env, popen):
        return _start(argv, env=env, **popen)
    from tests.support.forkserver import fork_server

    process = fork_server(_start).fork(argv, env=env, **popen)
    _register(process)
    return process


#: The app's commands, as the tests start them: daphne, manage.py, code, a bench.
FORKED = ("-m config.serve ", "manage.py ", "-c ", "-m bench.")
#: What a forked process can be given of Popen's arguments.
FORK_ARGUMENTS = {"cwd", "stdin", "stdout", "stderr", "pass_fds", "text"}


def _forkable(argv: list[str], env: dict[str, str], popen: dict[str, Any]) -> bool:
    """An app command, with nothing the fork server cannot give it: the interpreter's own
    start-up settings (PYTHONPATH's sitecustomize, PYTHONTRACEMALLOC...) must be ours."""
    from tests.support.forkserver import fork_server_off

    if fork_server_off() or not argv or argv[0] != sys.executable or set(popen) - FORK_ARGUMENTS:
        return False
    if _interpreter_settings(env) != _interpreter_settings(os.environ):
        return False
    return " ".join([*argv[1:3], ""]).startswith(FORKED)


def _interpreter_settings(env: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name.startswith("PYTHON")}


def _start(argv: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen` in a new process group, written down in the register."""
    process = subprocess.Popen(argv, process_group=0, **popen)
    _register(process)
    return process


def start_time(pid: int) -> str:
    """When the process started (clock ticks since boot: /proc/<pid>/stat's 22nd field),
    "" if it is gone: with its pid, which process it is."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _register(process: Any) -> None:
    """Remember when the process (its group's leader) started, for `signal_group`, and
    write the group down in this owner's register (the reaper reads it): its number and
    that time. The number alone is not enough: it is the leader's pid, which the kernel
    gives out again once the group is gone (pid_max is 32,768, and threads take pids too),
    and nothing may stop whoever has it then."""
    process.leader_started = start_time(process.pid)
    if OWNER_VAR in os.environ and RUN_VAR in os.environ:
        register = register_path(os.environ[RUN_VAR], os.environ[OWNER_VAR])
        register.parent.mkdir(exist_ok=True)
        with open(register, "a") as f:
            f.write(f"{process.pid} {process.leader_started}".strip() + "\n")


def signal_group(process: subprocess.Popen[Any], signum: int) -> None:
    """Send `signum` to the process's group (it leads one: `spawn`); nothing if gone, or
    if its number now leads another process (the leader ended, the group emptied and the
    kernel gave the number out again: that group is someone else's)."""
    started = getattr(process, "leader_started", "")
    now = start_time(process.pid)
    if started and now and now != started:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def terminate(
    process: subprocess.Popen[Any] | None, timeout: float = 10, signum: int = signal.SIGTERM
) -> None:
    """`signum` (SIGTERM) to the process's group and wait for the leader; SIGKILL to the
    group if it has not ended by then. Nothing if it already has. The group is killed in
    any case once the leader is gone, so no child of it outlives it."""
    if process is None:
        return
    if process.poll() is None:
        signal_group(process, signum)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait(timeout=timeout)
    signal_group(process, signal.SIGKILL)


def kill(process: subprocess.Popen[Any] | None) -> None:
    """kill -9 of the process alone (a crash: no goodbye), then wait for it."""
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def unused_port() -> int:
    """A loopback port nothing listens on now: an address that refuses connections. Never
    a port to start a server on (another process may take it first): servers bind their
    own (`listening_socket`) or retry on a clash (`start_on_a_free_port`)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket(port: int = 0) -> socket.socket:
    """A listening loopback socket (port 0: the kernel picks a free one), to hand to a
    server process that adopts it (daphne's `--fd`): bound once, never raced."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


class PortClash(RuntimeError):
    """The server could not bind the port it was given: another process took it."""


#: How a server says it could not bind (redis-server, PostgreSQL, nginx).
CLASH_WORDS = ("Address already in use", "could not bind", "bind() to")


def clashed(log: Path) -> bool:
    """Whether a server's log says it lost its port to another process."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return any(words in text for words in CLASH_WORDS)


def start_on_a_free_port(start: Callable[[int], None], attempts: int = 5) -> int:
    """Call `start(port)` with a port nothing listens on, again with another one while it
    raises `PortClash`; the port it started on."""
    for attempt in range(attempts):
        port = unused_port()
        try:
            start(port)
            return port
        except PortClash:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def wait_for(
    ready: Callable[[], bool],
    process: subprocess.Popen[Any],
    within: float,
    what: str,
    log: Path | None = None,
) -> None:
    """Until `ready()`; a `PortClash` if the process ended on a bind error, a RuntimeError
    if it ended otherwise or `within` seconds passed (the process is stopped then)."""
    deadline = time.monotonic() + within
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            terminate(process)
            if log is not None and clashed(log):
                raise PortClash(f"{what}: port taken")
            detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} did not start\n{detail}")
        time.sleep(0.05)
