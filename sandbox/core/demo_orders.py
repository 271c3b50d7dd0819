"""The demo's order generator (`SandboxConfig.demo_order_interval`, the run command's
`--demo-orders`): small plausible orders that keep a watched account lively.

It trades symbols of its own, `SYMBOLS`, and nothing else: never a symbol a demo account
holds (`demo_seed`: SPY, AAPL, MSFT, QQQ, a short among TSLA/NVDA/AMD/META, the IRA's ETFs,
options on SPY and QQQ, BTC/USD, the /ES call), so the showcase stays as seeded — a bracket
still protects the shares it bought, a stop-loss the position under it. Its orders carry
`SOURCE`, and it cancels only its own stale orders, never a trader's or a holding's. It
sells only what it can close in its own symbols (a trader's own trades in them are mixed
in: docs/sandbox.md says which they are).
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from sandbox.core import chains
from sandbox.core.account_state import ACTION_SIGN, CENT, Account, Position
from sandbox.core.instruments import Instrument, equity, option
from sandbox.core.marks import Marks
from sandbox.core.records import EQUITY, EQUITY_OPTION, LegRequest, OrderRequest

__all__ = ["SOURCE", "SYMBOLS", "requests"]

#: The generator's own symbols: no demo account holds them or an option on them.
SYMBOLS = ("AMZN", "GOOGL", "DIA", "IWM")
#: The `source` of the generator's orders (what it may cancel).
SOURCE = "streamdesk-sandbox-demo"
#: About how many days out the options it opens expire (the nearest listed expiration).
_OPTION_DAYS = 30


def requests(acct: Account, rng: random.Random, marks: Marks, today: date) -> list[OrderRequest]:
    """A few plausible order requests in random order; the first one accepted is placed:
    a buy of one of its symbols, a sell of a long it holds in them, and an option on them
    (closing or adding to one it holds, else opening one at the money)."""
    own = [p for p in acct.positions.values() if p.instrument.underlying in SYMBOLS]
    out = [_body(equity(rng.choice(SYMBOLS)), "Buy to Open", rng.randint(1, 10), rng, marks)]
    longs = [p for p in own if p.instrument.instrument_type == EQUITY and p.quantity > 0]
    if longs:
        pos = rng.choice(longs)
        qty = rng.randint(1, int(min(pos.quantity, Decimal(10))))
        out.append(_body(pos.instrument, "Sell to Close", qty, rng, marks))
    options = [p for p in own if p.instrument.instrument_type == EQUITY_OPTION]
    if options:
        out.append(_option_trade(rng.choice(options), rng, marks))
    elif (opened := _at_the_money(rng, marks, today)) is not None:
        out.append(_body(opened, "Buy to Open", 1, rng, marks))
    rng.shuffle(out)
    return out


def _option_trade(pos: Position, rng: random.Random, marks: Marks) -> OrderRequest:
    if pos.quantity > 0:
        action = rng.choice(("Buy to Open", "Sell to Close"))
    else:
        action = rng.choice(("Sell to Open", "Buy to Close"))
    return _body(pos.instrument, action, 1, rng, marks)


def _at_the_money(rng: random.Random, marks: Marks, today: date) -> Instrument | None:
    """A listed call or put at the money on one of its symbols, about a month out."""
    root = rng.choice(SYMBOLS)
    if not marks.prices.ensure(root):
        return None
    price = marks.prices.mid(root)
    listed = chains.expirations(today)
    expiry = min(listed, key=lambda day: abs((day - today).days - _OPTION_DAYS))
    [strike] = chains.strikes(price, 0)
    return option(root, expiry, rng.choice("CP"), strike)


def _body(
    instrument: Instrument, action: str, qty: int, rng: random.Random, marks: Marks
) -> OrderRequest:
    """A generated order: Market, a marketable Limit, or a resting Limit."""
    legs = (
        LegRequest(
            symbol=instrument.symbol,
            action=action,
            quantity=Decimal(qty),
            instrument_type=instrument.instrument_type,
        ),
    )
    market = OrderRequest(order_type="Market", legs=legs, source=SOURCE)
    roll = rng.random()
    if roll < 0.3 and instrument.instrument_type == EQUITY:
        return market
    if not marks.prices.ensure(instrument.streamer_symbol):
        return market
    bid, ask = marks.bid_ask(instrument.streamer_symbol)
    buying = ACTION_SIGN[action] > 0
    marketable = roll < 0.75
    # a marketable limit crosses the spread; a resting one waits on its own side
    limit = (ask if marketable else bid) if buying else (bid if marketable else ask)
    return OrderRequest(
        order_type="Limit",
        legs=legs,
        price=max(limit, CENT),
        price_effect="Debit" if buying else "Credit",
        source=SOURCE,
    )
