"""The coin feed (docs/streaming-contract.md, "Coins"): an Alpaca link's crypto market data
marks the coins a quote source without crypto (Tradier) cannot quote.

Real adapters (Tradier, Alpaca, tastytrade) against the sandbox over real sockets, in one
user's manager: the Tradier source is never asked for a coin, the Alpaca link streams it
from the sandbox's `v1beta3/crypto/us` socket, and its values carry the coin feed's own
`src`; a dropped crypto socket starts a new coin feed; a tastytrade source quotes the coin
itself and no link is the coin feed.

Sources: alpacahq/alpaca-docs market-data-api crypto-pricing-data/realtime.md (the
`q` and `t` messages; `{"action":"subscribe","quotes":[…],"trades":[…]}`), and the
stock socket's documented messages (alpacahq/alpaca-docs market-data-api
stock-pricing-data/realtime.md: the same shape).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.alpaca.coins import coin_fields
from streaming.brokers.base import MemoryCheckpoint, StreamConfig
from streaming.brokers.tastytrade.adapter import TastytradeAdapter
from streaming.brokers.tradier.adapter import TradierAdapter
from streaming.stream.manager import UserStreamManager
from streaming.stream.state import LinkInfo
from tests.streaming.test_manager import SECRET as TASTY_SECRET
from tests.streaming.test_manager import Published
from tests.support.wait import wait_until

BTC = "BTC/USD:CXTALP"
ALPACA_SECRET = "sk-coin-feed-secret-123"
#: How long a sandbox tick takes to reach the manager, with a loaded box's margin.
WITHIN = 15.0
CONFIG = StreamConfig(watchdog_timeout=5, backoff_base=0.1, backoff_cap=0.5, rejected_retry=60)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=20.0)


def test_coin_fields_read_alpacas_documented_messages():
    """realtime.md's quote (bid, ask and their sizes) and trade (the last price), with
    Alpaca's nanosecond RFC 3339 times; anything else is no quote."""
    quote = {
        "T": "q",
        "S": "BTC/USD",
        "bp": 67544.6,
        "bs": 0.28,
        "ap": 67599.2,
        "as": 1.2762,
        "t": "2024-03-12T10:27:48.858228144Z",
    }
    assert coin_fields(quote) == {
        "bid": 67544.6,
        "bid_size": 0.28,
        "ask": 67599.2,
        "ask_size": 1.2762,
        "t": 1710239268858,
    }
    trade = {
        "T": "t",
        "S": "BTC/USD",
        "p": 67570.1,
        "s": 0.0015,
        "t": "2024-03-12T10:27:49.5Z",
        "i": 31455289,
        "tks": "B",
    }
    assert coin_fields(trade) == {"last": 67570.1, "t": 1710239269500}
    assert coin_fields({"T": "b", "S": "BTC/USD", "o": 1, "c": 2}) is None
    assert coin_fields({"T": "subscription", "quotes": ["BTC/USD"]}) is None
    assert coin_fields({"T": "t", "S": "BTC/USD", "t": "2024-03-12T10:27:49Z"}) is None


def alpaca(settings, key_id: str, link_id: int = 3) -> AlpacaAdapter:
    return AlpacaAdapter(
        link_id=link_id,
        key_id=key_id,
        secret_key=ALPACA_SECRET,
        api_url=settings.ALPACA_API_URL,
        checkpoint=MemoryCheckpoint(),
        config=CONFIG,
        coin_stream_url=settings.ALPACA_CRYPTO_STREAM_URL,
    )


def tradier(settings, token: str) -> TradierAdapter:
    return TradierAdapter(
        link_id=2,
        access_token=token,
        api_url=settings.TRADIER_API_URL,
        stream_url=settings.TRADIER_STREAM_URL,
        config=CONFIG,
    )


ALPACA_INFO = LinkInfo(3, "alpaca", "ap", simulated=True, streams_quotes=False)
TRADIER_INFO = LinkInfo(2, "tradier", "tr", simulated=True, quotes_coins=False)


@contextlib.asynccontextmanager
async def started(
    user_id: int, links: list, published: Published | None = None
) -> AsyncIterator[UserStreamManager]:
    """A started manager of `links` whose tab wants SPY and BTC, ready; stopped after."""
    manager = UserStreamManager(
        user_id, links=links, publish=published or Published(), flush_interval=0.1
    )
    await manager.start()
    try:
        manager.set_tab_symbols("tab", {"SPY", BTC})
        assert await manager.wait_ready(within=WITHIN)
        yield manager
    finally:
        await manager.stop()


def quote_states(published: Published, link_id: int) -> list[str]:
    """The `quotes` kind's states the link's status frames said, in order."""
    return [
        f["link"]["kinds"]["quotes"]["state"]
        for f in published.of("status")
        if f["link"]["id"] == link_id
    ]


def crypto_sockets(control, key_id: str) -> list[dict]:
    return control.state()["credentials"].get(credential_id(key_id), {}).get("alpaca-crypto", [])


async def test_a_tradier_source_leaves_the_coins_to_the_alpaca_link(
    settings, broker_at_sandbox, control
):
    """Tradier feeds SPY and is never asked for BTC; the Alpaca link streams BTC from its
    crypto socket, and the value carries the coin feed's `src`. The Alpaca link's status
    says it is the coin feed (`quotes` live, `quote_feed` set); once no coin is wanted its
    socket closes and its quotes are `idle` again."""
    key_id = f"AK{uuid.uuid4().hex[:14].upper()}"
    tradier_adapter = tradier(settings, f"tradier-{uuid.uuid4().hex[:12]}")
    alpaca_adapter = alpaca(settings, key_id)
    published = Published()
    async with started(
        42, [(TRADIER_INFO, tradier_adapter), (ALPACA_INFO, alpaca_adapter)], published
    ) as manager:
        assert manager.quote_source() == 2
        feed = manager.feed
        assert feed.coin_link == 3
        await wait_until(lambda: "SPY" in manager.state.quotes, within=WITHIN, what="SPY")
        await wait_until(
            lambda: manager.state.quotes.get(BTC, {}).get("src") == feed.coin_feed,
            within=WITHIN,
            what="BTC from the coin feed",
        )
        btc = manager.state.quotes[BTC]
        assert btc["bid"] < btc["ask"]
        assert "SPY" in tradier_adapter.quotes._subscribed
        assert BTC not in tradier_adapter.quotes._subscribed  # never asked for the coin
        assert manager.state.quotes["SPY"]["src"] == feed.feed != feed.coin_feed
        status = manager.state.link_status[3]
        assert status["coin_feed"] is True and status["quote_source"] is False
        assert status["quote_feed"] == feed.coin_feed
        assert status["kinds"]["quotes"]["state"] == "live"
        assert manager.state.link_status[2]["coin_feed"] is False
        (socket,) = crypto_sockets(control, key_id)
        assert (socket["quotes"], socket["trades"], socket["bars"]) == (
            ["BTC/USD"],
            ["BTC/USD"],
            [],
        )

        manager.set_tab_symbols("tab", {"SPY"})
        await wait_until(
            lambda: manager.state.link_status[3]["kinds"]["quotes"]["state"] == "idle",
            within=WITHIN,
            what="the coin feed idle",
        )
        assert feed.coin_link is None
        # coins no longer wanted are no reconnect: the socket closes, the kind is idle
        await wait_until(
            lambda: manager.link_health(3).kinds["quotes"].reason == "no coins wanted",
            within=WITHIN,
            what="the adapter idle",
        )
        assert alpaca_adapter.kind_state("quotes") == "idle"
        assert manager.link_health(3).kinds["quotes"].reconnects == 0
        assert "reconnecting" not in quote_states(published, 3)
        assert manager.state.link_status[3]["coin_feed"] is False
        assert manager.state.link_status[3]["quote_feed"] is None
        await wait_until(
            lambda: crypto_sockets(control, key_id) == [], within=WITHIN, what="socket closed"
        )


async def test_a_dropped_crypto_socket_starts_a_new_coin_feed(settings, broker_at_sandbox, control):
    """The broker drops the crypto socket: the Alpaca link reconnects, the coin feed is a
    new one (what the old one sent is stale until sent again), and BTC comes again under
    it. The Tradier source's feed is untouched."""
    key_id = f"AK{uuid.uuid4().hex[:14].upper()}"
    async with started(
        43,
        [
            (TRADIER_INFO, tradier(settings, f"tradier-{uuid.uuid4().hex[:12]}")),
            (ALPACA_INFO, alpaca(settings, key_id)),
        ],
    ) as manager:
        feed = manager.feed
        first = feed.coin_feed
        await wait_until(
            lambda: manager.state.quotes.get(BTC, {}).get("src") == first,
            within=WITHIN,
            what="BTC from the first coin feed",
        )
        source_feed = feed.feed
        dropped = control.fault(
            "drop", target="alpaca-crypto", credential=credential_id(key_id), code=1011
        )
        assert dropped == {"affected": 1}
        await wait_until(lambda: feed.coin_feed != first, within=WITHIN, what="a new coin feed")
        await wait_until(
            lambda: manager.state.quotes[BTC].get("src") == feed.coin_feed,
            within=WITHIN,
            what="BTC from the new coin feed",
        )
        assert feed.coin_link == 3
        assert manager.link_health(3).kinds["quotes"].reconnects == 1
        assert manager.link_health(3).kinds["account"].reconnects == 0
        assert feed.feed == source_feed


async def test_a_tastytrade_source_quotes_the_coins_itself(
    settings, broker_at_sandbox, control, refresh_token
):
    """tastytrade's feed has the coins: it streams BTC, no link is the coin feed, and the
    Alpaca link opens no crypto socket."""
    key_id = f"AK{uuid.uuid4().hex[:14].upper()}"
    tasty = TastytradeAdapter(
        link_id=1, provider_secret=TASTY_SECRET, refresh_token=refresh_token, config=CONFIG
    )
    async with started(
        44,
        [
            (LinkInfo(1, "tastytrade", "tt", simulated=True), tasty),
            (ALPACA_INFO, alpaca(settings, key_id)),
        ],
    ) as manager:
        feed = manager.feed
        await wait_until(
            lambda: manager.state.quotes.get(BTC, {}).get("src") == feed.feed,
            within=WITHIN,
            what="BTC from tastytrade",
        )
        assert manager.quote_source() == 1
        assert (feed.coin_link, feed.coin_feed) == (None, None)
        assert manager.state.link_status[3]["kinds"]["quotes"]["state"] == "idle"
        assert crypto_sockets(control, key_id) == []


async def test_an_alpaca_link_alone_feeds_its_coins(settings, broker_at_sandbox, control):
    """No link quotes stocks (Alpaca's only): no quote source, but the coin feed marks
    BTC, and its status says so; SPY gets no quote, and no link claims it does."""
    key_id = f"AK{uuid.uuid4().hex[:14].upper()}"
    async with started(45, [(ALPACA_INFO, alpaca(settings, key_id))]) as manager:
        feed = manager.feed
        await wait_until(
            lambda: manager.state.quotes.get(BTC, {}).get("src") == feed.coin_feed,
            within=WITHIN,
            what="BTC from the coin feed",
        )
        assert manager.quote_source() is None and feed.coin_link == 3
        assert "SPY" not in manager.state.quotes
        status = manager.state.link_status[3]
        assert (status["quote_source"], status["coin_feed"]) == (False, True)
        assert status["kinds"]["quotes"]["state"] == "live"
