"""The benchmarks' baselines of what not to do: quotes not conflated, a frame per tick.

Production batches quotes per flush interval (streaming/stream/outbox.py `QuoteBatch`) and
hands one frame per process to its tabs (streaming/cluster/fanout.py). bench.cluster's
naive phase runs its server processes through bench/naive.py, which puts one of these in
place before any stream manager starts (`--naive`):

- `group-send` (the default, issue 42's "naive Channels fan-out"): the pattern of the
  Django + Channels + tastytrade dashboard this project came from. Each tick is an awaited
  `group_send` to the user's group, in order; every tab's consumer receives it from the
  channel layer through channels' own dispatch (with its per-message
  `aclose_old_connections()`) and sends it with `json.dumps`. Account frames keep the
  designed path (their seq, their log): the baseline differs in quotes only.
- `per-tick`: a frame per tick through the designed fan-out (what the naive phase was
  before issue 42: it shares every part of the fan-out but the batch, so it measures the
  batch alone).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from streaming.brokers.values import now_ms
from streaming.contract.frames import QuotesFrame
from streaming.stream.outbox import QuoteBatch

#: The `--naive` baselines.
NAIVE_KINDS = ("group-send", "per-tick")


class PerTickQuotes(QuoteBatch):
    """Every tick is a frame of its own (greeks still wait for the flush)."""

    def add_quote(self, symbol: str, fields: dict[str, Any]) -> QuotesFrame | None:
        # the frame's `t` is when it was made (as a batch's): tabs order it by that
        return {"type": "quotes", "quotes": {symbol: fields}, "greeks": {}, "t": now_ms()}


def user_group(user_id: int) -> str:
    """The user's Channels group, as the reference names one per user."""
    return f"naive.user.{user_id}"


class GroupSendPerTick(QuoteBatch):
    """Every tick is a `group_send` to the user's group, awaited one after the other (the
    reference awaited it in its listener loop; the manager's tick path is synchronous, so
    one task per manager sends them in the order they came). Greeks wait for the flush."""

    def __init__(self, user_id: int) -> None:
        super().__init__()
        self.group = user_group(user_id)
        self._ticks: asyncio.Queue[QuotesFrame] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    def add_quote(self, symbol: str, fields: dict[str, Any]) -> QuotesFrame | None:
        frame: QuotesFrame = {
            "type": "quotes",
            "quotes": {symbol: fields},
            "greeks": {},
            "t": now_ms(),
        }
        self._ticks.put_nowait(frame)
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send())
        return None

    async def _send(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        while True:
            frame = await self._ticks.get()
            await layer.group_send(self.group, {"type": "quote.update", "frame": frame})


def use_per_tick_quotes() -> None:
    """Every stream manager this process builds from now on sends a frame per tick."""
    from streaming import wiring

    wiring.quote_batch = PerTickQuotes


def use_group_send_per_tick() -> None:
    """Every stream manager this process builds from now on `group_send`s each tick to
    its user's group, and every tab's consumer joins that group and sends what it gets."""
    from channels.consumer import AsyncConsumer

    from streaming import wiring
    from streaming.tabs.consumers import StreamConsumer

    designed_manager = wiring.UserStreamManager

    class GroupSendManager(designed_manager):  # type: ignore[misc,valid-type]
        def __init__(self, user_id: int, *args: Any, **kwargs: Any) -> None:
            kwargs["quote_batch"] = lambda: GroupSendPerTick(user_id)
            super().__init__(user_id, *args, **kwargs)

    wiring.UserStreamManager = GroupSendManager  # type: ignore[misc]

    designed_connect = StreamConsumer.connect
    designed_disconnect = StreamConsumer.disconnect
    designed_dispatch = StreamConsumer.dispatch

    async def connect(self: StreamConsumer) -> None:
        await designed_connect(self)
        if self.tab is not None:
            self.naive_group = user_group(self.scope["user"].id)
            await self.channel_layer.group_add(self.naive_group, self.channel_name)

    async def disconnect(self: StreamConsumer, code: int) -> None:
        group = getattr(self, "naive_group", None)
        if group is not None:
            await self.channel_layer.group_discard(group, self.channel_name)
        await designed_disconnect(self, code)

    async def dispatch(self: StreamConsumer, message: dict[str, Any]) -> None:
        if message["type"] == "quote.update":
            await AsyncConsumer.dispatch(self, message)  # channels' own, with its DB hop
        else:
            await designed_dispatch(self, message)

    async def quote_update(self: StreamConsumer, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(event["frame"]))

    StreamConsumer.connect = connect  # type: ignore[method-assign]
    StreamConsumer.disconnect = disconnect  # type: ignore[method-assign]
    StreamConsumer.dispatch = dispatch  # type: ignore[method-assign]
    StreamConsumer.quote_update = quote_update


def use_naive(kind: str) -> None:
    """Put the `--naive` baseline `kind` in place in this process."""
    if kind == "group-send":
        use_group_send_per_tick()
    elif kind == "per-tick":
        use_per_tick_quotes()
    else:
        raise ValueError(f"unknown naive baseline {kind!r}: one of {', '.join(NAIVE_KINDS)}")
