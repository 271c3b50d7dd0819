"""Articles stored the way the app stores them, from a process of its own: `store.news_upsert`
then `live.announce` (streaming/news) in a Python process with a LiveApp's environment
(its database, its Redis), kept running so each write costs one round trip, not a Django
start-up. Also makes users (for per-user limits). A writer that ended fails the call that
used it with its exit status and the end of its stderr (the cause), never silently: a test
starts its own writer (tests/e2e/test_news_stream.py), so no other test shares its end."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from typing import Any

from tests.support.live import ROOT, LiveApp
from tests.support.processes import spawn, terminate

SCRIPT = r"""
import datetime as dt, json, sys
import django
django.setup()
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from streaming.news import live, store

T0 = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.UTC)
print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    command = json.loads(line)
    if command["op"] == "store":
        rows = store.news_upsert(
            store.Article(
                provider="alpaca",
                news_id=a["id"],
                headline=a.get("headline", f"headline {a['id']}"),
                created_at=T0 + dt.timedelta(minutes=a.get("created", 0)),
                updated_at=T0 + dt.timedelta(minutes=a.get("updated", 0)),
                symbols=tuple(a["symbols"]),
            )
            for a in command["articles"]
        )
        if command["announce"]:
            async_to_sync(live.announce)(rows)
        answer = [store.to_wire(row) for row in rows]
    elif command["op"] == "user":
        user, _ = get_user_model().objects.get_or_create(username=command["name"])
        user.set_password(command["password"])
        user.save()
        answer = user.pk
    print(json.dumps(answer), flush=True)
"""


class NewsWriter:
    """One long-lived writer process for `app` (stop it with `close`)."""

    def __init__(self, app: LiveApp) -> None:
        # its stderr in a file (a pipe nobody reads could fill and stall it): the cause,
        # should it end
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._proc = spawn(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            env=app.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self._read() == "ready"

    def _ended(self) -> RuntimeError:
        """What the writer's end says: its status and the end of its stderr."""
        try:
            status = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = None
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:]
        return RuntimeError(f"the news writer process ended (exit status {status}):\n{tail}")

    def _read(self) -> Any:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise self._ended()
        return json.loads(line)

    def _ask(self, command: dict[str, Any]) -> Any:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(command) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise self._ended() from None
        return self._read()

    def store(self, *articles: dict[str, Any], announce: bool = True) -> list[dict[str, Any]]:
        """Store articles (`{"id", "symbols", "headline"?, "created"?, "updated"?}`, times
        in minutes after a fixed instant); the wire items of the revisions written."""
        return self._ask({"op": "store", "articles": list(articles), "announce": announce})

    def user(self, name: str, password: str) -> int:
        return self._ask({"op": "user", "name": name, "password": password})

    def close(self) -> None:
        """End of input: the writer ends (stopped if it does not)."""
        try:
            if self._proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    self._proc.stdin.close()
            self._proc.wait(timeout=10)
        finally:
            terminate(self._proc)
            self._stderr.close()
