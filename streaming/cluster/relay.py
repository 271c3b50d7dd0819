"""Frames for tabs in other processes: one layer message per process and turn of the loop.

The owner of a user's stream hands its own process's tabs every frame directly
(fanout.py). A tab in another process registers with the owner (its channel name, with
its symbols: owner_rpc.py), and the owner sends that process the user's frames. Through
the user's group that was one `group_send` per frame and user (two Redis round trips, a
Lua script, a layer message for the receiving process to read): the cost that kept the
workers layout, where every frame crosses, from its targets on 2 cores
(docs/performance.md, "Why the hot path looks as it does"). Now the owner's process
collects, per receiving process, every frame its users' managers publish while the loop
runs one turn, and sends them as one message to that process's relay channel; the
receiving process hands each frame to its user's fan-out, in order.

A process is named by the part of its channels' names before the `!` (channels'
process-local channel names; channels-redis routes every `<process>!…` channel through
that process's one queue), and its relay channel is `<process>!streamdesk-relay`. A
user's frames stay in order: one sender per user on the owner, one channel per receiving
process, batches sent and read in order. What is lost (the receiving process's queue is
full, Redis is away) is repaired as before: account frames from the event log when the
next head or frame shows the gap, quotes and statuses by the next ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer

from streaming import metrics
from streaming.cluster.layer import messages
from streaming.contract.layer import RELAY_FRAMES, RelayBatch
from streaming.runtime.waiters import settle

log = logging.getLogger(__name__)

#: The layer message type of a batch (contract.RelayBatch).
BATCH = RELAY_FRAMES
#: The local part of every process's relay channel.
RELAY_NAME = "streamdesk-relay"


class Receiver(Protocol):
    """What the relay hands a user's relayed frames to (fanout.UserFanout is one)."""

    async def deliver(self, message: Mapping[str, Any]) -> None: ...


def process_of(channel: str) -> str | None:
    """The process a channel belongs to (the part before `!`); None for a channel that
    is not process-local (a polling page's name, a group)."""
    process, bang, _ = channel.partition("!")
    return process if bang else None


def relay_channel(process: str) -> str:
    return f"{process}!{RELAY_NAME}"


class Relay:
    """This process's side of both ends: batches out to other processes' relay channels,
    and the loop that reads its own relay channel."""

    def __init__(self, layer: Any = None) -> None:
        #: The channel layer (None: the project's, looked up when used).
        self._layer = layer
        #: Frames waiting for the end of this turn, per receiving process.
        self._out: dict[str, list[tuple[list[Any], asyncio.Future[None]]]] = {}
        self._flushing = False
        self._sending: set[asyncio.Task[None]] = set()
        #: This process's name and the fan-outs of the users it relays for.
        self.process: str | None = None
        self._fanouts: dict[int, Receiver] = {}
        self._reader: asyncio.Task[None] | None = None
        self._full_warned = False

    def layer(self) -> Any:
        return self._layer if self._layer is not None else get_channel_layer()

    # -- the owner's side ------------------------------------------------------------------
    def send(self, process: str, user_id: int, message: Mapping[str, Any]) -> asyncio.Future[None]:
        """Queue one of the user's frames for `process`; the future is done when the batch
        is sent (an exception if Redis refused it)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._out.setdefault(process, []).append(([user_id, message], done))
        if not self._flushing:
            self._flushing = True
            task = loop.create_task(self._flush(), name="relay-out")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return done

    async def _flush(self) -> None:
        """Every frame queued until this task's first step, one message per process."""
        self._flushing = False
        out, self._out = self._out, {}
        await asyncio.gather(*(self._send_batch(p, items) for p, items in out.items()))

    async def _send_batch(
        self, process: str, items: list[tuple[list[Any], asyncio.Future[None]]]
    ) -> None:
        message: RelayBatch = {"type": BATCH, "frames": [frame for frame, _ in items]}
        error: BaseException | None = None
        try:
            await self.layer().send(relay_channel(process), message)
            metrics.RELAY_BATCHES.labels("sent").inc()
        except ChannelFull:
            # that process is not reading (stuck, or gone): as the group dropped them;
            # its tabs fill account gaps from the event log when they see them
            metrics.RELAY_BATCHES.labels("full").inc()
            if not self._full_warned:
                self._full_warned = True
                log.warning("relay channel of %s is full: its frames are dropped", process)
        except BaseException as exc:
            error = exc
        settle((done for _, done in items), error)
        if error is not None and not isinstance(error, Exception):
            raise error

    # -- the receiving side ------------------------------------------------------------------
    async def listen(self, user_id: int, fanout: Receiver) -> None:
        """Hand `fanout` the frames other processes relay for its user here (reading this
        process's relay channel from the first such user on)."""
        self._fanouts[user_id] = fanout
        if self.process is None:
            self.process = process_of(await self.layer().new_channel())
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read(), name="relay-in")

    def forget(self, user_id: int, fanout: Receiver) -> None:
        if self._fanouts.get(user_id) is fanout:
            del self._fanouts[user_id]

    async def _read(self) -> None:
        assert self.process is not None
        async for message in messages(relay_channel(self.process), self.layer()):
            if message.get("type") != BATCH:
                continue
            for user_id, frame in message.get("frames", ()):
                fanout = self._fanouts.get(user_id)
                if fanout is None:
                    continue  # the user's tabs here are gone
                try:
                    await fanout.deliver(frame)
                except Exception:  # one user's broken delivery must not stop the rest
                    log.exception("user %s: delivering a relayed frame failed", user_id)

    async def stop(self) -> None:
        """End the reader now (the agents stop: a worker ends, a test is over)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
