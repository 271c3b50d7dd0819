"""`/ws/replay/<YYYY-MM-DD>/`: one replay page's socket (its day, played to it alone).

The socket is never in the live fan-out: it has no group, no shared tab and no owner, so a
replayed frame cannot reach a live tab, and a live one cannot reach the page. The day is
the logged-in user's own (their id picks the file: another user's day cannot be named).
What cannot be replayed gets a `replay_error` frame with its sentence, then the close
(docs/streaming-contract.md, "Replay page").
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from streaming.contract.close_codes import CLOSE_NORMAL, CLOSE_UNAUTHENTICATED
from streaming.replay.day import ReplayError, load_day
from streaming.replay.session import ReplayRules, ReplaySession
from streaming.stream.health import QuoteWaits

#: The longest control message a page sends (bytes).
MAX_MESSAGE = 1024


class ReplayConsumer(AsyncWebsocketConsumer):
    """A logged-in user's replay of one of their recorded days."""

    session: ReplaySession | None = None

    def __init__(
        self,
        *,
        quote_waits: QuoteWaits | None = None,
        rules: Callable[[], ReplayRules] | None = None,
    ) -> None:
        """`quote_waits`: the stream's; `rules`: makes the rules a page sets in its replay
        (both the composition root's: streaming/routing.py)."""
        super().__init__()
        self.quote_waits = quote_waits
        self.rules = rules

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()
        try:
            recorded = await asyncio.to_thread(self._load, user.pk, user.get_username())
        except ReplayError as exc:
            await self._say({"type": "replay_error", "message": str(exc)})
            await self.close(code=CLOSE_NORMAL)
            return
        self.session = ReplaySession(
            user.pk,
            recorded,
            self._say,
            flush_interval=settings.STREAM_FLUSH_INTERVAL,
            quote_waits=self.quote_waits,
            rules=self.rules() if self.rules is not None else None,
        )
        await self.session.start(self._at())

    async def disconnect(self, code: int) -> None:
        if self.session is not None:
            await self.session.stop()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None:
            return
        message = _parse(text_data)
        if message is None:
            await self._say(
                {
                    "type": "replay_refused",
                    "message": "A replay's command is a JSON object under 1 KiB, "
                    'e.g. {"op": "play"}.',
                }
            )
            return
        await self.session.control(message)

    # -- inside -----------------------------------------------------------------------------
    def _load(self, user_id: int, username: str) -> Any:
        """The day the URL names, of this user (a ReplayError in a sentence otherwise)."""
        text = str(self.scope["url_route"]["kwargs"]["day"])
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ReplayError(f"{text[:20]!r} is not a day (YYYY-MM-DD).") from None
        folder = settings.STREAM_RECORD_DIR
        if not folder:
            raise ReplayError("Streams are not recorded here: STREAM_RECORD_DIR is empty.")
        return load_day(Path(folder), user_id, username, day)

    def _at(self) -> int | None:
        """`?at=` (epoch ms): where the page opens the day (None: its start)."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        values = query.get("at") or []
        try:
            return int(values[0]) if values else None
        except ValueError:
            return None

    async def _say(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=orjson.dumps(frame).decode())


def _parse(text: str | None) -> dict[str, Any] | None:
    if text is None or len(text) > MAX_MESSAGE:
        return None
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None
