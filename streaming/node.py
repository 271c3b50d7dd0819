"""What one process shares, in one object built at the composition root.

A process (a daphne server, a stream worker, a test) builds one `Node` (`Node.build`): the
agents of its users' streams, the tabs' heartbeat and pacing, the news hub, the push
sender, the heap's lifetimes… Nothing else in the app keeps process state in a module: a
part reaches what it needs by construction (an owner is handed its parts), through the
ASGI scope (`scope["node"]`, put there by `NodeScope`) or through the request
(`request.node`, put there by `node_middleware`). A test builds its own node
(tests/conftest.py), so no test resets a module (Zulip's explicit state, NautilusTrader's
kernel handing one clock and one message bus to every component).

Django builds the process's node when the app is ready (streaming/apps.py); the ASGI entry
and the `stream_workers` command take it from there (`current`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction
from django.apps import apps
from django.utils.decorators import sync_and_async_middleware

from streaming.brokers.market_data_cache import MarketDataCache
from streaming.brokers.rate_limit import BrokerPacing
from streaming.cluster.agents import Agents
from streaming.news.hub import NewsHub
from streaming.push.sender import PushSender
from streaming.risk.pnl.store import SampleWrites
from streaming.runtime.heap import FreezingCollector, Lifetimes, install_freezing_collector
from streaming.stream.recording import Recorder
from streaming.tabs.adaptive_flush import AdaptiveFlusher
from streaming.tabs.heartbeat import Heartbeat
from streaming.tabs.slow_client import TakenWatch

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from django.http import HttpRequest, HttpResponse

    from streaming.stream.manager import UserStreamManager
    from streaming.trading.owner import OrderDesk


def _order_desk() -> OrderDesk:
    from streaming.trading.owner import OrderDesk  # the trading models load with the apps

    return OrderDesk()


@dataclass
class Node:
    """A process's shared parts, each built once per process (or per test)."""

    #: The process's part in the cluster's user streams (its relay and the owner's
    #: handlers of the features' questions are the agents' own).
    agents: Agents = field(default_factory=Agents)
    #: The tabs' heartbeat, the watch on what sockets have taken, the adaptive flush.
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    taken_watch: TakenWatch = field(default_factory=TakenWatch)
    flusher: AdaptiveFlusher = field(default_factory=AdaptiveFlusher)
    #: The news SSE streams' hub.
    news: NewsHub = field(default_factory=NewsHub)
    #: Web Push's sender (the outbox's reader).
    push: PushSender = field(default_factory=PushSender)
    #: The brokers' pacing windows and the market data cache's fetches in flight (the
    #: links' market data calls: chains, candle history).
    pacing: BrokerPacing = field(default_factory=BrokerPacing)
    market_data: MarketDataCache = field(default_factory=MarketDataCache)
    #: The P&L samplers' writes, gathered into one statement per grid time.
    pnl_writes: SampleWrites = field(default_factory=SampleWrites)
    #: What the users' streams report, recorded by day (`STREAM_RECORD_DIR`).
    recorder: Recorder = field(default_factory=Recorder.from_settings)
    #: The owner's order entry: what it places at most once per ticket.
    orders: OrderDesk = field(default_factory=_order_desk)
    #: How long the server's long-lived objects live (the freezing collector's counts).
    lifetimes: Lifetimes = field(default_factory=Lifetimes)
    #: A server process's collector (`freeze_heap`), counting `lifetimes`.
    collector: FreezingCollector | None = None

    @classmethod
    def build(cls) -> Node:
        """A new node with every part handed what it needs from the features (the cluster
        imports no feature: the composition root hands them in)."""
        node = cls()
        node.hand_in()
        return node

    def hand_in(self) -> None:
        """The cluster builds managers with wiring's factory (the lease loop never imports
        wiring), and the owner answers the features' questions with their handlers."""
        from streaming.candles.owner import answer_history
        from streaming.chains.owner import answer_chain
        from streaming.contract.layer import ToOwner
        from streaming.risk.limits.owner import answer_limits_changed
        from streaming.risk.pnl.owner import answer_balance_history
        from streaming.watched import watched

        self.agents.configure(
            build_manager=self.manager_factory(),
            on_start=(self.push.kick,),
            watched=watched,
        )
        handlers = self.agents.owner_handlers
        handlers.register(ToOwner.CHAIN_REQUEST, answer_chain)
        handlers.register(ToOwner.CANDLES_REQUEST, answer_history)
        handlers.register(ToOwner.LIMITS_CHANGED, answer_limits_changed)
        handlers.register(ToOwner.PNL_HISTORY_REQUEST, answer_balance_history)
        handlers.register(ToOwner.ORDER_REQUEST, self.orders.answer)

    def manager_factory(self) -> functools.partial[Coroutine[Any, Any, UserStreamManager]]:
        """Wiring's manager factory with this node's parts bound: the agents build every
        user's manager with it (the `stream_test` command, one)."""
        from streaming.wiring import build_manager

        return functools.partial(
            build_manager,
            lifetimes=self.lifetimes,
            push=self.push,
            pnl_writes=self.pnl_writes,
            pacing=self.pacing,
            market_data=self.market_data,
            recorder=self.recorder,
        )

    def freeze_heap(self) -> None:
        """A server process's full collections skip what survived the last one, counting
        this node's `lifetimes` (streaming/runtime/heap.py); once."""
        if self.collector is None:
            self.collector = install_freezing_collector(self.lifetimes)


def current() -> Node:
    """This process's node (built when Django's apps were ready: streaming/apps.py). Only
    the composition root asks: the ASGI entry, the commands, the middleware below."""
    node: Node = apps.get_app_config("streaming").node  # type: ignore[attr-defined]
    return node


class NodeScope:
    """ASGI middleware: every connection's scope carries the process's node."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = {**scope, "node": current()}
        return await self.app(scope, receive, send)


@sync_and_async_middleware
def node_middleware(get_response: Any) -> Any:
    """Django middleware: every request carries the process's node (`request.node`);
    async under daphne, so a request never hops to a thread for it."""
    if iscoroutinefunction(get_response):

        async def attach_async(request: HttpRequest) -> HttpResponse:
            request.node = current()  # type: ignore[attr-defined]
            response: HttpResponse = await get_response(request)
            return response

        return attach_async

    def attach(request: HttpRequest) -> HttpResponse:
        request.node = current()  # type: ignore[attr-defined]
        response: HttpResponse = get_response(request)
        return response

    return attach
