"""Order entry: confirm → the broker's acknowledgement → the `Live` frame, and fill → the
`Filled` frame, at each broker's sandbox.

    python -m bench.orders
    python -m bench.orders --orders 30 --pace 10

The sandbox (this process's thread) and one daphne (tests/support/live.py: SQLite, the
in-memory layer) on free loopback ports; the demo trader logged in with trading turned
on (staff's switch on every link, the user's second factor just passed), one tab's
socket open. Per broker, `--orders` times:

- a limit buy of 1 SPY far below the bid (it stays working): preview, then confirm;
  timed at the client: **confirm → ack** (the confirm's answer, which comes after the
  broker acknowledged), **confirm → the order's first frame** (Received or Live on the
  socket) and **ack → that frame** (0 when the frame came first), then it is cancelled;
- a market buy of 1 SPY: **fill → Filled frame**, from the fill's time as the sandbox
  stamped it (`fills[].at`, this machine's clock) to the frame's arrival;
- that share protected by an OCO (a take-profit far above, a stop-loss below the bid):
  **ack → the group's first frame** (linked orders), then SPY is moved below the stop at
  the sandbox: **stop triggered → its Filled frame** (the trigger is the step that fills
  it: `fills[].at`) and **→ the take-profit's Cancelled frame**; SPY is put back.

Everything is on loopback, so the client-side ack → frame is the server's
acknowledgement-to-frame time plus a loopback hop. Prints markdown rows for
docs/performance.md ("Order entry"). Bounded; stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import websockets

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.live import ALPACA_HEARTBEAT, DEMO_USER, LiveApp, read_json
from tests.support.wait import poll_until

GOAL_ACK_TO_FRAME_MS = 150.0
#: A triggered stop on the page, where the broker pushes orders (tastytrade, Alpaca).
GOAL_TRIGGER_TO_PAGE_MS = 500.0
#: Tradier has no order push: its orders are polled (STREAM_ORDER_POLL_INTERVAL, 2 s).
TRADIER_POLL_S = 2.0
WORKING = {"Received", "Routed", "Live", "Partially Filled"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Socket:
    """One tab's socket in a thread: the arrival time of every order frame, by order id."""

    def __init__(self, app: LiveApp, cookie: str) -> None:
        self.app, self.cookie = app, cookie
        self.seen: dict[tuple[int, str, str], float] = {}  # (link, order id, status) → time
        self.fills: dict[tuple[int, str], list[dict[str, Any]]] = {}
        #: A linked order's members by (link, group id): role → order id.
        self.groups: dict[tuple[int, str], dict[str, str]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()

    async def _run(self) -> None:
        headers = {"Cookie": self.cookie, "Origin": self.app.url}
        async with websockets.connect(self.app.ws_url, additional_headers=headers) as ws:
            while not self.stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                except websockets.ConnectionClosed:
                    return  # the app stopped
                now = time.time()
                frame = json.loads(raw)
                for f in frame if isinstance(frame, list) else [frame]:
                    if f.get("type") == "order":
                        self._order(f["link"], f["order"], now)
                    elif f.get("type") == "snapshot":
                        for order in f.get("orders", []):
                            self._order(order["link"], order, now)

    def _order(self, link: int, order: dict[str, Any], now: float) -> None:
        key = (int(link), str(order["id"]), order["status"])
        with self.lock:
            self.seen.setdefault(key, now)
            self.fills[(int(link), str(order["id"]))] = [
                fill for leg in order.get("legs", []) for fill in leg.get("fills", [])
            ]
            if order.get("group"):
                members = self.groups.setdefault((int(link), order["group"]["id"]), {})
                members[order["group"]["role"]] = str(order["id"])

    def _first(self, link: int, order_ids: set[str], statuses: set[str] | None) -> float | None:
        """When the first frame of any of the orders (in one of `statuses`) arrived."""
        with self.lock:
            times = [
                t
                for (lk, oid, status), t in self.seen.items()
                if lk == link and oid in order_ids and (statuses is None or status in statuses)
            ]
        return min(times) if times else None

    def wait(self, link: int, order_id: str, statuses: set[str], within: float) -> float:
        return poll_until(
            lambda: self._first(link, {order_id}, statuses),
            within,
            f"a {statuses} frame for order {order_id}",
        )

    def members(self, link: int, group_id: str, within: float) -> dict[str, str]:
        """The group's take-profit and stop-loss order ids, once both were seen."""

        def both() -> dict[str, str] | None:
            with self.lock:
                found = dict(self.groups.get((link, group_id), {}))
            return found if {"take_profit", "stop_loss"} <= found.keys() else None

        return poll_until(both, within, f"both exits of group {group_id}")

    def first_of(self, link: int, order_ids: list[str], within: float) -> float:
        """When the first frame of any of the orders arrived."""
        return poll_until(
            lambda: self._first(link, set(order_ids), None), within, f"a frame of {order_ids}"
        )


def post(client: httpx.Client, app: LiveApp, path: str, body: Any, **headers: str) -> Any:
    response = client.post(
        path,
        json=body,
        headers={"X-CSRFToken": client.cookies["csrftoken"], "Origin": app.url, **headers},
    )
    if response.status_code >= 300:
        raise SystemExit(f"{path}: {response.status_code} {response.text}")
    return response.json()


def place(client: httpx.Client, app: LiveApp, order: dict[str, Any]) -> tuple[dict, float, float]:
    """Preview then confirm `order`: (the ticket, confirm sent, answer received)."""
    preview = post(client, app, "/api/orders/preview", order)["preview"]
    sent = time.time()
    ticket = post(
        client,
        app,
        "/api/orders",
        {"preview_id": preview["id"]},
        **{"Idempotency-Key": str(uuid.uuid4())},
    )["ticket"]
    return ticket, sent, time.time()


def cents(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def protect_and_trigger(
    client: httpx.Client,
    app: LiveApp,
    sandbox: SandboxServer,
    socket: Socket,
    link: dict[str, Any],
    account: str,
    out: dict[str, list[float]],
) -> None:
    """The share just bought, protected by an OCO; SPY moved through its stop at the
    sandbox (and put back): ack → the group's first frame, the stop's fill → its Filled
    frame, → the take-profit's Cancelled frame."""
    quote = read_json(client, "/api/snapshot")["quotes"]["SPY"]
    bid, mid = Decimal(str(quote["bid"])), (quote["bid"] + quote["ask"]) / 2
    exit_ = {"legs": [{"symbol": "SPY", "action": "Sell to Close", "quantity": 1}]}
    group = {
        "link": link["link"],
        "account": account,
        "complex": "OCO",
        "trigger": None,
        "orders": [
            {**exit_, "order_type": "Limit", "price": cents(bid * 2), "time_in_force": "GTC"},
            {
                **exit_,
                "order_type": "Stop",
                "stop_price": cents(bid * Decimal("0.9")),
                "time_in_force": "GTC",
            },
        ],
    }
    ticket, _, acked = place(client, app, group)
    members = socket.members(link["link"], str(ticket["order_id"]), within=20)
    first = socket.first_of(link["link"], list(members.values()), within=10)
    out["linked_ack_frame"].append(max(0.0, first - acked) * 1000)
    control = sandbox.control()
    try:
        control.set_price("SPY", round(mid * 0.8, 2))
        filled = socket.wait(link["link"], members["stop_loss"], {"Filled"}, within=20)
        cancelled = socket.wait(link["link"], members["take_profit"], {"Cancelled"}, within=20)
    finally:
        control.set_price("SPY", round(mid, 2))
        control.close()
    back_within(client, mid, within=10)
    with socket.lock:
        fills = socket.fills[(link["link"], members["stop_loss"])]
    triggered = max(fill["at"] for fill in fills) / 1000
    out["trigger_frame"].append(max(0.0, filled - triggered) * 1000)
    out["trigger_sibling"].append(max(0.0, cancelled - triggered) * 1000)


def back_within(client: httpx.Client, mid: float, within: float) -> None:
    """Until the app's SPY quote is back near `mid` (a preview made on the moved quote
    would be refused as moved at its confirm: the quote band)."""
    poll_until(
        lambda: abs(read_json(client, "/api/snapshot")["quotes"]["SPY"]["bid"] - mid) < mid * 0.01,
        within,
        f"SPY's quote back near {mid:.2f}",
    )


def bench_broker(
    client: httpx.Client,
    app: LiveApp,
    sandbox: SandboxServer,
    socket: Socket,
    link: dict[str, Any],
    orders: int,
    pace: float,
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        "confirm_ack": [],
        "confirm_frame": [],
        "ack_frame": [],
        "fill_frame": [],
        "linked_ack_frame": [],
        "trigger_frame": [],
        "trigger_sibling": [],
    }
    account = link["accounts"][0]
    for n in range(orders):
        started = time.monotonic()
        print(f"{link['broker']}: order {n + 1}", file=sys.stderr)
        quote = read_json(client, "/api/snapshot")["quotes"].get("SPY") or {}
        low = Decimal(str(quote.get("bid") or 100)) * Decimal("0.8")
        working = {
            "link": link["link"],
            "account": account,
            "legs": [{"symbol": "SPY", "action": "Buy to Open", "quantity": 1}],
            "order_type": "Limit",
            "price": str(low.quantize(Decimal("0.01"))),
            "time_in_force": "Day",
        }
        ticket, sent, acked = place(client, app, working)
        live = socket.wait(link["link"], ticket["order_id"], WORKING, within=10)
        out["confirm_ack"].append((acked - sent) * 1000)
        out["confirm_frame"].append((live - sent) * 1000)
        out["ack_frame"].append(max(0.0, live - acked) * 1000)
        cancel = client.delete(
            f"/api/orders/{ticket['order_id']}",
            params={"link": link["link"]},
            headers={"X-CSRFToken": client.cookies["csrftoken"], "Origin": app.url},
        )
        assert cancel.status_code == 200, cancel.text
        market = {**working, "order_type": "Market", "price": None}
        ticket, _, _ = place(client, app, market)
        filled = socket.wait(link["link"], ticket["order_id"], {"Filled"}, within=20)
        with socket.lock:
            fills = socket.fills[(link["link"], ticket["order_id"])]
        last_fill = max(fill["at"] for fill in fills) / 1000
        out["fill_frame"].append(max(0.0, filled - last_fill) * 1000)
        # the stop sells it back: buying power and positions stay as they were
        protect_and_trigger(client, app, sandbox, socket, link, account, out)
        time.sleep(max(0.0, pace - (time.monotonic() - started)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--brokers", default="tastytrade,tradier,alpaca")
    parser.add_argument(
        "--pace",
        type=float,
        default=10.0,
        help="seconds from one round (3 orders, 1 cancel) to the next: Tradier's rate limits "
        "(60 order calls and 120 reads a minute; previews are order calls, its order polls "
        "reads) are a trader's, not a benchmark's",
    )
    args = parser.parse_args()
    # its orders rest far below the market (they work, never fill): the price guard is not
    # what is measured (docs/streaming-contract.md, "The price guard")
    settings = {
        "TRADING_RATE_PER_MINUTE": "100000",
        "TRADING_MAX_ORDERS_PER_MINUTE": "100000",
        "TRADING_PRICE_WARN": "1000",
    }
    with SandboxServer(
        SandboxConfig(
            tick_rate=10, alpaca_heartbeat_interval=ALPACA_HEARTBEAT, demo_order_interval=0
        )
    ) as sandbox:
        # removed when the bench ends
        scratch = tempfile.TemporaryDirectory(prefix="bench-orders-", ignore_cleanup_errors=True)
        workdir = Path(scratch.name)
        app = LiveApp(sandbox.url, workdir, **settings)
        app.seed_database()
        app.python(  # trading on for the demo trader
            "from django.contrib.auth import get_user_model\n"
            "from tests.support.trading import enable_trading\n"
            f"enable_trading(get_user_model().objects.get(username={DEMO_USER[0]!r}).id)\n",
        )
        app.spawn().wait_started()
        socket = None
        try:
            client = app.login(*DEMO_USER)
            client.get("/")  # the csrftoken cookie
            socket = Socket(app, app.cookie_header(client))
            links = read_json(client, "/api/trading")["trading"]["links"]
            for link in [lk for lk in links if lk["broker"] in args.brokers.split(",")]:
                result = bench_broker(client, app, sandbox, socket, link, args.orders, args.pace)
                ack, frame, fill = result["confirm_ack"], result["ack_frame"], result["fill_frame"]
                print(
                    f"| {link['broker']}: confirm → ack ({args.orders} orders) | "
                    f"p50 {pct(ack, 50):.0f} ms, p99 {pct(ack, 99):.0f} ms | — |"
                )
                print(
                    f"| {link['broker']}: confirm → the order's first frame | "
                    f"p50 {pct(result['confirm_frame'], 50):.0f} ms, "
                    f"p99 {pct(result['confirm_frame'], 99):.0f} ms | — |"
                )
                print(
                    f"| {link['broker']}: ack → the order's first frame | "
                    f"p50 {pct(frame, 50):.0f} ms, p99 {pct(frame, 99):.0f} ms | "
                    f"≤ {GOAL_ACK_TO_FRAME_MS:.0f} ms |"
                )
                print(
                    f"| {link['broker']}: fill → Filled frame | "
                    f"p50 {pct(fill, 50):.0f} ms, p99 {pct(fill, 99):.0f} ms | — |"
                )
                linked = result["linked_ack_frame"]
                print(
                    f"| {link['broker']}: linked (OCO) ack → the group's first frame | "
                    f"p50 {pct(linked, 50):.0f} ms, p99 {pct(linked, 99):.0f} ms | "
                    f"≤ {GOAL_ACK_TO_FRAME_MS:.0f} ms |"
                )
                goal = (
                    GOAL_TRIGGER_TO_PAGE_MS
                    if link["broker"] != "tradier"
                    else TRADIER_POLL_S * 1000 + 200
                )
                for key, what in (
                    ("trigger_frame", "stop triggered → its Filled frame"),
                    ("trigger_sibling", "stop triggered → the sibling's Cancelled frame"),
                ):
                    values = result[key]
                    print(
                        f"| {link['broker']}: {what} | p50 {pct(values, 50):.0f} ms, "
                        f"p99 {pct(values, 99):.0f} ms | ≤ {goal:.0f} ms |"
                    )
            client.close()
        finally:
            if socket is not None:
                socket.stop.set()
            app.stop()


if __name__ == "__main__":
    main()
