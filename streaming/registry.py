"""Which stream managers run in this process, and who holds them.

A user's manager starts when the first holder (a socket, a page view) acquires it
and stops `STREAM_IDLE_GRACE` seconds after the last one releases it, so a page
reload or a short network blip does not tear down the broker sessions. Only this
module touches the database on the way to a manager: links and their secrets are
loaded once per start, never per tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from .brokers.tastytrade import StreamConfig, TastytradeAdapter
from .manager import LinkInfo, Publish, UserStreamManager, user_group

log = logging.getLogger(__name__)


def _load_links(user_id: int) -> list[tuple[LinkInfo, dict[str, Any]]]:
    from accounts.selectors import broker_link_credentials, broker_links_for_user

    loaded = []
    for link in broker_links_for_user(user_id=user_id):
        info = LinkInfo(link.id, link.broker, link.label, link.is_simulated)
        spec = {
            "credentials": broker_link_credentials(link=link),
            "account_numbers": list(link.account_numbers or []),
        }
        loaded.append((info, spec))
    return loaded


def _record_link_state(link_id: int, state: str, reason: str) -> None:
    from accounts.services import broker_link_record_stream_state

    if state == "error":
        broker_link_record_stream_state(link_id=link_id, status="error", error=reason)
    elif state == "live":
        broker_link_record_stream_state(link_id=link_id, status="verified", error="")


def stream_config() -> StreamConfig:
    return StreamConfig(
        watchdog_timeout=settings.STREAM_WATCHDOG_TIMEOUT,
        reconcile_interval=settings.STREAM_RECONCILE_INTERVAL,
    )


def make_adapter(info: LinkInfo, spec: dict[str, Any], config: StreamConfig) -> TastytradeAdapter:
    if info.broker != "tastytrade":
        raise ValueError(f"no adapter for broker {info.broker!r}")
    credentials = spec["credentials"]
    return TastytradeAdapter(
        link_id=info.id,
        provider_secret=credentials["provider_secret"],
        refresh_token=credentials["refresh_token"],
        account_numbers=spec["account_numbers"],
        config=config,
    )


async def build_manager(user_id: int, publish: Publish | None = None) -> UserStreamManager:
    """A manager for a user's enabled links, publishing to the user's layer group
    (or to `publish`, e.g. the terminal for `manage.py stream_test`)."""
    loaded = await database_sync_to_async(_load_links)(user_id)
    config = stream_config()
    if publish is None:
        layer = get_channel_layer()
        group = user_group(user_id)

        async def publish(frame: dict[str, Any], text: str) -> None:
            await layer.group_send(group, {"type": "stream.frame", "text": text})

    record = database_sync_to_async(_record_link_state)

    async def on_link_state(link_id: int, state: str, reason: str) -> None:
        await record(link_id, state, reason)

    return UserStreamManager(
        user_id,
        links=[(info, make_adapter(info, spec, config)) for info, spec in loaded],
        publish=publish,
        flush_interval=settings.STREAM_FLUSH_INTERVAL,
        on_link_state=on_link_state,
        naive=settings.STREAM_NAIVE_FANOUT,
    )


class ManagerRegistry:
    """Process-local managers by user id, reference-counted by holder name."""

    def __init__(self, factory: Callable[[int], Any] = build_manager) -> None:
        self._factory = factory
        self._managers: dict[int, UserStreamManager] = {}
        self._holders: dict[int, set[str]] = {}
        self._stops: dict[int, asyncio.TimerHandle] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def _check_loop(self) -> None:
        """Managers belong to one event loop; a new loop (a new test) starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._managers.clear()
            self._holders.clear()
            self._stops.clear()
            self._locks.clear()
            self._loop = loop

    async def acquire(self, user_id: int, holder: str) -> UserStreamManager:
        self._check_loop()
        async with self._locks.setdefault(user_id, asyncio.Lock()):
            self._holders.setdefault(user_id, set()).add(holder)
            timer = self._stops.pop(user_id, None)
            if timer is not None:
                timer.cancel()
            manager = self._managers.get(user_id)
            if manager is None:
                manager = await self._factory(user_id)
                await manager.start()
                self._managers[user_id] = manager
                log.info("stream manager started for user %s", user_id)
            return manager

    def release(self, user_id: int, holder: str, grace: float | None = None) -> None:
        """Drop a holder; the manager stops after the grace period if nobody else holds it."""
        holders = self._holders.get(user_id)
        if holders is None:
            return
        holders.discard(holder)
        if holders or user_id in self._stops:
            return
        delay = settings.STREAM_IDLE_GRACE if grace is None else grace
        loop = asyncio.get_running_loop()
        self._stops[user_id] = loop.call_later(
            delay, lambda: loop.create_task(self._stop_if_idle(user_id))
        )

    async def _stop_if_idle(self, user_id: int) -> None:
        async with self._locks.setdefault(user_id, asyncio.Lock()):
            self._stops.pop(user_id, None)
            if self._holders.get(user_id):
                return
            manager = self._managers.pop(user_id, None)
            self._holders.pop(user_id, None)
            if manager is not None:
                await manager.stop()
                log.info("stream manager stopped for user %s", user_id)

    def get(self, user_id: int) -> UserStreamManager | None:
        return self._managers.get(user_id)

    async def stop_all(self) -> None:
        for timer in self._stops.values():
            timer.cancel()
        self._stops.clear()
        managers, self._managers = list(self._managers.values()), {}
        self._holders.clear()
        await asyncio.gather(*(m.stop() for m in managers), return_exceptions=True)


registry = ManagerRegistry()
