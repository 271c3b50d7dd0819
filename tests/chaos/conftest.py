"""The fault suite: two daphne processes, Redis and the sandbox as real processes and
servers, browser-like WebSocket and SSE clients, and one fault at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from tests.support.clients import SseClient, StreamClient, WsClient
from tests.support.cluster import Cluster, running_cluster
from tests.support.live import LiveApp
from tests.support.sdk import SECRET
from tests.support.wait import poll_until

#: The demo trader's tastytrade credential at the sandbox.
DEMO_TT = credential_id("demo-refresh-token")
DEMO_ALPACA = credential_id("DEMOALPACAKEY")
DEMO_TRADIER = credential_id("demo-tradier-token")
#: Three links (tastytrade, Tradier, Alpaca) of two accounts each.
DEMO_ACCOUNT_COUNT = 6
#: A tab is open, so the trader's stream connects every link: a few seconds on a quiet
#: box; the margin is for a loaded 2-core one.
LINKS_WITHIN = 30.0


def accounts_of(control, *credentials: str) -> set[str]:
    """The sandbox accounts behind these credentials (all of a trader's links)."""
    state = control.state()["credentials"]
    return {a for c in credentials for a in state.get(c, {}).get("accounts", [])}


def demo_accounts(control) -> set[str]:
    """The demo trader's accounts the sandbox knows now (some links may not have
    connected yet: `linked_demo_accounts` waits for all of them)."""
    return accounts_of(control, DEMO_TT, DEMO_ALPACA, DEMO_TRADIER)


async def linked_demo_accounts(control) -> set[str]:
    """The demo trader's six accounts, once every demo link has connected at the sandbox
    (it makes a credential's accounts on first use: taken earlier, a link's accounts would
    look foreign to a tab). Call it with a tab open: the tab starts the stream."""
    await asyncio.to_thread(
        poll_until,
        lambda: len(demo_accounts(control)) == DEMO_ACCOUNT_COUNT,
        LINKS_WITHIN,
        "every demo link connected at the sandbox",
    )
    return demo_accounts(control)


@pytest.fixture
def cluster_env() -> dict[str, str]:
    """Extra environment for the daphne processes (a test module may override it)."""
    return {}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=10, alpaca_heartbeat_interval=2, order_step_interval=0.3)


@pytest.fixture
def cluster(tmp_path, sandbox_config, cluster_env) -> Iterator[Cluster]:
    with running_cluster(tmp_path, sandbox_config, **cluster_env) as running:
        yield running


class Tabs:
    """The clients a test opened; stopped at the end of the test."""

    def __init__(self) -> None:
        self.all: list[StreamClient] = []

    async def ws(self, app: LiveApp, cookie: str, name: str = "", **kw: Any) -> WsClient:
        client = WsClient(app.url, cookie, name=name or f"ws-{len(self.all)}", **kw).start()
        self.all.append(client)
        await client.wait_live()
        return client

    async def sse(self, app: LiveApp, cookie: str, name: str = "", **kw: Any) -> SseClient:
        client = SseClient(app.url, cookie, name=name or f"sse-{len(self.all)}", **kw).start()
        self.all.append(client)
        await client.wait_live()
        return client

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.all))


@pytest.fixture
async def tabs() -> Any:
    opened = Tabs()
    yield opened
    await opened.stop()


def add_trader(app: LiveApp, username: str, refresh_token: str | None = None) -> None:
    """Another trader in the shared database, with a verified tastytrade link if asked."""
    link = ""
    if refresh_token:
        link = (
            "from accounts.services import broker_link_create\n"
            "from streaming.links.verify import broker_link_verify\n"
            f"l = broker_link_create(user=u, broker='tastytrade', label='{username}',"
            f" provider_secret='{SECRET}', refresh_token='{refresh_token}')\n"
            "broker_link_verify(link=l)\n"
        )
    app.python(
        "from django.contrib.auth import get_user_model\n"
        f"u = get_user_model().objects.create_user('{username}', password='pw-{username}')\n"
        + link,
    )


def tastytrade_link(app: LiveApp, username: str = "demo") -> int:
    """The id of a trader's tastytrade link."""
    out = app.python(
        "from accounts.models import BrokerLink\n"
        f"print(BrokerLink.objects.get(user__username='{username}', broker='tastytrade').id)",
    )
    return int(out.strip().splitlines()[-1])
