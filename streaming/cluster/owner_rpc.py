"""Tabs -> the owner of their user's stream, wherever each runs: named layer messages.

A tab sends to the user's owner group (`to_owner`); the owning process's control channel
is its only member, and `OwnerRpc` handles each message type with one method (the
`type` names it, as in channels' consumers). Replies go to the asking tab's own channel,
or straight to the tab if it is in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import orjson
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from streaming.brokers.bars import HistoryError
from streaming.chains import service as chains
from streaming.cluster.fanout import Message, UserFanout, dispatch, messages
from streaming.contract import ToOwner, ToTab, owner_group
from streaming.stream.subscriptions import POLL_TAB_PREFIX, TAB_TTL

if TYPE_CHECKING:
    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)


# -- the tab's side -----------------------------------------------------------------------
async def to_owner(user_id: int, message: Message) -> None:
    """Send a message to the owner of the user's stream (lost while Redis is away: tabs
    repeat what matters)."""
    with contextlib.suppress(RedisError, OSError):
        await get_channel_layer().group_send(owner_group(user_id), message)


async def request_snapshot(user_id: int, reply: str, symbols: list[str]) -> None:
    """Ask the owner for a snapshot; it arrives on `reply` as `stream.snapshot`."""
    message = {"type": ToOwner.SNAPSHOT_REQUEST, "reply": reply, "symbols": symbols}
    await to_owner(user_id, message)


async def announce_symbols(
    user_id: int, tab: str, symbols: list[str], ttl: float | None = None
) -> None:
    """A tab's wanted symbols; `ttl`: forget them that long after (default: a socket's)."""
    message: Message = {"type": ToOwner.TAB_SYMBOLS, "tab": tab, "symbols": symbols}
    if ttl is not None:
        message["ttl"] = ttl
    await to_owner(user_id, message)


async def drop_tab(user_id: int, tab: str) -> None:
    await to_owner(user_id, {"type": ToOwner.TAB_DROP, "tab": tab})


async def request_candles(
    user_id: int, reply: str, symbol: str, tf: str, from_ms: int, deadline: float
) -> None:
    """Ask the owner for candle history; the answer arrives on `reply` as `stream.candles`."""
    message = {
        "type": ToOwner.CANDLES_REQUEST,
        "reply": reply,
        "symbol": symbol,
        "tf": tf,
        "from_ms": from_ms,
        "deadline": deadline,
    }
    await to_owner(user_id, message)


async def watchlist_changed(user_id: int, symbols: list[str], version: int) -> None:
    message = {"type": ToOwner.WATCHLIST_CHANGED, "symbols": symbols, "version": version}
    await to_owner(user_id, message)


async def alerts_changed(user_id: int) -> None:
    """The user's alerts changed: the owner reads them again (evaluation changes at once)."""
    await to_owner(user_id, {"type": ToOwner.ALERTS_CHANGED})


async def request_chain(user_id: int, reply: str, request: dict) -> None:
    """Ask the owner for an option chain; it arrives on `reply` as `chain.reply`."""
    await to_owner(user_id, {"type": ToOwner.CHAIN_REQUEST, "reply": reply, **request})


# -- the owner's side ------------------------------------------------------------------------
class OwnerRpc:
    """The owner's control channel: one handler per message type."""

    def __init__(self, manager: UserStreamManager, fanout: UserFanout) -> None:
        self.manager = manager
        self.fanout = fanout
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
        handler = getattr(self, str(message.get("type", "")).replace(".", "_"), None)
        if handler is None:
            log.warning("user %s: unknown owner message %r", self.user_id, message.get("type"))
            return
        await handler(message)

    # -- handlers (ToOwner) ------------------------------------------------------------------
    async def tab_symbols(self, message: Message) -> None:
        ttl = float(message.get("ttl") or TAB_TTL)
        refused = self.manager.set_tab_symbols(message["tab"], message.get("symbols", []), ttl)
        if refused and not message["tab"].startswith(POLL_TAB_PREFIX):
            await self.reply(message["tab"], {"type": ToTab.LIMIT, "symbols": refused})

    async def tab_drop(self, message: Message) -> None:
        self.manager.drop_tab(message["tab"])

    async def watchlist_changed(self, message: Message) -> None:
        self.manager.set_watchlist(message.get("symbols", []), int(message.get("version", 0)))

    async def alerts_changed(self, message: Message) -> None:
        if self.manager.alerts is not None:
            self.manager.alerts.reload()

    async def snapshot_request(self, message: Message) -> None:
        snapshot = self.manager.snapshot(message.get("symbols") or ())
        reply = {
            "type": ToTab.SNAPSHOT,
            "text": orjson.dumps(snapshot).decode(),
            "seq": snapshot["seq"],
        }
        await self.reply(message["reply"], reply)

    async def candles_request(self, message: Message) -> None:
        """Served in a task of its own: the broker call takes time, tabs must not wait."""
        task = asyncio.create_task(self._answer_candles(message), name=f"candles-{self.user_id}")
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _answer_candles(self, message: Message) -> None:
        within = float(message.get("deadline", 0)) - time.time()
        if within <= 0:
            return  # the asker has given up
        try:
            result = await self.manager.candles(
                str(message["symbol"]), str(message["tf"]), int(message["from_ms"]), within=within
            )
            reply: Message = {"type": ToTab.CANDLES, "text": orjson.dumps(result).decode()}
        except HistoryError as exc:
            reply = {
                "type": ToTab.CANDLES,
                "error": exc.code,
                "message": exc.message,
                "retry_after": exc.retry_after,
            }
        except TimeoutError:
            return  # the asker times out on its own and says so
        except Exception as exc:  # never leave the asker waiting for nothing
            log.exception("user %s: candles.request failed", self.user_id)
            reply = {"type": ToTab.CANDLES, "error": "broker_error", "message": str(exc)[:200]}
        await self.reply(str(message["reply"]), reply)

    async def chain_request(self, message: Message) -> None:
        """Answered in its own task: a broker fetch must not hold up other tabs' messages."""
        task = asyncio.create_task(self._answer_chain(message), name=f"chain-{self.user_id}")
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _answer_chain(self, message: Message) -> None:
        try:
            status, body = await chains.answer(self.manager, message)
        except Exception:
            log.exception("user %s: chain request failed", self.user_id)
            status, body = 500, {"error": "the chain could not be built", "code": "server_error"}
        reply = {"type": ToTab.CHAIN_REPLY, "status": status, "text": orjson.dumps(body).decode()}
        await self.reply(message["reply"], reply)

    async def reply(self, tab: str, message: Message) -> None:
        """A reply to one tab, here or in another process. If that process's inbox is
        full (it was paused, or is far behind) the reply is dropped: the tab asks again
        until it is answered."""
        local = self.fanout.tabs.get(tab)
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
