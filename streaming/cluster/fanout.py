"""Where a user's frames go: this process's tabs directly, other processes through the layer.

The owner's manager publishes each frame once (`publisher`). Its own process's tabs get
it straight from here, in order; if the owner knows of tabs in other processes the
frame also goes to each of those processes (relay.py: every frame of every user for one
process in one layer message per turn of the loop), and that process hands it to its
tabs. What is not a frame (an owner change) goes through the user's layer group, which
one channel per other process joins. Tabs are reached through the small `Tab` protocol;
a layer message's `type` names the tab's handler, as in channels' consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from streaming import metrics
from streaming.cluster.layer import Message, messages
from streaming.cluster.relay import Relay, process_of
from streaming.contract.layer import (
    FrameMessage,
    HeadMessage,
    LimitReply,
    OwnerChanged,
    SnapshotReply,
    ToTab,
    user_group,
)

if TYPE_CHECKING:
    from streaming.stream.manager import Publish

log = logging.getLogger(__name__)

__all__ = ["Message", "Tab", "UserFanout", "dispatch", "frame_message", "messages"]


class Tab(Protocol):
    """What the stream needs of one open tab (tabs/session.py TabSession is one)."""

    #: The tab's own layer channel: the owner's replies come there.
    channel_name: str
    #: The login session the tab belongs to (it ends with the session).
    session_key: str | None
    #: Or the API token it was opened with (it ends with the token).
    token_id: int | None
    user_id: int | None

    async def stream_frame(self, message: FrameMessage) -> None: ...

    async def stream_head(self, message: HeadMessage) -> None: ...

    async def stream_owner_changed(self, message: OwnerChanged) -> None: ...

    async def stream_snapshot(self, message: SnapshotReply) -> None: ...

    async def stream_limit(self, message: LimitReply) -> None: ...

    async def session_ended(self) -> None: ...


async def dispatch(tab: Tab, message: Mapping[str, Any]) -> None:
    """Call the tab's handler for a layer message (`stream.frame` -> `stream_frame`)."""
    handler = getattr(tab, str(message.get("type", "")).replace(".", "_"), None)
    if handler is not None:
        await handler(message)


def frame_message(frame: Mapping[str, Any], text: str) -> FrameMessage:
    """A frame as a layer message: serialized once, with what a tab needs to place it."""
    return {
        "type": ToTab.FRAME,
        "kind": frame["type"],
        "text": text,
        "seq": frame.get("seq"),
        "epoch": frame.get("epoch"),
        "t": frame.get("t"),  # the owner's clock: a tab drops quotes older than its snapshot
        "broker_t": metrics.broker_time(frame),  # for the latency histograms
    }


class UserFanout:
    """One user's tabs in this process, and the channel that brings them the frames of an
    owner elsewhere."""

    def __init__(self, user_id: int, relay: Relay) -> None:
        self.user_id = user_id
        #: This process's relay (its agents'): frames to and from the other processes.
        self.relay = relay
        self.tabs: dict[str, Tab] = {}
        #: While this process owns the stream: the names of the tabs its manager knows of
        #: (all processes'), to find which other processes want its frames.
        self._owner_tabs: Callable[[], Iterable[str]] | None = None
        self._channel: str | None = None
        self._task: asyncio.Task[None] | None = None

    def publisher(self) -> Publish:
        """The manager's `publish`: local tabs first, then the other processes' (if any:
        one batch per process and turn, relay.py)."""
        layer = get_channel_layer()
        group = user_group(self.user_id)

        async def publish(frame: Mapping[str, Any], text: str) -> None:
            message: FrameMessage | HeadMessage
            if frame["type"] == "head":  # for relays in other processes only
                message = {"type": ToTab.HEAD, "epoch": frame["epoch"], "seq": frame["seq"]}
            else:
                message = frame_message(frame, text)
                if not self.owning:  # no longer the owner here: the group has our tabs
                    await layer.group_send(group, message)
                    return
                await self.deliver(message)  # this process's tabs: directly, in order
            processes = self.remote_processes()
            if processes:  # other processes' tabs: through their relay channels
                await asyncio.gather(
                    *(self.relay.send(p, self.user_id, message) for p in processes)
                )

        return publish

    @property
    def owning(self) -> bool:
        """Whether this process owns the user's stream (its tabs get frames directly)."""
        return self._owner_tabs is not None

    def own(self, tab_names: Callable[[], Iterable[str]]) -> None:
        """This process's manager publishes now; `tab_names`: the tabs it knows of."""
        self._owner_tabs = tab_names

    def disown(self) -> None:
        """Another process owns the stream (or nobody yet): frames come through the layer."""
        self._owner_tabs = None

    def remote_processes(self) -> set[str]:
        """The other processes with a tab the owner knows of. A tab registers (its
        symbols) before it asks the owner for a snapshot, and reconciles against one after
        an owner change, so frames sent before the owner knew of it are older than that
        snapshot and come from the event log."""
        if self._owner_tabs is None:
            return set()
        processes = set()
        for tab in self._owner_tabs():
            if tab not in self.tabs:
                process = process_of(tab)
                if process is not None:
                    processes.add(process)
        return processes

    async def deliver(self, message: Mapping[str, Any]) -> None:
        """Hand one message to every local tab of the user, in order."""
        if self.tabs:
            metrics.observe_delivery(message)
        for tab in list(self.tabs.values()):
            try:
                await dispatch(tab, message)
            except Exception:  # one broken tab must not starve the others
                log.exception("user %s: delivering %s failed", self.user_id, message.get("type"))

    async def broadcast(self, message: Mapping[str, Any]) -> None:
        """A message for the user's tabs in the other processes."""
        await get_channel_layer().group_send(user_group(self.user_id), message)

    async def join(self) -> None:
        """Receive the user's frames in this process (unless it owns the stream: its
        manager hands frames to its tabs directly): the owner's relayed frames through
        this process's relay channel, the rest (owner changes) through the user's group.
        Called for every new tab: a Redis that restarted meanwhile has forgotten the
        group."""
        layer = get_channel_layer()
        await self.relay.listen(self.user_id, self)
        if self._channel is None:
            self._channel = await layer.new_channel()
            self._task = asyncio.create_task(
                self._loop(self._channel), name=f"fanout-{self.user_id}"
            )
        if self.owning:
            return
        try:
            await layer.group_add(user_group(self.user_id), self._channel)
        except (RedisError, OSError):  # a pooled connection from before a Redis restart
            await layer.group_add(user_group(self.user_id), self._channel)
        await self._out_if_owning()

    async def rejoin(self) -> None:
        """Keep the fan-out channel in the user's group while another process owns the
        stream (group membership lives in Redis: it expires, and a restart forgets it)."""
        if self._channel is not None and not self.owning:
            await get_channel_layer().group_add(user_group(self.user_id), self._channel)
            await self._out_if_owning()

    async def _out_if_owning(self) -> None:
        """This process took the stream over while its add was on its way: the owner's
        `leave` may have reached Redis first, so it leaves (again) after the add."""
        if self.owning:
            await self.leave()

    async def leave(self) -> None:
        """This process owns the stream now: its tabs get frames directly."""
        if self._channel is not None:
            with contextlib.suppress(RedisError, OSError):
                await get_channel_layer().group_discard(user_group(self.user_id), self._channel)

    @property
    def joined(self) -> bool:
        return self._channel is not None

    async def _loop(self, channel: str) -> None:
        """Frames (and owner changes) for the user -> each local tab, in order."""
        async for message in messages(channel):
            await self.deliver(message)

    async def close(self) -> None:
        self.relay.forget(self.user_id, self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.leave()
