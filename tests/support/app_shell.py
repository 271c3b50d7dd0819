"""A Python process with Django set up in a live app's environment, kept running: each
`run` costs a round trip instead of a Django start-up (`manage.py shell -c` was ~1.7 s of
CPU per call, and the live tests made ~75 such calls)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.processes import spawn, terminate

ROOT = Path(__file__).resolve().parents[2]

#: Reads one JSON string of code per line; answers {"out": stdout, "error": traceback}.
#: Every call runs in a namespace of its own and closes the database connections after, so
#: nothing is held between calls (a SQLite lock, a connection a PostgreSQL restart cut).
SCRIPT = r"""
import contextlib, io, json, sys, traceback
import django
django.setup()
from django.db import connections
answers = sys.stdout
print(json.dumps({"out": "ready"}), file=answers, flush=True)
for line in sys.stdin:
    out, error = io.StringIO(), None
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(json.loads(line), "<app shell>", "exec"), {"__name__": "__shell__"})
    except BaseException:
        error = traceback.format_exc()
    finally:
        connections.close_all()
    print(json.dumps({"out": out.getvalue(), "error": error}), file=answers, flush=True)
"""


class AppShell:
    """One long-lived shell process for an app's environment (stop it with `close`)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        """`log`: where its stderr goes (what it logged, and why it ended if it did)."""
        self._log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 - closed in close()
        self._proc = spawn(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._answer()

    def _ended(self) -> RuntimeError:
        """The shell is gone: its exit code and the end of what it wrote to stderr."""
        try:
            code: int | str = self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = "none yet"
        tail = self._log_path.read_text(errors="replace")[-3000:]
        return RuntimeError(f"the app shell ended (exit {code}); its stderr:\n{tail}")

    def _answer(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise self._ended()
        return json.loads(line)

    def run(self, code: str) -> str:
        """Run `code` (imports included); its stdout, or a RuntimeError with its traceback."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(code) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise self._ended() from None
        answer = self._answer()
        if answer["error"]:
            raise RuntimeError(f"app shell code failed:\n{code}\n{answer['error']}")
        return answer["out"]

    def close(self) -> None:
        """End of input: the shell ends (stopped if it does not)."""
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            self._proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            pass  # gone already (said by the call that found it), or stopped below
        finally:
            terminate(self._proc)
            self._log.close()
