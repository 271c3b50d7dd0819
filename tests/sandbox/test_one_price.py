"""One instrument, one price: every REST quote of an instrument reads the market series the
feed quotes under that instrument's streamer symbol, chosen by the instrument's kind.

- tastytrade: `GET /market-data/by-type` (SDK `get_market_data_by_type`: the query names
  `cryptocurrency`, `future`, `future-option`, …) and `GET /market-data/{type}/{symbol}`
  (`get_market_data`) answer a coin (`BTC/USD`, fed as `BTC/USD:CXTALP`), a future
  (`/ESZ6`, fed as `/ESZ26:XCME`) and a future option (`./ESZ6 ESZ6 261218C6000`, fed as
  `./ESZ26C6000:XCME`) with the bid, ask, last and previous close of the DXLink events
  under the streamer symbol the instrument names (developer.tastytrade.com, "Instruments"
  and "tastytrade Symbology": always read `streamer-symbol` from the instrument).
- A coin is never also a made-up equity: not at tastytrade (`equity=BTC/USD`), not at
  Tradier (no crypto: unmatched), not at Alpaca, where the legacy `BTCUSD` names the coin
  (docs.alpaca.markets "Crypto Trading": "BTC/USD was previously referred to as BTCUSD
  ... support the legacy convention as well"), so no stock asset or option chain is
  made up for it; Alpaca's crypto data quotes the same coin as tastytrade's feed.

The market stands still (`tick_rate=0`), so the REST and feed reads see one moment.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import anyio
import pytest
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.requests import CryptoLatestQuoteRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass
from alpaca.trading.requests import GetAssetsRequest, GetOptionContractsRequest
from tastytrade import DXLinkStreamer
from tastytrade.dxfeed import Quote, Summary, Trade
from tastytrade.instruments import Cryptocurrency, Equity, Future, FutureOption
from tastytrade.market_data import MarketData, get_market_data, get_market_data_by_type
from tastytrade.order import InstrumentType
from tastytrade.utils import TastytradeError

from sandbox.core.config import SandboxConfig
from tests.support.sdk import sdk_session
from tests.support.tradier import tradier_client


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=0, order_step_interval=0)


async def _feed(session: Any, symbols: list[str]) -> dict[type, dict[str, Any]]:
    """The DXLink Quote, Trade and Summary of each streamer symbol (sent on subscribe)."""
    events: dict[type, dict[str, Any]] = {}
    async with DXLinkStreamer(session) as streamer:
        for kind in (Quote, Trade, Summary):
            await streamer.subscribe(kind, symbols)
        for kind in (Quote, Trade, Summary):
            seen: dict[str, Any] = {}
            with anyio.fail_after(10):
                while len(seen) < len(symbols):
                    event = await streamer.get_event(kind)
                    seen[event.event_symbol] = event
            events[kind] = seen
    return events


def _figures(data: MarketData) -> tuple[Any, ...]:
    return data.bid, data.ask, data.last, data.prev_close


def _feed_figures(events: dict[type, dict[str, Any]], streamer_symbol: str) -> tuple[Any, ...]:
    quote, trade = events[Quote][streamer_symbol], events[Trade][streamer_symbol]
    summary = events[Summary][streamer_symbol]
    return quote.bid_price, quote.ask_price, trade.price, summary.prev_day_close_price


async def test_rest_market_data_of_a_coin_a_future_and_a_future_option_is_the_feeds(
    sandbox, refresh_token
):
    async with sdk_session(sandbox, refresh_token) as session:
        coin = await Cryptocurrency.get(session, "BTC/USD")
        front = (await Future.get(session, product_codes=["ES"], page_offset=None))[0]
        code = front.symbol.removeprefix("/")
        expires = front.expiration_date.strftime("%y%m%d")
        option = await FutureOption.get(session, f"./{code} {code} {expires}C6000")
        streamers = [coin.streamer_symbol, front.streamer_symbol, option.streamer_symbol]
        assert streamers[0] == "BTC/USD:CXTALP" and streamers[1].endswith(":XCME")
        feed = await _feed(session, streamers)
        by_type = await get_market_data_by_type(
            session,
            cryptocurrencies=[coin.symbol],
            futures=[front.symbol],
            future_options=[option.symbol],
        )
        one_by_one = [
            await get_market_data(session, coin.symbol, InstrumentType.CRYPTOCURRENCY),
            await get_market_data(session, front.symbol, InstrumentType.FUTURE),
            await get_market_data(session, option.symbol, InstrumentType.FUTURE_OPTION),
        ]
    symbols = [coin.symbol, front.symbol, option.symbol]
    kinds = [
        InstrumentType.CRYPTOCURRENCY,
        InstrumentType.FUTURE,
        InstrumentType.FUTURE_OPTION,
    ]
    for answer in (by_type, one_by_one):
        found = {d.symbol: d for d in answer}
        assert {(d.symbol, d.instrument_type) for d in answer} == set(
            zip(symbols, kinds, strict=True)
        )
        for symbol, streamer_symbol in zip(symbols, streamers, strict=True):
            assert _figures(found[symbol]) == _feed_figures(feed, streamer_symbol), symbol
    assert 50_000 < one_by_one[0].bid < 200_000  # the coin, not a made-up stock near 14


async def test_a_coin_is_never_a_made_up_equity(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        [coin] = await get_market_data_by_type(session, cryptocurrencies=["BTC/USD"])
        assert await get_market_data_by_type(session, equities=["BTC/USD", "BTCUSD"]) == []
        with pytest.raises(TastytradeError, match="record_not_found"):
            await Equity.get(session, "BTC/USD")
    with tradier_client(sandbox) as api:
        quotes = api.get("/v1/markets/quotes", params={"symbols": "BTC/USD,BTCUSD"}).json()
    assert quotes["quotes"] == {"unmatched_symbols": {"symbol": ["BTC/USD", "BTCUSD"]}}
    key = f"AK{uuid.uuid4().hex[:14].upper()}"
    alpaca = TradingClient(key, "paper-secret", paper=True, url_override=f"{sandbox.url}/alpaca")
    asset = alpaca.get_asset("BTCUSD")
    assert (asset.symbol, asset.asset_class) == ("BTC/USD", AssetClass.CRYPTO)
    contracts = alpaca.get_option_contracts(
        GetOptionContractsRequest(underlying_symbols=["BTCUSD"])
    )
    assert contracts.option_contracts in (None, [])
    stocks = alpaca.get_all_assets(GetAssetsRequest(asset_class=AssetClass.US_EQUITY))
    assert not {"BTC/USD", "BTCUSD"} & {a.symbol for a in stocks}
    data = CryptoHistoricalDataClient(
        key, "paper-secret", url_override=f"{sandbox.url}/alpaca/data"
    )
    latest = data.get_crypto_latest_quote(CryptoLatestQuoteRequest(symbol_or_symbols="BTC/USD"))
    btc = latest["BTC/USD"]
    assert (Decimal(str(btc.bid_price)), Decimal(str(btc.ask_price))) == (coin.bid, coin.ask)
