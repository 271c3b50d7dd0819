"""Charts of every kind that streams, end to end on a real daphne and the sandbox with the
demo's holdings (every customer holds bitcoin and an /ES Dec 26 6000 call at tastytrade,
bitcoin at Alpaca as `BTCUSD`): a coin's candles from tastytrade's DXLink, or for a user
with Alpaca only from Alpaca's crypto bars; a future's and a future option's from DXLink
(the option's of its mark). Each answer's newest candle closes within one tick of the
stream's quote at that moment: the market stands still (`tick_rate=0`) and only the
control API moves it. The chart names the instrument the user means, through their
holdings (`BTCUSD` held at Alpaca is the coin), by its display name; a kind none of the
user's links quotes gets a sentence naming the broker that would
(docs/streaming-contract.md, "Candle charts")."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxControl, SandboxServer
from streaming.brokers.alpaca.bars import bar_candle
from streaming.brokers.tastytrade.candles import candle_series, candle_symbol
from streaming.instruments.instrument import parse
from tests.streaming.test_candles import PASSWORD, assert_candles, create_users
from tests.support.live import ALPACA_HEARTBEAT, LiveApp, read_json
from tests.support.wait import poll_until

COIN = "BTC/USD:CXTALP"
FUTURE = "/ESZ26:XCME"
OPTION = "./ESZ26C6000:XCME"
#: One user per link: tastytrade (its DXLink quotes and charts every kind), Alpaca (its
#: crypto data: coins only), Tradier (no coins, no futures).
USERS = {
    "kt": (
        "tastytrade",
        {"provider_secret": "sandbox-provider-secret", "refresh_token": "kinds-tt"},
    ),
    "ka": ("alpaca", {"key_id": "KINDSALPACA", "secret_key": "kinds-alpaca"}),
    "kr": ("tradier", {"access_token": "kinds-tradier"}),
}
#: A page's tab id while it polls (`/api/snapshot?tab=…&symbols=…` subscribes its symbols).
TAB = "kinds-chart-tab"
#: How long the stream may take to show a jump: a flush, and a loaded box.
SEEN_WITHIN = 20


@pytest.fixture(scope="module")
def kinds_sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        tick_rate=0,
        demo_holdings=True,
        demo_order_interval=0,
        alpaca_heartbeat_interval=ALPACA_HEARTBEAT,
    )
    with SandboxServer(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def kinds_app(kinds_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    # the market stands still: a feed quiet for a while is not a dead one here
    app = LiveApp(
        kinds_sandbox.url, tmp_path_factory.mktemp("kinds"), STREAM_WATCHDOG_TIMEOUT="600"
    ).start()
    create_users(app, USERS)
    yield app
    app.stop()


@pytest.fixture(scope="module")
def kinds(kinds_app: LiveApp) -> Iterator[dict[str, httpx.Client]]:
    logged_in = {name: kinds_app.login(name, PASSWORD) for name in USERS}
    for client in logged_in.values():
        client.timeout = httpx.Timeout(20)
    yield logged_in
    for client in logged_in.values():
        client.close()


@pytest.fixture
def market(kinds_sandbox: SandboxServer) -> Iterator[SandboxControl]:
    control = kinds_sandbox.control()
    yield control
    control.close()


def path(symbol: str) -> str:
    """A symbol in a URL's path, as the pages' links write it (`encodeURIComponent`)."""
    return quote(symbol, safe="")


def stream_quote(
    client: httpx.Client, symbol: str, holds, nudge: Callable[[], object] | None = None
) -> dict[str, Any]:
    """The stream's quote of `symbol` once `holds(quote)`; the page's poll subscribes it.
    `nudge`: moves the market again before each look (a coin feed sends nothing on a
    subscription: a jump made before the feed subscribed the coin is never heard of)."""

    def seen() -> dict[str, Any] | None:
        if nudge is not None:
            nudge()
        snapshot = read_json(client, "/api/snapshot", tab=TAB, symbols=symbol)
        found = snapshot["quotes"].get(symbol)
        return found if found and holds(found) else None

    return poll_until(seen, within=SEEN_WITHIN, what=f"the stream's {symbol} quote")


def mid(q: dict[str, Any]) -> float | None:
    bid, ask = q.get("bid"), q.get("ask")
    return None if bid is None or ask is None else (bid + ask) / 2


def priced_after_jump(client: httpx.Client, market: SandboxControl, future: float) -> dict:
    """The future jumps to `future`: the stream's quote of the option on it, priced after
    the jump (an option's quote is timed by its future's: `t` at or after the jump's)."""
    market.set_price(FUTURE, future)
    jumped = stream_quote(client, FUTURE, lambda q: q.get("last") == future)
    return stream_quote(
        client, OPTION, lambda q: mid(q) is not None and q.get("t", 0) >= jumped["t"]
    )


def tick(symbol: str, price: float) -> float:
    instrument = parse(symbol)
    assert instrument is not None
    step = instrument.tick(Decimal(str(price)))
    assert step is not None
    return float(step)


def history(client: httpx.Client, asked: str, tf: str) -> dict[str, Any]:
    """`GET /api/candles/<asked>`: a 200 with candles, named by the contract symbol."""
    r = client.get(f"/api/candles/{path(asked)}", params={"tf": tf})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tf"] == tf
    assert_candles(body, tf)
    return body


@pytest.mark.parametrize(
    ("user", "source", "price", "tf"),
    [("kt", "tastytrade", 97_123.45, "1m"), ("ka", "alpaca", 98_765.43, "5m")],
)
def test_a_coins_candles_are_its_brokers_and_close_at_its_quote(
    kinds, market, user, source, price, tf
):
    """tastytrade: DXLink Candle events of `BTC/USD:CXTALP{=1m}`; Alpaca only: its crypto
    bars. The newest candle closes at the coin's last trade as the stream quotes it (the
    DXLink feed's, or the Alpaca link's coin feed)."""
    client = kinds[user]
    jump = lambda: market.set_price(COIN, price)  # noqa: E731
    now = stream_quote(client, COIN, lambda q: q.get("last") == price, nudge=jump)
    body = history(client, COIN, tf)
    assert (body["symbol"], body["source"], body["price"]) == (COIN, source, "last")
    assert abs(body["candles"][-1]["close"] - now["last"]) <= tick(COIN, price)
    spark = client.get(f"/api/sparklines/{path(COIN)}")
    assert spark.status_code == 200 and spark.json()["source"] == source, spark.text


def test_a_futures_candles_come_from_dxlink_and_close_at_its_quote(kinds, market):
    client = kinds["kt"]
    market.set_price(FUTURE, 6_125.25)
    now = stream_quote(client, FUTURE, lambda q: q.get("last") == 6_125.25)
    body = history(client, FUTURE, "15m")
    assert (body["symbol"], body["source"], body["price"]) == (FUTURE, "tastytrade", "last")
    assert abs(body["candles"][-1]["close"] - now["last"]) <= tick(FUTURE, now["last"])
    # its REST symbol is the same instrument
    assert history(client, "/ESZ6", "15m")["symbol"] == FUTURE


def test_a_future_options_candles_are_of_its_mark_and_close_at_its_quote(kinds, market):
    """The option's quote at tastytrade has no trades (Quote and Greeks): its candles are
    its mark's (`price=mark`), and the newest closes at the quote's bid/ask mid."""
    client = kinds["kt"]
    now = priced_after_jump(client, market, 6_300.0)
    price = mid(now)
    assert price is not None
    body = history(client, OPTION, "5m")
    assert (body["symbol"], body["source"], body["price"]) == (OPTION, "tastytrade", "mark")
    assert abs(body["candles"][-1]["close"] - price) <= tick(OPTION, price)


def chart_page(client: httpx.Client, asked: str) -> tuple[int, str]:
    r = client.get(f"/chart/{asked}")
    return r.status_code, r.text


def attribute(page: str, name: str) -> str:
    found = re.search(rf'data-chart[^>]*\s{name}="([^"]*)"', page, re.S)
    assert found, name
    return html.unescape(found[1])


def test_the_chart_is_of_the_instrument_the_user_holds_named_by_its_display_name(kinds):
    """`BTCUSD` held at Alpaca is the coin (its page and its history), held nowhere a
    ticker; the pages' links (the contract symbol, encoded) open; the title and heading
    are the display name, the note the instrument's hours."""
    status, page = chart_page(kinds["ka"], "BTCUSD")
    assert status == 200
    assert attribute(page, "data-symbol") == COIN
    assert "<title>[SIMULATED] BTC/USD · streamdesk</title>" in page
    assert re.search(r'<h1 id="chart-title">\s*<span class="sym">BTC/USD</span>', page)
    assert "around the clock, every day" in attribute(page, "data-hours-note")
    assert history(kinds["ka"], "BTCUSD", "15m")["symbol"] == COIN
    status, page = chart_page(kinds["kr"], "BTCUSD")
    assert status == 200 and attribute(page, "data-symbol") == "BTCUSD"

    client = kinds["kt"]
    for symbol, display, hours in (
        (COIN, "BTC/USD", "around the clock, every day"),
        (FUTURE, "/ES Dec 26", "Sun-Fri 18:00-17:00 ET"),
        (OPTION, "/ES Dec 26 6000 C", "Sun-Fri 18:00-17:00 ET"),
    ):
        status, page = chart_page(client, path(symbol))
        assert status == 200, page[:400]
        assert attribute(page, "data-symbol") == symbol
        assert f"<title>[SIMULATED] {display} · streamdesk</title>" in page
        assert hours in attribute(page, "data-hours-note")
    sparkline = client.get(f"/api/sparklines/{path(OPTION)}")
    assert sparkline.status_code == 200, sparkline.text


@pytest.mark.parametrize(
    ("user", "symbol", "sentence"),
    [
        ("kr", "/ESZ6", "Futures are quoted by tastytrade: link one to chart /ES Dec 26."),
        (
            "kr",
            OPTION,
            "Future options are quoted by tastytrade: link one to chart /ES Dec 26 6000 C.",
        ),
        ("kr", "BTC/USD", "Coins are quoted by tastytrade and Alpaca: link one to chart BTC/USD."),
        ("ka", "SPY", "Stocks are quoted by tastytrade and Tradier: link one to chart SPY."),
    ],
)
def test_a_kind_none_of_the_links_quotes_is_a_sentence_naming_the_broker(
    kinds, user, symbol, sentence
):
    r = kinds[user].get(f"/api/candles/{path(symbol)}", params={"tf": "5m"})
    assert r.status_code == 409, r.text
    assert r.json() == {"error": "no_market_data", "message": sentence}
    status, page = chart_page(kinds[user], path(symbol))
    assert status == 200
    assert attribute(page, "data-quotes-available") == "false"
    assert attribute(page, "data-no-data") == sentence


# ----------------------------------------------------------------------- pure parts


def test_tastytrade_asks_each_kinds_candles_as_its_chart_shows_them():
    """A stock's regular hours; the whole session of a coin, a future and a future option;
    an option's mark (the SDK writes `{symbol}{={interval}}`, `,tho=true` unless extended)."""
    assert candle_symbol("SPY", "5m") == "SPY{=5m,tho=true}"
    assert candle_symbol(".SPY270115C590", "5m") == ".SPY270115C590{=5m,price=mark,tho=true}"
    assert candle_symbol(COIN, "1h") == "BTC/USD:CXTALP{=1h}"
    assert candle_symbol(FUTURE, "1m") == "/ESZ26:XCME{=1m}"
    assert candle_symbol(OPTION, "15m") == "./ESZ26C6000:XCME{=15m,price=mark}"
    assert candle_series(OPTION, "1d") == ("1d,price=mark", True)


def test_an_alpaca_bar_is_a_contract_candle_in_its_bucket():
    """A day bar starts at midnight Chicago (06:00 UTC in winter): the contract dates it
    00:00 UTC of its New York date; an intraday bar keeps its start; no prices, no candle."""
    day = {"t": "2026-11-27T06:00:00Z", "o": 1.0, "h": 2.0, "l": 0.5, "c": 1.5, "v": 3, "n": 2}
    assert bar_candle(day, "1d") == {
        "t": 1_795_737_600_000,  # 2026-11-27 00:00 UTC
        "open": 1.0,
        "high": 2.0,
        "low": 0.5,
        "close": 1.5,
        "volume": 3,
    }
    minute = {**day, "t": "2026-11-27T14:35:00Z"}
    assert bar_candle(minute, "5m")["t"] == 1_795_790_100_000  # type: ignore[index]
    assert bar_candle({**day, "c": None}, "5m") is None
    assert bar_candle({"o": 1}, "5m") is None
