"""Links in the database -> adapters -> a user's stream manager.

The only place on the way to a manager that touches the database: the user's enabled
links and their secrets, and the watchlist, once per start (never per tick); and a link's
state when it changes, recorded in the background. Where frames go is injected
(`publish`): fanout.py in the server, the terminal for `manage.py stream_test`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from channels.db import database_sync_to_async
from django.conf import settings

from streaming.alerts.runner import AlertRunner
from streaming.alerts.store import AlertStore
from streaming.brokers import catalog
from streaming.brokers.base import BrokerAdapter, StreamConfig
from streaming.brokers.market_data_cache import MarketDataCache
from streaming.brokers.rate_limit import BrokerPacing
from streaming.checkpoints import DatabaseCheckpoint
from streaming.news.access import NEWS_BROKERS
from streaming.news.feed import UserNewsFeed
from streaming.push.orders import OrderPushes
from streaming.push.sender import PushSender
from streaming.push.working import WorkingOrdersMark
from streaming.risk.limits.runner import LimitRunner
from streaming.risk.limits.store import LimitStore
from streaming.risk.metrics.runner import MetricsRunner
from streaming.risk.pnl.sampler import PnlSampler
from streaming.risk.pnl.store import SampleWrites
from streaming.runtime.heap import Lifetimes
from streaming.stream.health import QuoteWaits
from streaming.stream.listener import StreamListener
from streaming.stream.manager import Authorize, Publish, UserStreamManager
from streaming.stream.outbox import QuoteBatch
from streaming.stream.recording import Recorder
from streaming.stream.state import LinkInfo
from streaming.stream.write_ahead import WriteAheadLog

#: How a manager batches quotes between flushes. Production conflates (`QuoteBatch`); a
#: benchmark process may swap in its baseline before any manager starts (bench/baselines.py).
quote_batch: Callable[[], QuoteBatch] = QuoteBatch


class LinkSpec(TypedDict):
    """What a link's adapter (and the news feed) is made with, read from the database."""

    #: the secrets its broker needs (`BrokerLink.SECRET_FIELDS`)
    credentials: dict[str, str]
    account_numbers: list[str]
    alpaca_api: str


def _load_links(user_id: int) -> list[tuple[LinkInfo, LinkSpec]]:
    from accounts.selectors import broker_link_credentials_get, broker_link_list

    loaded = []
    for link in broker_link_list(user_id=user_id):
        info = LinkInfo(
            link.id,
            link.broker,
            link.label,
            link.is_simulated,
            streams_quotes=link.broker in catalog.QUOTE_BROKERS,
            quotes_coins=link.broker in catalog.COIN_QUOTE_BROKERS,
        )
        spec: LinkSpec = {
            "credentials": broker_link_credentials_get(link=link),
            "account_numbers": list(link.account_numbers or []),
            "alpaca_api": link.alpaca_api,
        }
        loaded.append((info, spec))
    return loaded


def _load_watchlist(user_id: int) -> tuple[list[str], int]:
    from streaming.models import Watchlist

    return Watchlist.state_for(user_id)


def _record_link_state(link_id: int, state: str, reason: str) -> None:
    from accounts.services import broker_link_record_stream_state

    if state == "error":
        broker_link_record_stream_state(link_id=link_id, status="error", error=reason)
    elif state == "live":
        broker_link_record_stream_state(link_id=link_id, status="verified", error="")


def stream_config() -> StreamConfig:
    return StreamConfig(
        watchdog_timeout=settings.STREAM_WATCHDOG_TIMEOUT,
        rejected_retry_base=settings.STREAM_REJECTED_RETRY_BASE,
        rejected_retry=settings.STREAM_REJECTED_RETRY_CAP,
        reconcile_interval=settings.STREAM_RECONCILE_INTERVAL,
        account_poll_interval=settings.STREAM_ACCOUNT_POLL_INTERVAL,
        order_poll_interval=settings.STREAM_ORDER_POLL_INTERVAL,
        chain_cache_ttl=settings.STREAM_CHAIN_CACHE_TTL,
        account_heartbeat_interval=settings.STREAM_ACCOUNT_HEARTBEAT,
    )


def quote_waits() -> QuoteWaits:
    """How long the quote feed's health verdicts wait: stale, fail over, fail back."""
    return QuoteWaits(
        stale_after=settings.STREAM_QUOTE_STALE_AFTER,
        stale_floor=settings.STREAM_QUOTE_STALE_FLOOR,
        failover_after=settings.STREAM_FAILOVER_AFTER,
        first_connect_grace=settings.STREAM_FIRST_CONNECT_GRACE,
        failback_after=settings.STREAM_FAILBACK_AFTER,
        failback_cap=settings.STREAM_FAILBACK_CAP,
    )


def make_adapter(
    info: LinkInfo,
    spec: LinkSpec,
    config: StreamConfig,
    lifetimes: Lifetimes | None,
    pacing: BrokerPacing,
    market_data: MarketDataCache,
) -> BrokerAdapter:
    """The link's adapter; replayable streams resume from a checkpoint in the database."""
    return catalog.make_adapter(
        link_id=info.id,
        broker=info.broker,
        credentials=spec["credentials"],
        account_numbers=spec["account_numbers"],
        config=config,
        checkpoint=DatabaseCheckpoint(info.id, f"{info.broker}-events"),
        alpaca_api=spec.get("alpaca_api", "broker"),
        lifetimes=lifetimes,
        pacing=pacing,
        market_data=market_data,
    )


def make_news_feed(loaded: list[tuple[LinkInfo, LinkSpec]]) -> UserNewsFeed | None:
    """The user's news feed, with the key of their first Alpaca link (news/access.py:
    who sees news); None without one."""
    for info, spec in loaded:
        if info.broker in NEWS_BROKERS:
            secrets = spec["credentials"]
            return UserNewsFeed(
                key_id=secrets["key_id"],
                secret_key=secrets["secret_key"],
                rest_url=settings.ALPACA_DATA_URL,
                stream_url=settings.ALPACA_NEWS_STREAM_URL,
                basic_auth=spec.get("alpaca_api", "broker") == "broker",
            )
    return None


async def build_manager(
    user_id: int,
    publish: Publish,
    *,
    event_log: WriteAheadLog | None = None,
    owner: str = "",
    authorize: Authorize | None = None,
    lifetimes: Lifetimes | None = None,
    push: PushSender,
    pnl_writes: SampleWrites,
    pacing: BrokerPacing,
    market_data: MarketDataCache,
    recorder: Recorder | None = None,
) -> UserStreamManager:
    """A manager for a user's enabled links, publishing every frame through `publish`;
    it and its links' connections count in `lifetimes`, its listeners wake the process's
    `push` sender and gather their P&L samples in `pnl_writes`, its links pace and cache
    their market data in `pacing` and `market_data`, and its links' reports are recorded by
    `recorder` (the process's node hands its parts in: streaming/node.py; runtime/heap.py)."""
    loaded = await database_sync_to_async(_load_links)(user_id)
    watchlist = await database_sync_to_async(_load_watchlist)(user_id)
    config = stream_config()
    record = database_sync_to_async(_record_link_state)

    async def on_link_state(link_id: int, state: str, reason: str) -> None:
        await record(link_id, state, reason)

    # the features run beside the stream: price alerts, market metrics, portfolio limits,
    # P&L sampling, and news if a link brings it
    listeners: list[StreamListener] = [
        AlertRunner(AlertStore(user_id, push)),
        MetricsRunner(refresh=settings.RISK_METRICS_REFRESH),
        LimitRunner(LimitStore(user_id, push), settings.RISK_LIMITS_INTERVAL),
        PnlSampler.for_user(user_id, pnl_writes),
        OrderPushes(user_id, push),  # fills and rejections, pushed to the user's devices
        WorkingOrdersMark(user_id),  # a working order keeps the stream watched
    ]
    news = make_news_feed(loaded)
    if news is not None:
        listeners.append(news)

    return UserStreamManager(
        user_id,
        links=[
            (info, make_adapter(info, spec, config, lifetimes, pacing, market_data))
            for info, spec in loaded
        ],
        publish=publish,
        flush_interval=settings.STREAM_FLUSH_INTERVAL,
        on_link_state=on_link_state,
        quote_batch=quote_batch,
        event_log=event_log,
        owner=owner,
        authorize=authorize,
        watchlist=watchlist,
        quote_waits=quote_waits(),
        listeners=listeners,
        lifetimes=lifetimes,
        recording=recorder.for_user(user_id) if recorder is not None else None,
    )
