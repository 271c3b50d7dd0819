"""The app's Python processes (daphne, stream workers, shells), forked from one that has
already imported the libraries every one of them imports.

A daphne of the app spends ~2.2 s of CPU importing numpy, pandas, the tastytrade SDK,
Twisted and Django before it serves; the suite starts ~160 of them and ~70 other Python
processes of the app, on 2 cores. The fork server imports those libraries once per pytest
process, and each process forked from it runs exactly the command it was given
(`python -m config.serve ...`, `python manage.py ...`, `python -c ...`) in the environment
it was given: its settings, its Django set-up and everything of the app are its own
(nothing of the app is imported before the fork). It reaches /health on ~0.4 s of CPU.

`spawn` (tests/support/processes.py) forks here for `sys.executable` commands; a forked
process is a `Forked` (the part of `subprocess.Popen` the tests use), in a process group
of its own, written down in the owner's register like any other.

`python -m tests.support.forkserver FD` is the server: it reads requests from the
SOCK_SEQPACKET socket FD, one per message, with the file descriptors for the new process.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

#: What every app process imports and nothing of the app: third-party libraries only; none
#: that chooses an event loop or a reactor at import (daphne.server, twisted's reactor), and
#: none that reads its environment at import (prometheus-client picks its multiprocess
#: mode then: PROMETHEUS_MULTIPROC_DIR is the process's own).
PRELOAD = (
    "numpy",
    "pandas",
    "tastytrade",
    "pydantic",
    "httpx",
    "httpx_sse",
    "scipy.optimize",
    "scipy.stats",
    "twisted.internet.defer",
    "twisted.internet.protocol",
    "twisted.web.http",
    "autobahn.twisted.websocket",
    "channels.layers",
    "channels.generic.websocket",
    "channels_redis.core",
    "redis.asyncio",
    "orjson",
    "msgpack",
    "cryptography.fernet",
    "argon2",
    "uvloop",
    "websockets",
    "whitenoise",
    "django.db.models",
    "django.http",
    "django.template",
    "django.forms",
    "django.core.handlers.asgi",
)
#: Never imported before the fork (see PRELOAD), not even by what PRELOAD imports.
NOT_PRELOADED = ("prometheus_client", "daphne.server", "twisted.internet.reactor")
#: The largest message: a request names a command and its whole environment.
MAX_MESSAGE = 1 << 20
#: File descriptors a request may carry: stdin, stdout, stderr and the ones passed on.
MAX_FDS = 16


# -- the server ------------------------------------------------------------------------------


def _serve(control: socket.socket) -> None:
    """Fork a process per request; answer its pid, or its exit status when asked."""
    ended: dict[int, int] = {}
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # its owner stops it (and the reaper)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, MAX_FDS)
        except InterruptedError:
            continue
        if not data:
            return  # the owner closed its end
        request = json.loads(data)
        _collect(ended)
        if request["op"] == "status":
            pid = request["pid"]
            code = ended.pop(pid, None)
            if code is None:  # ended (its pidfd said so) but not collected yet
                with contextlib.suppress(ChildProcessError):
                    code = _code(os.waitpid(pid, 0)[1])
            control.send(json.dumps({"code": code}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            _run(request, fds)  # never returns
        # its own process group from the start (it sets it too): a signal to the group
        # right after this answer must reach it
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"pid": pid}).encode())


def _collect(ended: dict[int, int]) -> None:
    with contextlib.suppress(ChildProcessError):
        while True:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            ended[pid] = _code(status)


def _code(status: int) -> int:
    """As `subprocess.Popen.returncode`: the exit code, or -N for signal N."""
    return os.waitstatus_to_exitcode(status)


def _run(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become the command, in its own process group; exit with it."""
    code = 1
    try:
        os.setpgid(0, 0)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        targets = request["targets"]  # where each received fd goes (0, 1, 2, passed ones)
        # out of the way first (above every target): a received fd may sit on a number
        # another one goes to
        floor = max([*targets, *fds]) + 1
        moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, floor) for fd in fds]
        for fd, target in zip(moved, targets, strict=True):
            os.dup2(fd, target, inheritable=True)
        _close_all_but(set(targets) | {0, 1, 2})
        _name(request["argv"])
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        code = _main(request["argv"])
    except SystemExit as exit:
        code = _exit_code(exit)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            import atexit as at_exit

            at_exit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _name(argv: list[str]) -> None:
    """Its name in ps and /proc/<pid>/comm (its command line stays the server's): the
    module or script it runs."""
    import ctypes

    name = argv[1] if argv[0] in ("-m", "-c") else argv[0]
    name = "python -c" if argv[0] == "-c" else name
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def _close_all_but(keep: set[int]) -> None:
    """Close every fd but `keep` (the server's control socket, the fds as received)."""
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _main(argv: list[str]) -> int:
    """Run `python ARGS` in this interpreter: `-m module`, `-c code` or a script."""
    import runpy

    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        sys.path.insert(0, "")
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = list(argv)
        sys.path.insert(0, str(Path(argv[0]).resolve().parent))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


def _exit_code(exit: SystemExit) -> int:
    if exit.code is None:
        return 0
    if isinstance(exit.code, int):
        return exit.code
    print(exit.code, file=sys.stderr)
    return 1


def main() -> None:
    """`python -m tests.support.forkserver FD`: import, then serve until FD closes."""
    control = socket.socket(fileno=int(sys.argv[1]))
    for module in PRELOAD:
        __import__(module)
    # the modules above start no thread (numpy's BLAS is kept to one: its environment)
    assert threading.active_count() == 1, threading.enumerate()
    assert not set(sys.modules) & set(NOT_PRELOADED), set(sys.modules) & set(NOT_PRELOADED)
    # what is imported now lives as long as every process forked from here: out of the
    # collector's sight (a forked daphne's first full collection would traverse it all, and
    # touching it copies the shared pages), ~0.3 s of CPU less to its first page
    gc.collect()
    gc.freeze()
    control.send(b'{"ready": true}')
    _serve(control)


# -- the client ------------------------------------------------------------------------------


class Forked:
    """A process the fork server made: what the tests use of `subprocess.Popen`."""

    def __init__(self, server: ForkServer, pid: int, pipes: dict[str, Any]) -> None:
        self._server = server
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = pipes.get("stdin")
        self.stdout = pipes.get("stdout")
        self.stderr = pipes.get("stderr")
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # it ended (and was collected) already
            self._pidfd = None

    def _ended(self, timeout: float | None) -> bool:
        if self._pidfd is None:
            return True
        readable, _, _ = select.select([self._pidfd], [], [], timeout)
        return bool(readable)

    def poll(self) -> int | None:
        if self.returncode is None and self._ended(0):
            self._finish()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not self._ended(timeout):
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            self._finish()
        assert self.returncode is not None
        return self.returncode

    def _finish(self) -> None:
        code = self._server.status(self.pid)
        self.returncode = code if code is not None else -signal.SIGKILL
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def send_signal(self, signum: int) -> None:
        if self.returncode is None and self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """This pytest process's fork server (started on first use, stopped at exit)."""

    def __init__(self, popen: Any) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self._proc = popen(
            [sys.executable, "-m", "tests.support.forkserver", str(theirs.fileno())],
            cwd=ROOT,
            env=env,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._control = ours
        self._lock = threading.RLock()
        answer = self._control.recv(MAX_MESSAGE)
        if answer != b'{"ready": true}':
            raise RuntimeError(f"the fork server did not start (exit {self._proc.wait()})")

    def _ask(self, request: dict[str, Any], fds: list[int] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        with self._lock:
            socket.send_fds(self._control, [json.dumps(request).encode()], list(fds))
            answer = self._control.recv(MAX_MESSAGE)
        if not answer:
            raise RuntimeError("the fork server ended")
        return json.loads(answer)

    def fork(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: str | os.PathLike[str] | None = None,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
        pass_fds: tuple[int, ...] = (),
        text: bool = False,
    ) -> Forked:
        """`argv` (`[sys.executable, ...]`) as a forked process."""
        sent: list[int] = []
        targets: list[int] = []
        pipes: dict[str, Any] = {}
        close_after: list[int] = []
        for target, (name, given) in enumerate(
            (("stdin", stdin), ("stdout", stdout), ("stderr", stderr))
        ):
            fd = self._fd_for(name, given, target, pipes, close_after, text)
            sent.append(sent[1] if given == subprocess.STDOUT else fd)
            targets.append(target)
        for fd in pass_fds:
            sent.append(fd)
            targets.append(fd)
        request = {
            "op": "fork",
            "argv": list(argv[1:]),
            "env": dict(env),
            "cwd": str(cwd or os.getcwd()),
            "targets": targets,
        }
        try:
            with self._lock:  # the pidfd is opened before the server can collect it
                pid = self._ask(request, sent)["pid"]
                return Forked(self, pid, pipes)
        finally:
            for fd in close_after:
                os.close(fd)

    @staticmethod
    def _fd_for(
        name: str,
        given: Any,
        target: int,
        pipes: dict[str, Any],
        close_after: list[int],
        text: bool,
    ) -> int:
        """The fd the child gets for stdin/stdout/stderr (a pipe's end for PIPE)."""
        if given is None:
            return target  # ours
        if given == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_RDWR)
            close_after.append(fd)
            return fd
        if given == subprocess.STDOUT:
            return -1  # replaced below by stdout's
        if given == subprocess.PIPE:
            read, write = os.pipe()
            mine, theirs = (write, read) if name == "stdin" else (read, write)
            mode = ("w" if name == "stdin" else "r") + ("" if text else "b")
            pipes[name] = os.fdopen(mine, mode, buffering=1 if text else -1)
            close_after.append(theirs)
            return theirs
        return given if isinstance(given, int) else given.fileno()

    def status(self, pid: int) -> int | None:
        return self._ask({"op": "status", "pid": pid}).get("code")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._control.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


_server: ForkServer | None = None
_server_lock = threading.Lock()


def fork_server(popen: Any) -> ForkServer:
    """This process's fork server, started with `popen` on first use."""
    global _server
    with _server_lock:
        if _server is None:
            _server = ForkServer(popen)
            atexit.register(stop_fork_server)
        return _server


def fork_server_pid() -> int | None:
    """The pid of this process's fork server, if it runs: one of its own processes, not
    one a test started."""
    return _server._proc.pid if _server is not None else None


def stop_fork_server() -> None:
    """The end of this process's tests: its fork server ends (what it forked does not)."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.close()
            _server = None


def fork_server_off() -> bool:
    """STREAMDESK_TEST_FORK=0 starts every process with exec, as before (to compare)."""
    return os.environ.get("STREAMDESK_TEST_FORK", "1") == "0"


if __name__ == "__main__":
    main()
