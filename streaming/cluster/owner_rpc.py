"""Tabs -> the owner of their user's stream, wherever each runs: named layer messages.

A tab sends to the user's owner group (`to_owner`); the owning process's control channel
is its only member, and `OwnerRpc` handles each message type with one handler: the
stream's own by method (the `type` names it, as in channels' consumers), a feature's
questions (chains, candles) by the handler the feature registered at the composition
root (`OwnerHandlers.register`, in streaming/node.py), so the cluster imports no
feature. Replies go to the asker's own channel, or straight to the tab if it is in this
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from streaming.cluster.fanout import Tab, dispatch
from streaming.cluster.layer import Message, messages
from streaming.contract.layer import (
    AlertsChangedRequest,
    LimitReply,
    SnapshotReply,
    SnapshotRequest,
    TabDropRequest,
    TabSymbolsRequest,
    ToOwner,
    ToTab,
    WatchlistChangedRequest,
    owner_group,
)
from streaming.stream.subscriptions import POLL_TAB_PREFIX, TAB_TTL

if TYPE_CHECKING:
    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)


# -- the tab's side -----------------------------------------------------------------------
async def to_owner(user_id: int, message: Mapping[str, Any]) -> None:
    """Send a message to the owner of the user's stream (lost while Redis is away: tabs
    repeat what matters)."""
    with contextlib.suppress(RedisError, OSError):
        await get_channel_layer().group_send(owner_group(user_id), message)


async def request_snapshot(
    user_id: int, reply: str, symbols: list[str], shown: float | None = None
) -> None:
    """Ask the owner for a snapshot; it arrives on `reply` as `stream.snapshot`. `shown`: a
    page's request, showing the stream that long (`UserStreamManager.shown_for`)."""
    message: SnapshotRequest = {
        "type": ToOwner.SNAPSHOT_REQUEST,
        "reply": reply,
        "symbols": symbols,
    }
    if shown is not None:
        message["shown"] = shown
    await to_owner(user_id, message)


async def announce_symbols(
    user_id: int, tab: str, symbols: list[str], ttl: float | None = None
) -> None:
    """A tab's wanted symbols; `ttl`: forget them that long after (default: a socket's)."""
    message: TabSymbolsRequest = {"type": ToOwner.TAB_SYMBOLS, "tab": tab, "symbols": symbols}
    if ttl is not None:
        message["ttl"] = ttl
    await to_owner(user_id, message)


async def drop_tab(user_id: int, tab: str) -> None:
    message: TabDropRequest = {"type": ToOwner.TAB_DROP, "tab": tab}
    await to_owner(user_id, message)


async def watchlist_changed(user_id: int, symbols: list[str], version: int) -> None:
    message: WatchlistChangedRequest = {
        "type": ToOwner.WATCHLIST_CHANGED,
        "symbols": symbols,
        "version": version,
    }
    await to_owner(user_id, message)


async def alerts_changed(user_id: int) -> None:
    """The user's alerts changed: the owner reads them again (evaluation changes at once)."""
    message: AlertsChangedRequest = {"type": ToOwner.ALERTS_CHANGED}
    await to_owner(user_id, message)


# -- features' questions ---------------------------------------------------------------------
#: How the owner answers a feature's question (`OwnerCall`): `handler(manager, request,
#: left)` -> the reply for `request["reply"]` (None: no reply; the asker times out). The
#: same handler serves the question when the asking process owns the stream
#: (agents.ask_owner), so it must catch what it can answer with.
OwnerHandler = Callable[["UserStreamManager", Message, float], Awaitable[Mapping[str, Any] | None]]


class OwnerHandlers:
    """Message type -> the feature's handler; filled at the composition root
    (streaming/node.py), so the cluster imports no feature. A process's agents own one
    (`Agents.owner_handlers`) and hand it to each owner's `OwnerRpc`."""

    def __init__(self) -> None:
        self._handlers: dict[str, OwnerHandler] = {}

    def register(self, message_type: str, handler: OwnerHandler) -> None:
        """The owner answers `message_type` with `handler` (one handler per type)."""
        known = self._handlers.get(message_type)
        if known is not None and known is not handler:
            raise ValueError(f"{message_type!r} already has an owner handler")
        self._handlers[message_type] = handler

    def get(self, message_type: str) -> OwnerHandler | None:
        return self._handlers.get(message_type)

    def handler_for(self, message_type: str) -> OwnerHandler:
        handler = self._handlers.get(message_type)
        if handler is None:
            raise LookupError(f"no owner handler for {message_type!r} (streaming/node.py)")
        return handler


# -- the owner's side ------------------------------------------------------------------------
class OwnerRpc:
    """The owner's control channel: one handler per message type."""

    def __init__(
        self, manager: UserStreamManager, tabs: Mapping[str, Tab], handlers: OwnerHandlers
    ) -> None:
        self.manager = manager
        #: The features' handlers (the process's agents' own).
        self.handlers = handlers
        #: This process's tabs of the user: a reply to one of them is handed over directly.
        self.tabs = tabs
        self.user_id = manager.user_id
        self.channel: str | None = None
        self._task: asyncio.Task[None] | None = None
        #: Requests answered in their own tasks (a broker call must not hold up the loop).
        self._work: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        self.channel = await get_channel_layer().new_channel()
        await self.rejoin()
        self._task = asyncio.create_task(self._serve(self.channel), name=f"rpc-{self.user_id}")

    async def rejoin(self) -> None:
        """Keep the control channel in the owner group (Redis may have forgotten it)."""
        if self.channel is not None:
            await get_channel_layer().group_add(owner_group(self.user_id), self.channel)

    async def close(self) -> None:
        for task in list(self._work):
            task.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.channel is not None:
            with contextlib.suppress(RedisError, OSError):
                await get_channel_layer().group_discard(owner_group(self.user_id), self.channel)
        self._task = self.channel = None

    async def _serve(self, channel: str) -> None:
        """One message that cannot be handled never ends the loop: the owner must keep
        answering every tab."""
        async for message in messages(channel):
            try:
                await self.handle(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("user %s: handling %s failed", self.user_id, message.get("type"))

    async def handle(self, message: Message) -> None:
        """The stream's own messages by method (the `type` names it); a feature's question
        by its registered handler, in a task of its own (a broker call takes time: other
        tabs' messages must not wait)."""
        kind = str(message.get("type", ""))
        feature = self.handlers.get(kind)
        if feature is not None:
            task = asyncio.create_task(
                self._answer_call(message, feature), name=f"{kind}-{self.user_id}"
            )
            self._work.add(task)
            task.add_done_callback(self._work.discard)
            return
        handler = getattr(self, kind.replace(".", "_"), None)
        if handler is None:
            log.warning("user %s: unknown owner message %r", self.user_id, message.get("type"))
            return
        await handler(message)

    # -- handlers (ToOwner) ------------------------------------------------------------------
    async def tab_symbols(self, message: Message) -> None:
        ttl = float(message.get("ttl") or TAB_TTL)
        refused = self.manager.set_tab_symbols(message["tab"], message.get("symbols", []), ttl)
        if refused and not message["tab"].startswith(POLL_TAB_PREFIX):
            limit: LimitReply = {"type": ToTab.LIMIT, "symbols": refused}
            await self.reply(message["tab"], limit)

    async def tab_drop(self, message: Message) -> None:
        self.manager.drop_tab(message["tab"])

    async def watchlist_changed(self, message: Message) -> None:
        self.manager.set_watchlist(message.get("symbols", []), int(message.get("version", 0)))

    async def alerts_changed(self, message: Message) -> None:
        self.manager.user_changed("alerts")

    async def snapshot_request(self, message: Message) -> None:
        if message.get("shown"):
            self.manager.shown_for(float(message["shown"]))
        snapshot = self.manager.snapshot(message.get("symbols") or ())
        reply: SnapshotReply = {
            "type": ToTab.SNAPSHOT,
            "text": orjson.dumps(snapshot).decode(),
            "seq": snapshot["seq"],
        }
        await self.reply(message["reply"], reply)

    async def _answer_call(self, message: Message, handler: OwnerHandler) -> None:
        left = float(message.get("deadline", 0)) - time.time()
        if left <= 0:
            return  # the asker has given up
        answer = await handler(self.manager, message, left)
        if answer is not None:
            await self.reply(str(message["reply"]), answer)

    async def reply(self, tab: str, message: Mapping[str, Any]) -> None:
        """A reply to one tab, here or in another process. If that process's inbox is
        full (it was paused, or is far behind) the reply is dropped: the tab asks again
        until it is answered."""
        local = self.tabs.get(tab)
        if local is not None:
            await dispatch(local, message)
            return
        try:
            await get_channel_layer().send(tab, message)
        except ChannelFull:
            log.warning(
                "user %s: %s to a tab dropped: its process is not reading (inbox full)",
                self.user_id,
                message["type"],
            )
        except (RedisError, OSError):
            pass  # Redis trouble: the tab asks again, and recovery is the watcher's job
