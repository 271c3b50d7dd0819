"""Trading over real HTTP against a live daphne (tests/e2e, tests/cluster): the demo
trader's session with its CSRF token and Origin, trading turned on in the app's own
database, and the order endpoints' calls."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.live import DEMO_USER, LiveApp, read_json
from tests.support.wait import poll_until

#: The price guard (docs/streaming-contract.md, "The price guard") at a distance no test
#: order reaches, for the modules whose orders rest far from the market on purpose (a buy
#: of AAPL at 1.00 works and never fills) and whose subject is not the guard. The guard at
#: the production threshold: tests/e2e/test_instrument_orders.py (every broker, the second
#: confirm and a stale quote), tests/streaming/test_trading_tickets.py.
ORDERS_REST_FAR = {"TRADING_PRICE_WARN": "1000"}

#: What an order frame says of an order the broker took and that works now.
WORKING = frozenset({"Received", "Routed", "Live", "In Flight", "Contingent"})


def enable_demo_trading(app: LiveApp) -> None:
    """Staff enable every demo link; the demo trader turned trading on just now."""
    app.python(
        "from django.contrib.auth import get_user_model\n"
        "from tests.support.trading import enable_trading\n"
        f"enable_trading(get_user_model().objects.get(username={DEMO_USER[0]!r}).id)\n",
    )


def demo_python(app: LiveApp, statement: str) -> str:
    """A statement about the demo user (`uid` is their id)."""
    return app.python(
        "from django.contrib.auth import get_user_model\n"
        f"uid = get_user_model().objects.get(username={DEMO_USER[0]!r}).id\n" + statement,
    )


class Trader:
    """The demo trader's browser: session cookie, CSRF header and Origin on every write."""

    def __init__(self, app: LiveApp, client: httpx.Client | None = None) -> None:
        self.app = app
        self.client = client or app.login(*DEMO_USER)
        self.client.timeout = httpx.Timeout(60)

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "X-CSRFToken": self.client.cookies.get("csrftoken") or "",
            "Origin": self.app.url,
            **extra,
        }

    def post(self, path: str, body: Any, **extra: str) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(**extra))

    def accounts(self) -> dict[str, dict[str, Any]]:
        """The first account of each broker, as the stream shows it."""
        found: dict[str, dict[str, Any]] = {}
        snapshot = poll_until(
            lambda: (s := read_json(self.client, "/api/snapshot"))["accounts"] and s,
            within=30,
            what="accounts in the snapshot",
        )
        for account in snapshot["accounts"]:
            found.setdefault(account["broker"], account)
        return found

    def order(self, where: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """Buy 1 AAPL in the account `where`, a limit far below the market (it works,
        never fills)."""
        body: dict[str, Any] = {
            "link": where["link"],
            "account": where["number"],
            "legs": [{"symbol": "AAPL", "action": "Buy to Open", "quantity": 1}],
            "order_type": "Limit",
            "price": "1.00",
            "time_in_force": "Day",
        }
        body.update(changes)
        return body

    def preview(self, order: dict[str, Any]) -> httpx.Response:
        return self.post("/api/orders/preview", order)

    def confirm(self, preview_id: str, key: str | None = None) -> httpx.Response:
        return self.post(
            "/api/orders",
            {"preview_id": preview_id},
            **{"Idempotency-Key": key or uuid.uuid4().hex},
        )

    def place(self, order: dict[str, Any]) -> dict[str, Any]:
        """Preview and confirm: the placed ticket."""
        preview = self.preview(order)
        assert preview.status_code == 200, preview.text
        confirmed = self.confirm(preview.json()["preview"]["id"])
        assert confirmed.status_code == 201, confirmed.text
        ticket = confirmed.json()["ticket"]
        assert ticket["state"] == "placed" and ticket["order_id"], ticket
        return ticket

    def order_status(self, account: str, order_id: str) -> str | None:
        """The order's status in the stream's list (None: not there yet)."""
        page = read_json(self.client, "/api/orders", account=account, limit="200")
        for order in page["orders"]:
            if str(order["id"]) == str(order_id):
                return str(order["status"])
        return None

    def wait_status(self, account: str, order_id: str, statuses: frozenset[str]) -> str:
        return poll_until(
            lambda: (s := self.order_status(account, order_id)) in statuses and s,
            within=30,
            what=f"order {order_id} in {sorted(statuses)}",
        )
