"""A tastytrade future's, future option's or cryptocurrency's position streams under a
symbol only the instruments endpoints give (tastytrade developer docs, "Instruments";
symbology: `/ESZ6` streams as
`/ESZ26:XCME`, `BTC/USD` as `BTC/USD:CXTALP`), and a future's or future option's point is
worth the future's `notional-multiplier` (a future option instrument's own `multiplier` is
1 in tastytrade's captured sandbox chain, tastytrade/tastytrade-mcp
test/e2e/_payloads/futures_option_chain_full.json): the link
asks the real SDK's `Future.get` / `FutureOption.get` / `Cryptocurrency.get` at the
sandbox, once per symbol."""

from __future__ import annotations

import copy

from tastytrade import Account
from tastytrade.account import CurrentPosition
from tastytrade.instruments import Future, FutureOption

from streaming.brokers.tastytrade.instruments import InstrumentLookup
from streaming.brokers.tastytrade.wire import position_payload
from tests.support.sdk import sdk_session


def as_kind(p: CurrentPosition, symbol: str, kind: str, multiplier=None) -> CurrentPosition:
    """The account's equity position, held instead in `symbol` of instrument kind `kind`
    (with the position's `multiplier` as given, else the equity's 1)."""
    data = copy.deepcopy(p.model_dump(mode="json", by_alias=True))
    data.update({"symbol": symbol, "instrument-type": kind, "underlying-symbol": symbol})
    if multiplier is not None:
        data["multiplier"] = str(multiplier)
    return CurrentPosition.model_validate(data)


async def test_futures_and_coins_stream_under_their_streamer_symbols(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        equity = next(
            p for p in await account.get_positions(session) if str(p.instrument_type) == "Equity"
        )
        front = (await Future.get(session, product_codes=["ES"], page_offset=None))[0]
        future = as_kind(equity, front.symbol, "Future")
        crypto = as_kind(equity, "BTC/USD", "Cryptocurrency")
        unknown = as_kind(equity, "DOGE/USD", "Cryptocurrency")  # the sandbox lists none
        code = front.symbol.removeprefix("/")
        option_symbol = f"./{code} {code} {front.expiration_date:%y%m%d}C6000"
        option = await FutureOption.get(session, option_symbol)
        # as the instrument says it: one unit per contract (the future's 50 come from it)
        future_option = as_kind(
            equity, option_symbol, "Future Option", multiplier=option.multiplier
        )
        symbols = InstrumentLookup()
        await symbols.resolve(session, [equity, future, future_option, crypto, unknown])
        looked = symbols.get(front.symbol)
        assert (
            looked is not None and looked.streamer_symbol == front.streamer_symbol != front.symbol
        )
        payload = position_payload(future, looked)
        assert payload["streamer_symbol"] == front.streamer_symbol
        assert payload["multiplier"] == front.notional_multiplier == 50
        assert option.multiplier == 1
        option_payload = position_payload(future_option, symbols.get(option_symbol))
        assert option_payload["streamer_symbol"] == option.streamer_symbol
        assert option_payload["multiplier"] == 50, "a point of an /ES option is worth $50"
        btc = symbols.get("BTC/USD")
        assert btc is not None and btc.streamer_symbol == "BTC/USD:CXTALP"
        crypto_payload = position_payload(crypto, btc)
        assert (crypto_payload["streamer_symbol"], crypto_payload["multiplier"]) == (
            "BTC/USD:CXTALP",
            1,
        )
        # a coin the endpoint does not list streams under the venue's spelling, if at all
        assert symbols.get("DOGE/USD") is None
        assert position_payload(unknown, None)["streamer_symbol"] == "DOGE/USD:CXTALP"
        assert symbols.get(equity.symbol) is None, "an equity is not looked up"
        assert position_payload(equity)["streamer_symbol"] == equity.symbol
