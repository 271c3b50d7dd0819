"""The demo's holdings at a sandbox (`--demo-holdings`: bitcoin at tastytrade and Alpaca, an
/ES call, equity options, brackets and stops), for the tests that act on every instrument a
real account holds, and each broker's own client reading an order back — none of the
app's code on the way back: tastytrade's SDK, alpaca-py's Broker API client (the demo's
Alpaca link is a Broker API key) and Tradier's documented REST API over httpx (Tradier has
no Python client)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from alpaca.broker import BrokerClient
from alpaca.trading.requests import GetOrderByIdRequest
from tastytrade import Account, Session

from accounts.services import DEMO_LINKS
from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.live import ALPACA_HEARTBEAT

SECRETS = {broker: secrets for broker, _, secrets in DEMO_LINKS}


@contextmanager
def holdings_sandbox(tick_rate: float = 10) -> Iterator[SandboxServer]:
    """A sandbox whose demo accounts hold what real accounts hold, placing no demo orders
    of its own (`tick_rate`: a browser's modules tick slower, for the cores' sake)."""
    config = SandboxConfig(
        tick_rate=tick_rate,
        alpaca_heartbeat_interval=ALPACA_HEARTBEAT,
        demo_order_interval=0,
        demo_holdings=True,
    )
    with SandboxServer(config) as sandbox:
        yield sandbox


def tastytrade_order(sandbox: SandboxServer, account: str, order_id: str) -> Any:
    """The order as tastytrade's own SDK reads it from the broker (today's orders)."""
    secrets = SECRETS["tastytrade"]
    session = Session(secrets["provider_secret"], secrets["refresh_token"])
    session._client.base_url = sandbox.url
    orders = asyncio.run(Account.model_construct(account_number=account).get_live_orders(session))
    (order,) = [o for o in orders if str(o.id) == str(order_id)]
    return order


def alpaca_order(sandbox: SandboxServer, account: str, order_id: str) -> Any:
    """The order as alpaca-py's Broker API client reads it from the broker."""
    secrets = SECRETS["alpaca"]
    client = BrokerClient(
        secrets["key_id"], secrets["secret_key"], sandbox=True, url_override=f"{sandbox.url}/alpaca"
    )
    (account_id,) = [a.id for a in client.list_accounts() if a.account_number == account]
    return client.get_order_for_account_by_id(
        account_id, order_id, GetOrderByIdRequest(nested=False)
    )


def tradier_order(sandbox: SandboxServer, account: str, order_id: str) -> dict[str, Any]:
    """The order as Tradier's documented REST API says it."""
    token = SECRETS["tradier"]["access_token"]
    with httpx.Client(
        base_url=f"{sandbox.url}/tradier",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    ) as tradier:
        return tradier.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]
