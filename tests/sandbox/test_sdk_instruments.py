"""The real SDK's instrument lookups and symbol search against the sandbox, over real sockets."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import anyio
import httpx
import pytest
from tastytrade import Account, DXLinkStreamer
from tastytrade.dxfeed import Quote
from tastytrade.instruments import (
    Cryptocurrency,
    Equity,
    Future,
    FutureOption,
    FutureProduct,
    NestedOptionChain,
    Option,
    get_future_option_chain,
    get_option_chain,
    get_quantity_decimal_precisions,
)
from tastytrade.market_data import get_market_data_by_type
from tastytrade.order import InstrumentType, Leg, MarketOrder, OrderAction, OrderTimeInForce
from tastytrade.search import symbol_search
from tastytrade.utils import TastytradeError

from tests.support.sdk import sdk_session


async def test_equity_get_one_many_and_pages(sandbox, refresh_token):
    """Equity.get by symbol (a slash as %2F too) and by list, every page as _paginate reads them."""
    async with sdk_session(sandbox, refresh_token) as session:
        spy = await Equity.get(session, "SPY")
        assert (spy.symbol, spy.streamer_symbol, spy.is_etf, spy.is_index) == (
            "SPY",
            "SPY",
            True,
            False,
        )
        assert spy.description == "SPDR S&P 500 ETF Trust"
        assert spy.instrument_type == InstrumentType.EQUITY
        assert spy.lendability == "Easy To Borrow"
        brk = await Equity.get(session, "BRK/B")
        assert brk.symbol == "BRK/B" and not brk.is_etf
        symbols = ["SPY", "AAPL", "SPX", "ZZQX", "MSFT"]
        everything = await Equity.get(session, symbols, per_page=2, page_offset=None)
        assert [e.symbol for e in everything] == symbols
        assert [e.is_index for e in everything] == [False, False, True, False, False]
        second_page = await Equity.get(session, symbols, per_page=2, page_offset=1)
        assert [e.symbol for e in second_page] == ["SPX", "ZZQX"]
        etfs = await Equity.get(session, symbols, is_etf=True, page_offset=None)
        assert [e.symbol for e in etfs] == ["SPY"]
        active = await Equity.get_active_equities(session, per_page=5, page_offset=None)
        assert {"AAPL", "SPY", "SPX"} <= {e.symbol for e in active}
        assert len(active) == len({e.symbol for e in active}) > 5


async def test_unknown_equity_is_record_not_found(sandbox, refresh_token):
    """A symbol the market would not quote gets tastytrade's 404 error shape."""
    async with sdk_session(sandbox, refresh_token) as session:
        with pytest.raises(TastytradeError, match="record_not_found"):
            await Equity.get(session, "1NOTATICKER")
        with pytest.raises(TastytradeError, match="record_not_found"):
            await Equity.get(session, "/ES")  # a future is not an equity
        response = await session._client.get("/instruments/equities/1NOPE")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "record_not_found"


async def test_option_get_finds_every_contract_the_chains_list(sandbox, refresh_token):
    """Option.get (OCC symbol, spaces URL-encoded) of every flat-chain contract returns that
    contract, and the nested chain lists the same contracts."""
    async with sdk_session(sandbox, refresh_token) as session:
        flat = await get_option_chain(session, "QQQ")
        nested = (await NestedOptionChain.get(session, "QQQ"))[0]
        listed = {o.symbol: o for options in flat.values() for o in options}
        from_nested = {
            s
            for exp in nested.expirations
            for strike in exp.strikes
            for s in (strike.call, strike.put)
        }
        assert from_nested == set(listed)
        assert sorted(flat) == [e.expiration_date for e in nested.expirations]
        # every contract, 16 requests at a time (one by one took ~27 s on the CI machine)
        limit = asyncio.Semaphore(16)

        async def get(symbol: str) -> Option:
            async with limit:
                return await Option.get(session, symbol)

        symbols = list(listed)
        got = await asyncio.gather(*(get(symbol) for symbol in symbols))
        assert dict(zip(symbols, got, strict=True)) == listed
        one = next(iter(listed.values()))
        assert one.streamer_symbol == Option.occ_to_streamer_symbol(one.symbol)


async def test_option_get_of_every_held_option(sandbox, refresh_token):
    """A client that looks up the options it holds (the CLI's positions view) finds them all."""
    async with sdk_session(sandbox, refresh_token) as session:
        held = [
            p
            for account in await Account.get(session)
            for p in await account.get_positions(session)
            if p.instrument_type == InstrumentType.EQUITY_OPTION
        ]
        assert held
        for position in held:
            option = await Option.get(session, position.symbol)
            assert option.symbol == position.symbol
            assert option.underlying_symbol == position.underlying_symbol
            assert option.active


async def test_unlisted_options_and_list_filters(sandbox, refresh_token):
    """Unlisted contracts are 404s; the list endpoint drops them and honours with-expired."""
    expired = "SPY   250221C00590000"  # a Friday expiration long past
    # not an expiration: a Thursday whose Friday trades (the Thursday before a holiday
    # Friday, such as 2099-12-31, is one: tests/sandbox/test_market_days.py)
    thursday = dt.date(2099, 12, 17)
    async with sdk_session(sandbox, refresh_token) as session:
        chain = await get_option_chain(session, "SPY")
        live = next(iter(chain.values()))[0].symbol
        for bad in (
            f"SPY   {thursday:%y%m%d}C00590000",  # not an expiration
            f"SPY   {thursday + dt.timedelta(days=1):%y%m%d}C00590250",  # off the grid
            "NOT AN OCC SYMBOL",
        ):
            with pytest.raises(TastytradeError, match="record_not_found"):
                await Option.get(session, bad)
        old = await Option.get(session, expired)
        assert not old.active and old.is_closing_only and old.days_to_expiration == 0
        symbols = {"symbol[]": [live, expired, "SPY   991230C00590000"]}
        data = await session._get("/instruments/equity-options", params=symbols)
        assert [i["symbol"] for i in data["items"]] == [live]
        data = await session._get(
            "/instruments/equity-options", params={**symbols, "with-expired": "true"}
        )
        assert [i["symbol"] for i in data["items"]] == [live, expired]
        data = await session._get(
            "/instruments/equity-options",
            params={**symbols, "with-expired": "true", "active": "false"},
        )
        assert [Option(**i).symbol for i in data["items"]] == [expired]
        with pytest.raises(TastytradeError, match="active: must be true or false"):
            await session._get("/instruments/equity-options", params={**symbols, "active": "maybe"})


async def test_futures_products_and_contracts(sandbox, refresh_token):
    """The market's named futures as products, each with its next listed contracts, whose
    streamer symbols the feed quotes; a month the product does not list is not found."""
    today = dt.datetime.now(dt.UTC).date()
    async with sdk_session(sandbox, refresh_token) as session:
        products = await FutureProduct.get(session)
        assert {"ES", "MES", "CL", "GC", "ZN"} <= {p.code for p in products}
        es = await FutureProduct.get(session, "ES")
        assert (es.root_symbol, es.cash_settled, es.listed_months) == (
            "/ES",
            True,
            ["H", "M", "U", "Z"],
        )
        listed = await Future.get(session, product_codes=["ES"], page_offset=None)
        assert len(listed) == 4
        assert [f.active_month for f in listed] == [True, False, False, False]
        assert listed[1].next_active_month and listed[0].roll_target_symbol == listed[1].symbol
        for future in listed:
            assert future.symbol[3] in "HMUZ" and future.product_code == "ES"
            assert future.expiration_date >= today and future.expiration_date.weekday() == 4
        front = listed[0]
        assert await Future.get(session, front.symbol) == front
        assert front.streamer_symbol == f"/ES{front.symbol[3]}{front.expiration_date:%y}:XCME"
        found = await Future.get(session, [front.symbol, "/ESF9"], page_offset=None)
        assert found == [front]
        with pytest.raises(TastytradeError, match="record_not_found"):
            await Future.get(session, "/ESF7")  # January is not an ES contract month
        with pytest.raises(TastytradeError, match="record_not_found"):
            await FutureProduct.get(session, "ES", exchange="CFE")
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, [front.streamer_symbol])
            with anyio.fail_after(10):
                quote = await streamer.get_event(Quote)
        assert quote.event_symbol == front.streamer_symbol and quote.bid_price > 0


async def test_products_the_market_does_not_have(sandbox, refresh_token):
    """Future options: tastytrade's not-found error; a coin the market lacks, too."""
    async with sdk_session(sandbox, refresh_token) as session:
        with pytest.raises(TastytradeError, match="record_not_found"):
            await FutureOption.get(session, "./ESZ6 EW4X6 261127C6000")
        with pytest.raises(TastytradeError, match="record_not_found"):
            await get_future_option_chain(session, "/ES")
        with pytest.raises(TastytradeError, match="record_not_found"):
            await Cryptocurrency.get(session, "DOGE/USD")


async def test_a_quarterly_option_on_a_listed_future_and_its_quotes(sandbox, refresh_token):
    """developer.tastytrade.com api-guides/instruments (symbology): a future option is
    `./` + the future + the option contract + yymmdd + C/P + strike, and streams under its
    `streamer-symbol`; the sandbox lists quarterly options, whose option contract is the
    future itself, expiring with it (`GET /instruments/future-options/{symbol}`, the SDK's
    `FutureOption.get`)."""
    async with sdk_session(sandbox, refresh_token) as session:
        front = (await Future.get(session, product_codes=["ES"], page_offset=None))[0]
        code = front.symbol.removeprefix("/")
        symbol = f"./{code} {code} {front.expiration_date:%y%m%d}C6000"
        option = await FutureOption.get(session, symbol)
        assert (option.symbol, option.underlying_symbol) == (symbol, front.symbol)
        assert option.streamer_symbol == f"./{front.streamer_symbol[1:-5]}C6000:XCME"
        assert (option.strike_price, option.option_type.value) == (6000, "C")
        assert option.expiration_date == front.expiration_date
        with pytest.raises(TastytradeError, match="record_not_found"):
            await FutureOption.get(session, symbol.replace("C6000", "C0"))
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, [option.streamer_symbol])
            with anyio.fail_after(10):
                quote = await streamer.get_event(Quote)
        assert quote.event_symbol == option.streamer_symbol
        assert 0 < quote.bid_price < quote.ask_price


async def test_cryptocurrencies_and_their_quotes(sandbox, refresh_token):
    """developer.tastytrade.com/api-guides/instruments: `GET /instruments/cryptocurrencies`
    (one by its symbol, the slash escaped as the SDK sends it) gives `BTC/USD` with its
    `streamer-symbol` `BTC/USD:CXTALP` and its venue's 8 quantity places; DXLink quotes
    the streamer symbol around the clock."""
    async with sdk_session(sandbox, refresh_token) as session:
        btc = await Cryptocurrency.get(session, "BTC/USD")
        assert (btc.symbol, btc.streamer_symbol) == ("BTC/USD", "BTC/USD:CXTALP")
        assert btc.instrument_type == InstrumentType.CRYPTOCURRENCY
        [venue] = btc.destination_venue_symbols
        assert (venue.destination_venue, venue.max_quantity_precision) == ("CXTALP", 8)
        listed = await Cryptocurrency.get(session)
        assert [c.symbol for c in listed] == ["BTC/USD", "ETH/USD", "SOL/USD"]
        assert [c.symbol for c in await Cryptocurrency.get(session, ["ETH/USD", "X/USD"])] == [
            "ETH/USD"
        ]
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, [btc.streamer_symbol])
            with anyio.fail_after(10):
                quote = await streamer.get_event(Quote)
        assert quote.event_symbol == "BTC/USD:CXTALP"
        assert 50_000 < quote.bid_price < quote.ask_price < 200_000


async def test_symbol_search(sandbox, refresh_token):
    """Prefix of a ticker, a word of a name, an exact made-up ticker; nothing for nonsense."""
    async with sdk_session(sandbox, refresh_token) as session:
        await session.refresh()  # symbol_search skips the SDK's refresh-before-request
        found = await symbol_search(session, "AAP")  # as the docs show: AAP, then AAPL
        assert [s.symbol for s in found] == ["AAP", "AAPL"]
        assert found[1].description == "Apple Inc. - Common Stock"
        assert "AAPL" in {s.symbol for s in await symbol_search(session, "apple")}
        assert [s.symbol for s in await symbol_search(session, "ZZQX")] == ["ZZQX"]
        assert await symbol_search(session, "1234") == []
        # the description a search shows is the one the quote and the instrument show
        [quote] = await get_market_data_by_type(session, equities=["ZZQX"])
        equity = await Equity.get(session, "ZZQX")
        assert quote.symbol == equity.symbol == "ZZQX"
        assert (await symbol_search(session, "ZZQX"))[0].description == equity.description


async def test_instrument_routes_need_a_token(sandbox):
    """Without a bearer token the instrument routes refuse in tastytrade's error shape."""
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        response = await client.get("/instruments/equities/SPY")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message"}


async def test_a_future_has_one_price_on_rest_and_on_the_feed(sandbox, refresh_token):
    """`/ESZ6` in REST market data and `/ESZ26:XCME` on DXLink are one contract: the same
    bid, ask and previous close (one truth), not two random walks."""
    control = sandbox.control()
    control.configure(tick_rate=0)  # nothing moves between the two reads
    try:
        async with sdk_session(sandbox, refresh_token) as session:
            front = (await Future.get(session, product_codes=["ES"], page_offset=None))[0]
            async with DXLinkStreamer(session) as streamer:
                await streamer.subscribe(Quote, [front.streamer_symbol])
                with anyio.fail_after(10):
                    quote = await streamer.get_event(Quote)
            [rest] = await get_market_data_by_type(session, futures=[front.symbol])
        assert rest.symbol == front.symbol
        assert (rest.bid, rest.ask) == (quote.bid_price, quote.ask_price)
        summary = sandbox.sandbox.market.summary(front.streamer_symbol)
        assert rest.prev_close == Decimal(str(summary["prevDayClosePrice"]))
    finally:
        control.configure(tick_rate=20.0)
        control.close()


async def test_equities_offer_only_the_whole_shares_the_brokerage_takes(sandbox, refresh_token):
    """No equity says it is fractional-eligible and the quantity precision of Equity is 0,
    because the brokerage refuses a fractional quantity (422 invalid_quantity): a client
    reading either never offers what would be refused."""
    async with sdk_session(sandbox, refresh_token) as session:
        equities = await Equity.get(session, ["SPY", "AAPL", "SPX", "ZZQX"], page_offset=None)
        assert [e.is_fractional_quantity_eligible for e in equities] == [False] * 4
        precisions = await get_quantity_decimal_precisions(session)
        equity = next(p for p in precisions if p.instrument_type == InstrumentType.EQUITY)
        assert (equity.value, equity.minimum_increment_precision) == (0, 0)
        account = (await Account.get(session))[0]
        leg = Leg(
            instrument_type=InstrumentType.EQUITY,
            symbol="AAPL",
            action=OrderAction.BUY_TO_OPEN,
            quantity=Decimal("1.5"),
        )
        with pytest.raises(TastytradeError, match="invalid_quantity"):
            await account.place_order(
                session, MarketOrder(time_in_force=OrderTimeInForce.DAY, legs=[leg]), dry_run=True
            )
