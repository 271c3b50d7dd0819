"""The dashboard's stream answered by the test: the page is the real one (logged in against
the live app), but its `/ws/stream/` is routed to the test (Playwright's WebSocket routing,
nothing reaches the server) and the SSE and polling fallbacks are refused. The test sends
contract frames (docs/streaming-contract.md) and closes the socket with contract codes.

Times in frames are the browser's clock (`now_ms`), and `hello.server_time` is that clock
too, so the page's skew is ~0 and ages are what the test wrote.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.support.live import DEMO_USER

WS_URL = re.compile(r".*/ws/stream/.*")
FALLBACKS = re.compile(r".*/api/(events|snapshot).*")


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", DEMO_USER[0])
    page.fill("input[name=password]", DEMO_USER[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def wait_until(page: Page, condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Let Playwright deliver events (route handlers run in this thread) until `condition`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(20)  # pumps Playwright's event loop; not a fixed wait


class FakeStream:
    """Accepts the page's sockets; `socket(n)` is the n-th (1-based) one the page opened."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sockets: list[WebSocketRoute] = []
        self.urls: list[str] = []
        self.received: list[list[dict[str, Any]]] = []
        self.closed_at: list[float] = []
        self.opened_at: list[float] = []
        page.route_web_socket(WS_URL, self._accept)
        page.route(FALLBACKS, lambda route: route.abort())

    def _accept(self, ws: WebSocketRoute) -> None:
        messages: list[dict[str, Any]] = []
        ws.on_message(lambda m: messages.append(json.loads(m)) if isinstance(m, str) else None)
        self.sockets.append(ws)
        self.urls.append(ws.url)
        self.received.append(messages)
        self.opened_at.append(time.monotonic())

    def socket(self, n: int) -> WebSocketRoute:
        wait_until(self.page, lambda: len(self.sockets) >= n, f"socket #{n}")
        return self.sockets[n - 1]

    @property
    def ws(self) -> WebSocketRoute:
        return self.sockets[-1]

    def send(self, *frames: dict[str, Any], ws: WebSocketRoute | None = None) -> None:
        for frame in frames:
            (ws or self.ws).send(json.dumps(frame))

    def close(self, code: int, ws: WebSocketRoute | None = None) -> None:
        self.closed_at.append(time.monotonic())
        (ws or self.ws).close(code=code, reason="test")

    def now_ms(self) -> int:
        return int(self.page.evaluate("Date.now()"))

    def state(self) -> dict[str, Any]:
        return self.page.evaluate("window.streamdesk.state()")

    def go_live(self, snap: dict[str, Any], *, n: int | None = None, **hello_extra: Any) -> None:
        """Answer socket `n` (default: the next one) with hello + this snapshot."""
        ws = self.socket(n or len(self.sockets) + 1)
        self.send(hello(self.now_ms(), snap["epoch"], snap["seq"], **hello_extra), snap, ws=ws)
        expect(self.page.locator("#conn-state")).to_have_attribute("data-state", "live")


def open_desk(page: Page, base_url: str, snap: dict[str, Any], **hello_extra: Any) -> FakeStream:
    """Log in with the stream faked, and make the page live on `snap`."""
    fake = FakeStream(page)
    log_in(page, base_url)
    fake.go_live(snap, n=1, **hello_extra)
    return fake


# ---------------------------------------------------------------- frames


def hello(now: int, epoch: str, seq: int, *, stale_quotes_ms: int = 10_000, **extra: Any) -> dict:
    return {
        "type": "hello",
        "user": DEMO_USER[0],
        "epoch": epoch,
        "seq": seq,
        "flush_ms": 150,
        "simulated": True,
        "server_time": now,
        "limits": {
            "max_symbols": 200,
            "max_symbols_per_user": 400,
            "max_symbols_per_message": 50,
            "max_message_bytes": 4096,
            "rate_per_10s": 30,
        },
        "stale_after_ms": {"quotes": stale_quotes_ms},
        **extra,
    }


def kind(state: str, now: int, *, reason: str = "", last_ok: int | None = None) -> dict:
    return {
        "state": state,
        "reason": reason,
        "since": now,
        "last_ok": now if last_ok is None and state == "live" else last_ok,
    }


def link(
    link_id: int,
    now: int,
    *,
    quotes: str = "live",
    account: str = "live",
    label: str | None = None,
    broker: str = "tastytrade",
    quote_source: bool | None = None,
    delayed: bool = False,
    account_last_ok: int | None = None,
    account_reason: str = "",
) -> dict:
    kinds = {
        "quotes": kind(quotes, now),
        "account": kind(account, now, last_ok=account_last_ok, reason=account_reason),
    }
    in_use = [k for k in kinds.values() if k["state"] != "idle"]
    order = ["error", "reconnecting", "stale", "connecting", "live", "stopped"]
    state = min((k["state"] for k in in_use), key=order.index, default="stopped")
    return {
        "id": link_id,
        "broker": broker,
        "label": label or f"{broker} test link {link_id}",
        "state": state,
        "reason": "",
        "since": now,
        "kinds": kinds,
        "quote_source": quotes != "idle" if quote_source is None else quote_source,
        "delayed": delayed,
        "delay_ms": 900_000 if delayed else None,
        "last_event_age_ms": 100,
        "reconnects": 0,
        "token_expires_at": None,
        "retry_in": None,
        "simulated": True,
    }


def balance(net_liq: float, **extra: Any) -> dict:
    return {
        "net_liquidating_value": net_liq,
        "buying_power": 50_000.0,
        "equity_buying_power": 50_000.0,
        "derivative_buying_power": 25_000.0,
        "cash": 10_000.0,
        "cash_available_to_withdraw": 10_000.0,
        "maintenance_requirement": 1_000.0,
        "updated_at": None,
        **extra,
    }


def position(symbol: str, quantity: float, avg: float, close: float, **extra: Any) -> dict:
    return {
        "symbol": symbol,
        "streamer_symbol": symbol,
        "underlying": symbol,
        "instrument_type": "Equity",
        "quantity": quantity,
        "direction": "Long",
        "average_open_price": avg,
        "close_price": close,
        "mark_price": close,
        "multiplier": 1,
        "cost_effect": "Debit",
        "realized_day_gain": 0,
        "expires_at": None,
        **extra,
    }


def account(number: str, link_id: int, net_liq: float = 100_000.0, positions=()) -> dict:
    return {
        "number": number,
        "link": link_id,
        "broker": "tastytrade",
        "label": f"test link {link_id}",
        "simulated": True,
        "balance": balance(net_liq),
        "positions": list(positions),
    }


def quote(t: int, bid: float, ask: float, *, delayed: bool = False, **extra: Any) -> dict:
    q = {
        "bid": bid,
        "ask": ask,
        "last": (bid + ask) / 2,
        "bid_size": 1,
        "ask_size": 1,
        "change": 0.5,
        "volume": 1000,
        "day_high": None,
        "day_low": None,
        "prev_close": None,
        "t": t,
        **extra,
    }
    if delayed:
        q["delayed"] = True
    return q


def snapshot(
    now: int,
    *,
    epoch: str = "E1",
    seq: int = 5,
    accounts=(),
    quotes: dict | None = None,
    links=(),
    orders=(),
    watchlist: list[str] | None = None,
    version: int = 1,
) -> dict:
    symbols = list(watchlist if watchlist is not None else ["SPY", "QQQ"])
    return {
        "type": "snapshot",
        "epoch": epoch,
        "seq": seq,
        "simulated": True,
        "accounts": list(accounts),
        "quotes": quotes or {},
        "greeks": {},
        "orders": list(orders),
        "links": list(links),
        "watchlist": {"symbols": symbols, "version": version},
        "subscriptions": symbols,
        "t": now,
    }


def account_frame(kind_: str, epoch: str, seq: int, number: str, link_id: int, body, t: int):
    key = {"balance": "balance", "positions": "positions", "position": "position"}.get(
        kind_, "order"
    )
    return {
        "type": kind_,
        "epoch": epoch,
        "seq": seq,
        "account": number,
        "link": link_id,
        key: body,
        "t": t,
        "simulated": True,
    }
