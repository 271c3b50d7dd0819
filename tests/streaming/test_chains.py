"""Option chains: the query rules, the strike window and the page's text (pure); the
shared cache's single flight and the pacing window (in memory and in Redis); and
`/api/chain/...` end to end at a real daphne against the sandbox — tastytrade via the
SDK, Tradier over httpx, Alpaca's "no quotes", bad input and a rate-limiting broker.
(The cross-process fetch count: tests/cluster/test_chain_fetches.py; the page in a real
browser: tests/browser/test_chain.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import json
import math
import re
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.core.cache import caches
from django.test import override_settings

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxControl, SandboxServer
from streaming.brokers import market_data_cache as chain_cache
from streaming.brokers.market_data_cache import FetchFailed, MarketDataCache
from streaming.brokers.rate_limit import BrokerPacing, PacingTimeout
from streaming.chains.service import (
    cell_text,
    clean_expiration,
    clean_strikes,
    clean_symbol,
    side_values,
    strike_text,
    window,
)
from tests.support.chains import chain_requests, chain_users
from tests.support.live import ALPACA_HEARTBEAT, DEMO_USER, LiveApp

ROWS = [{"strike": float(k)} for k in range(90, 111)]  # 90 … 110


# ----------------------------------------------------------------------- pure rules


def test_the_window_is_centred_on_the_strike_nearest_the_price():
    """ATM = the nearest strike (ties to the lower); half the window below it, half from
    it up; shifted in at the ends of the grid; the middle without a price."""
    rows, atm = window(ROWS, 100.4, 10)
    assert atm == 100 and [r["strike"] for r in rows] == list(range(95, 105))
    assert window(ROWS, 100.5, 4)[1] == 100  # a tie goes to the lower strike
    assert window(ROWS, 100.6, 4)[1] == 101
    rows, atm = window(ROWS, 91, 10)
    assert atm == 91 and [r["strike"] for r in rows] == list(range(90, 100))
    rows, atm = window(ROWS, 500, 10)
    assert atm == 110 and [r["strike"] for r in rows] == list(range(101, 111))
    rows, atm = window(ROWS, None, 40)
    assert atm == 100 and len(rows) == 21
    assert window([], 100, 10) == ([], None)


def test_query_rules_refuse_bad_input_with_a_message():
    """A symbol must be a ticker; strikes one of 10/20/40; an expiration a real date."""
    assert clean_symbol("spy") == "SPY" and clean_symbol("BRK.A") == "BRK.A"
    for bad in ("", "NOT A SYMBOL", ".SPY260116C600", "/ESZ26", "ÅPL"):
        with pytest.raises(FetchFailed) as err:
            clean_symbol(bad)
        assert err.value.status == 400 and err.value.code == "bad_symbol"
    assert clean_strikes(None) == 20 and clean_strikes("40") == 40
    for bad in ("15", "0", "-10", "abc", "1e1"):
        with pytest.raises(FetchFailed) as err:
            clean_strikes(bad)
        assert err.value.code == "bad_strikes"
        assert err.value.message == f"strikes must be one of 10, 20, 40 (got {bad!r})"
    assert clean_expiration(None) is None and clean_expiration("2026-12-18") == "2026-12-18"
    for bad in ("2026-02-30", "20261218", "tomorrow", "2026-1-8"):
        with pytest.raises(FetchFailed) as err:
            clean_expiration(bad)
        assert err.value.code == "bad_expiration"


def test_cells_are_written_like_the_browser_writes_them():
    """Prices 2 decimals, IV in % (1 decimal), volume and OI whole, greeks 3-4; null "—"
    (tests/js/chain.test.mjs checks chain.js against the same cases)."""
    assert [cell_text("bid", 1.5), cell_text("mark", None), cell_text("iv", 0.2345)] == [
        "1.50",
        "—",
        "23.4%",
    ]
    assert cell_text("volume", 12345) == "12,345" and cell_text("open_interest", 0) == "0"
    assert cell_text("delta", 0.51234) == "0.512" and cell_text("gamma", 0.012345) == "0.0123"
    assert cell_text("theta", -0.0456) == "-0.046" and cell_text("vega", 0.1) == "0.100"
    assert [strike_text(590.0), strike_text(2.5), strike_text(12.75)] == ["590", "2.5", "12.75"]


def test_stream_values_override_the_brokers_only_when_newer():
    """The chain's own values first, then the stream's quote; greeks only if not older."""
    side = {"symbol": ".X", "occ": "X", "bid": 1.0, "ask": 1.2, "iv": 0.3, "greeks_t": 2000}
    out = side_values(side, {"bid": 1.1, "t": 5}, {"iv": 0.25, "delta": 0.4, "t": 1000})
    assert (out["bid"], out["ask"], out["mark"], out["quote_t"]) == (1.1, 1.2, 1.15, 5)
    assert out["iv"] == 0.3 and out["delta"] is None and out["greeks_t"] == 2000
    newer = side_values(side, None, {"iv": 0.25, "delta": 0.4, "t": 3000})
    assert (newer["iv"], newer["delta"], newer["greeks_t"]) == (0.25, 0.4, 3000)
    assert side_values({"symbol": ".X", "occ": "X"}, None, None)["mark"] is None


# ----------------------------------------------------------------------- cache and pacing


@pytest.fixture
def redis_cache(redis_server) -> Iterator[None]:
    """Django's cache and the pacing windows in the test session's Redis."""
    location = redis_server.url
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    with override_settings(CACHES={"default": backend}, REDIS_URL=location):
        caches["default"].clear()
        yield
        caches["default"].clear()


async def count_fetches(
    cache: MarketDataCache, key: str, n: int, ttl: float = 30
) -> tuple[list, int]:
    calls = 0

    async def fetch():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return {"rows": calls}

    results = await asyncio.gather(*(cache.cached(key, fetch, ttl=ttl) for _ in range(n)))
    return results, calls


async def test_many_concurrent_misses_fetch_once_then_the_ttl_refetches(redis_cache):
    """20 concurrent opens of one key: one fetch, everyone the same value and time; after
    the TTL exactly one more."""
    key = chain_cache.cache_key("test", "env", f"K{time.monotonic_ns()}", "2026-12-18")
    process = MarketDataCache()
    results, calls = await count_fetches(process, key, 20, ttl=1)
    assert calls == 1 and len({(r[0]["rows"], r[1]) for r in results}) == 1
    results, calls = await count_fetches(process, key, 5, ttl=1)
    assert calls == 0  # cached
    await asyncio.sleep(1.2)
    results, calls = await count_fetches(process, key, 20, ttl=1)
    assert calls == 1


async def test_a_fetch_elsewhere_is_awaited_not_repeated(redis_cache):
    """Another process holds the lock (the cache `add`): this one waits for its value
    and never calls the broker."""
    key = chain_cache.cache_key("test", "env", f"L{time.monotonic_ns()}")
    cache = caches["default"]
    assert await cache.aadd(key + ":lock", "other-process", timeout=20)

    async def elsewhere():
        await asyncio.sleep(0.3)
        await cache.aset(key, {"value": "theirs", "at": 7}, timeout=30)
        await cache.adelete(key + ":lock")

    async def never():
        raise AssertionError("fetched twice")

    task = asyncio.create_task(elsewhere())
    assert await MarketDataCache().cached(key, never, ttl=30) == ("theirs", 7)
    await task


async def test_a_value_stored_between_the_check_and_the_lock_is_not_fetched_again(
    redis_cache, monkeypatch
):
    """Another process stores the value and releases its lock between this one's cache
    check and its lock `add` (seen in CI as two `fetched_at` in one burst): taking the
    lock, this process finds the value and does not call the broker."""
    key = chain_cache.cache_key("test", "env", f"R{time.monotonic_ns()}")
    cache = caches["default"]
    real_add = chain_cache._add

    async def add_after_the_other_process_finished(k, value, **options):
        if k == key + ":lock":
            await cache.aset(key, {"value": "theirs", "at": 7}, timeout=30)
        return await real_add(k, value, **options)

    async def never():
        raise AssertionError("fetched twice")

    monkeypatch.setattr(chain_cache, "_add", add_after_the_other_process_finished)
    assert await MarketDataCache().cached(key, never, ttl=30) == ("theirs", 7)
    assert await cache.aget(key + ":lock") is None  # and its lock is released


async def test_a_failed_fetch_is_shared_briefly(redis_cache):
    """A rate-limited fetch: everyone waiting gets the same answer, nobody retries the
    broker at once."""
    key = chain_cache.cache_key("test", "env", f"E{time.monotonic_ns()}")
    calls = 0

    async def fetch():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.1)
        raise FetchFailed("rate_limited", "rate-limited", 429, 3)

    process = MarketDataCache()
    results = await asyncio.gather(
        *(process.cached(key, fetch, ttl=30) for _ in range(5)), return_exceptions=True
    )
    again = await asyncio.gather(process.cached(key, fetch, ttl=30), return_exceptions=True)
    assert calls == 1
    assert all(isinstance(r, FetchFailed) and r.retry_in == 3 for r in results + again)


async def test_pacing_holds_calls_under_the_limit_in_memory():
    """Three a minute: the fourth call waits past its deadline and says when to retry."""
    pacing = BrokerPacing()
    bucket = f"mem-{time.monotonic_ns()}"
    with override_settings(REDIS_URL=""):
        for _ in range(3):
            await pacing.acquire(bucket, 3, deadline=time.monotonic() + 1)
        with pytest.raises(PacingTimeout) as err:
            await pacing.acquire(bucket, 3, deadline=time.monotonic() + 1)
    assert 59 < err.value.retry_in <= 60


async def test_pacing_in_redis_is_one_window_for_every_process(redis_cache):
    """The window lives in Redis: calls counted by one process count for all (three
    processes' pacings here, each with its own memory)."""
    bucket = f"redis-{time.monotonic_ns()}"
    first, second, third = BrokerPacing(), BrokerPacing(), BrokerPacing()
    await first.acquire(bucket, 2, deadline=time.monotonic() + 1)
    await second.acquire(bucket, 2, deadline=time.monotonic() + 1)
    with pytest.raises(PacingTimeout):
        await third.acquire(bucket, 2, deadline=time.monotonic() + 0.5)
    # a window with room again after the oldest call ages out (here: a 1-per-minute bucket
    # of its own is still free)
    await third.acquire(bucket + "-other", 1, deadline=time.monotonic() + 1)


# ----------------------------------------------------------------------- the API, live


@pytest.fixture(scope="module")
def chain_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(
        SandboxConfig(
            tick_rate=4, alpaca_heartbeat_interval=ALPACA_HEARTBEAT, demo_order_interval=0
        )
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def chain_app(chain_sandbox, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(chain_sandbox.url, tmp_path_factory.mktemp("chains")).start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def chain_control(chain_sandbox) -> Iterator[SandboxControl]:
    client = chain_sandbox.control()
    yield client
    client.close()


@pytest.fixture(scope="module")
def users(chain_app) -> dict[str, dict]:
    """One user per broker (the demo user quotes from tastytrade)."""
    return {
        broker: chain_users(chain_app, broker, 1, f"api{broker[:2]}")[0]
        for broker in ("tradier", "alpaca")
    }


@contextlib.contextmanager
def client_for(app: LiveApp, user: dict | None = None) -> Iterator[httpx.Client]:
    """A logged-in client: the demo user (tastytrade quotes) or one of `users`."""
    if user is None:
        client = app.login(*DEMO_USER)
    else:
        client = httpx.Client(base_url=app.url, timeout=20)
        client.cookies.set("sessionid", user["sessionid"])
    with contextlib.closing(client):
        yield client


def assert_chain(body: dict, broker: str, strikes: int) -> None:
    rows = body["rows"]
    assert body["broker"] == broker and body["strikes"] == strikes and len(rows) == strikes
    assert [r["strike"] for r in rows] == sorted(r["strike"] for r in rows)
    assert body["atm_strike"] in [r["strike"] for r in rows]
    atm = min(rows, key=lambda r: (abs(r["strike"] - body["underlying_price"]), r["strike"]))
    assert atm["strike"] == body["atm_strike"]
    assert body["expiration"] == body["expirations"][0]
    yymmdd = dt.date.fromisoformat(body["expiration"]).strftime("%y%m%d")
    for r in rows:
        k = strike_text(r["strike"])
        assert r["call"]["symbol"] == f".{body['underlying']}{yymmdd}C{k}"
        assert r["put"]["symbol"] == f".{body['underlying']}{yymmdd}P{k}"
    assert body["multiplier"] == 100 and body["simulated"] is True


def test_tastytrade_chain_through_the_sdk(chain_app, chain_control):
    """The demo user's quote source is tastytrade: its nested chain (SDK), 20 strikes by
    default around the underlying's price, greeks from the stream; a second open within
    the TTL is served from the cache (no new broker fetch)."""
    with client_for(chain_app) as client:
        expirations = client.get("/api/chain/SPY/expirations").json()
        dates = [e["date"] for e in expirations["expirations"]]
        assert expirations["broker"] == "tastytrade" and len(dates) >= 6 and dates == sorted(dates)
        before = chain_requests(chain_control, "tastytrade")
        body = client.get("/api/chain/SPY").json()
        assert_chain(body, "tastytrade", 20)
        assert body["greeks_source"] == "stream"
        assert body["expirations"] == [e["date"] for e in expirations["expirations"]]
        wide = client.get(f"/api/chain/SPY?expiration={body['expiration']}&strikes=40").json()
        assert_chain(wide, "tastytrade", 40)
        assert chain_requests(chain_control, "tastytrade") == before  # all from the cache
        assert chain_requests(chain_control, "tastytrade", "SPY") == 1


def test_tradier_chain_with_greeks_and_their_age(chain_app, chain_control, users):
    """A Tradier user: the chain of one expiration with greeks=true over httpx; values
    present on every row (bid, ask, mark, IV, delta …) and the greeks' time; the 40
    strikes of a second open come from the same cached fetch."""
    with client_for(chain_app, users["tradier"]) as client:
        body = client.get("/api/chain/QQQ?strikes=10").json()
        key = f"QQQ:{body['expiration']}"
        assert_chain(body, "tradier", 10)
        assert body["greeks_source"] == "chain"
        for r in body["rows"]:
            for side in (r["call"], r["put"]):
                assert side["bid"] is not None and side["ask"] is not None, side
                assert side["mark"] == round((side["bid"] + side["ask"]) / 2, 4)
                assert side["delta"] is not None and side["greeks_t"] > 0, side
                assert side["open_interest"] is not None
        assert chain_requests(chain_control, "tradier", key) == 1
        wide = client.get(f"/api/chain/QQQ?expiration={body['expiration']}&strikes=40").json()
        assert_chain(wide, "tradier", 40)
        assert chain_requests(chain_control, "tradier", key) == 1
        asked = time.time()
        page = client.get("/chain/QQQ?strikes=10").text
    assert_expected_move_painted(page, asked)


def assert_expected_move_painted(page: str, asked: float) -> None:
    """The chain page's expected move is in its first paint (not left to the browser):
    price x IV x sqrt(days/365) of the chain it embeds, the IV the mid of the call's and
    put's at the strike nearest the price, the days to 16:00 New York on the expiration
    from when the page was asked (a second's drift is far below a cent)."""
    chain = json.loads(
        html.unescape(re.search(r'id="chain-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    )
    line = re.search(r"<p [^>]*data-expected-move[^>]*>(.*?)</p>", page, re.S)
    assert line is not None, page[:2000]
    text = html.unescape(line.group(1))
    price = chain["underlying_price"]
    row = min(chain["rows"], key=lambda r: (abs(r["strike"] - price), r["strike"]))
    iv = (row["call"]["iv"] + row["put"]["iv"]) / 2
    close = dt.datetime.combine(
        dt.date.fromisoformat(chain["expiration"]), dt.time(16), ZoneInfo("America/New_York")
    )
    move = price * iv * math.sqrt((close.timestamp() - asked) / 86_400 / 365)
    found = re.fullmatch(
        r"Expected move ±([\d,.]+) \(±([\d.]+)%\) by (\S+): ([\d,.]+) \u2013 ([\d,.]+)", text
    )
    assert found, text
    said = [float(g.replace(",", "")) for g in found.group(1, 2, 4, 5)]
    assert found.group(3) == chain["expiration"]
    exact = (move, move / price * 100, price - move, price + move)
    for shown, value, decimals in zip(said, exact, (2, 1, 2, 2), strict=True):
        assert abs(shown - value) <= 0.5 * 10**-decimals + 1e-6, (text, exact)


def test_alpaca_only_says_there_are_no_quotes(chain_app, users):
    """An Alpaca-only user: 409 with a message that names the links that would quote."""
    with client_for(chain_app, users["alpaca"]) as client:
        response = client.get("/api/chain/SPY")
        page = client.get("/chain/SPY")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "no_quote_link"
    assert body["error"] == (
        "Option chains need a link that quotes: Alpaca links give no quotes in streamdesk. "
        "Link tastytrade (live quotes and greeks) or Tradier (quotes, hourly greeks)."
    )
    assert page.status_code == 409 and "Link tastytrade (live quotes and greeks)" in page.text


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/chain/NOT%20A%20SYMBOL", 400, "bad_symbol"),
        ("/api/chain/SPY?strikes=15", 400, "bad_strikes"),
        ("/api/chain/SPY?expiration=2026-02-30", 400, "bad_expiration"),
        ("/api/chain/SPY?expiration=2001-01-05", 404, "unknown_expiration"),
        ("/api/chain/BRK.A", 404, "no_options"),
        ("/api/chain/BRK.A/expirations", 404, "no_options"),
    ],
)
def test_bad_input_gets_a_clear_4xx(chain_app, path, status, code):
    """Each bad query: its status and a JSON `{"error", "code"}`; the page says the same."""
    with client_for(chain_app) as client:
        response = client.get(path)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
        assert response.json()["error"]
        if path.startswith("/api/chain/") and not path.endswith("/expirations"):
            page = client.get(path.replace("/api/chain/", "/chain/"))
            assert page.status_code == status
            assert 'data-chain-error data-code="' + code + '"' in page.text


def test_a_rate_limiting_broker_is_a_429_with_retry_after(chain_app, chain_control, users):
    """Tradier answers the chain with 429 Retry-After: 7 (sandbox fault): the API answers
    429 with `retry_in` and Retry-After, the page renders with "rate-limited, retrying
    in N s"; when the fault is gone the chain loads."""
    chain_control.fault(
        "http_error",
        status=429,
        broker="tradier",
        path_prefix="/v1/markets/options/chains",
        retry_after=7,
        count=10,
    )
    try:
        with client_for(chain_app, users["tradier"]) as client:
            response = client.get("/api/chain/IWM")
            assert response.status_code == 429, response.text
            body = response.json()
            assert body["code"] == "rate_limited" and body["error"] == "rate-limited"
            assert 5 <= body["retry_in"] <= 7 and response.headers["Retry-After"] in {"5", "6", "7"}
            page = client.get("/chain/IWM")
            assert page.status_code == 200 and "rate-limited, retrying in" in page.text
    finally:
        chain_control.clear_faults()


def test_a_polling_tab_gets_the_quotes_of_its_own_symbols(chain_app):
    """Polling (the last fallback) sends no `subscribe`: `/api/snapshot?symbols=&tab=`
    registers the chain's options as that tab's symbols with the owner, so the next
    polls carry their quotes and greeks."""
    with client_for(chain_app) as client:
        chain = client.get("/api/chain/XLF?strikes=10").json()
        options = [r[side]["symbol"] for r in chain["rows"][:3] for side in ("call", "put")]
        deadline = time.monotonic() + 15
        while True:
            params = {"symbols": ",".join(options), "tab": "poller-0001"}
            snapshot = client.get("/api/snapshot", params=params).json()
            have = [s for s in options if s in snapshot["quotes"] and s in snapshot["greeks"]]
            if have == options:
                break
            assert time.monotonic() < deadline, (have, snapshot["subscriptions"])
            time.sleep(0.3)
        assert set(options) <= set(snapshot["subscriptions"])
        # a bad tab id is refused with a message (docs/streaming-contract.md "Fallback: polling")
        bad = client.get("/api/snapshot", params={"symbols": "NOT OK", "tab": "x y"})
        assert bad.status_code == 400 and "tab must be" in bad.json()["error"]


def test_a_refusing_broker_is_a_502_with_its_reason(chain_app, chain_control, users):
    """Tradier answers chains with a 500 (sandbox fault): 502 `broker_error` naming the
    broker's answer; the page says it; once the broker is back the chain is served."""
    chain_control.fault(
        "http_error",
        status=500,
        broker="tradier",
        path_prefix="/v1/markets/options/chains",
        count=None,
    )
    try:
        with client_for(chain_app, users["tradier"]) as client:
            response = client.get("/api/chain/DIA?strikes=10")
            assert response.status_code == 502, response.text
            body = response.json()
            assert body["code"] == "broker_error" and "500" in body["error"], body
            page = client.get("/chain/DIA?strikes=10")
            assert page.status_code == 502 and 'data-code="broker_error"' in page.text
    finally:
        chain_control.clear_faults()
    time.sleep(2.1)  # a failure is shared for 2 s, then the broker is asked again
    with client_for(chain_app, users["tradier"]) as client:
        assert client.get("/api/chain/DIA?strikes=10").status_code == 200


@pytest.mark.parametrize(
    ("redis_url", "backend"),
    [
        ("redis://127.0.0.1:6390/0", "django.core.cache.backends.redis.RedisCache"),
        ("", "django.core.cache.backends.locmem.LocMemCache"),
    ],
)
def test_the_cache_is_djangos_redis_backend_when_redis_url_is_set(redis_url, backend):
    """CACHES: Django's own RedisCache at REDIS_URL (no django-redis), else local memory."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", REDIS_URL=redis_url)
    script = (
        "import json, config.settings as s; c = s.CACHES['default'];"
        "print(json.dumps([c['BACKEND'], c.get('LOCATION')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [backend, redis_url or None]
