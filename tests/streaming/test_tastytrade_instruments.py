"""A tastytrade future's, future option's or cryptocurrency's position streams under a
symbol only the instruments endpoints give (tastytrade developer docs, "Instruments";
symbology: `/ESZ6` streams as
`/ESZ26:XCME`, `BTC/USD` as `BTC/USD:CXTALP`): the link asks the real SDK's
`Future.get` / `FutureOption.get` / `Cryptocurrency.get` at the sandbox, once per symbol."""

from __future__ import annotations

import copy

from tastytrade import Account
from tastytrade.account import CurrentPosition
from tastytrade.instruments import Future

from streaming.brokers.tastytrade.instruments import StreamerSymbols
from streaming.brokers.tastytrade.wire import position_payload
from tests.support.sdk import sdk_session


def as_kind(p: CurrentPosition, symbol: str, kind: str) -> CurrentPosition:
    """The account's equity position, held instead in `symbol` of instrument kind `kind`."""
    data = copy.deepcopy(p.model_dump(mode="json", by_alias=True))
    data.update({"symbol": symbol, "instrument-type": kind, "underlying-symbol": symbol})
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
        symbols = StreamerSymbols()
        await symbols.resolve(session, [equity, future, crypto, unknown])
        assert symbols.get(front.symbol) == front.streamer_symbol != front.symbol
        assert position_payload(future, symbols.get(future.symbol))["streamer_symbol"] == (
            front.streamer_symbol
        )
        assert symbols.get("BTC/USD") == "BTC/USD:CXTALP"
        assert position_payload(crypto, symbols.get("BTC/USD"))["streamer_symbol"] == (
            "BTC/USD:CXTALP"
        )
        # a coin the endpoint does not list streams under the venue's spelling, if at all
        assert symbols.get("DOGE/USD") is None
        assert position_payload(unknown, None)["streamer_symbol"] == "DOGE/USD:CXTALP"
        assert symbols.get(equity.symbol) is None, "an equity is not looked up"
        assert position_payload(equity)["streamer_symbol"] == equity.symbol
