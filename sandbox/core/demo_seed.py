"""Demo seeding: a customer's starting accounts and positions, and its holdings' orders.
Everything derives from the seed, so a restart shows the same book (the orders that keep
the demo lively afterwards are `demo_orders.py`'s, in symbols of their own).

With `SandboxConfig.demo_holdings` (the demo's default; off in tests, which start from a
plain book) a customer's margin account also holds what real accounts hold and what its
broker offers (`Holdings`): a bracket (an entry that fills at once, then its take-profit
and stop-loss working as one group), a protective stop-loss, a trailing stop, a crypto
position and an option on a future."""

from __future__ import annotations

import dataclasses
import hashlib
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sandbox.core import chains
from sandbox.core.account_state import (
    CENT,
    Account,
    Position,
    cents,
    to_decimal,
)
from sandbox.core.instruments import Instrument, crypto, equity, future_option, option
from sandbox.core.market import futures
from sandbox.core.marks import Marks
from sandbox.core.records import (
    EQUITY,
    LegRequest,
    LinkedRequest,
    OrderRequest,
)
from sandbox.core.trading_calendar import market_date

__all__ = [
    "ALPACA",
    "HOLDING_SOURCE",
    "PLAIN",
    "TASTYTRADE",
    "TRADIER",
    "Holdings",
    "holding_orders",
    "new_accounts",
]

_MARGIN_SHORTS = ("TSLA", "NVDA", "AMD", "META")
_IRA_ETFS = ("VTI", "VOO", "SCHD", "QQQ", "VXUS", "BND")
#: The source of the holdings' orders: the demo's generated orders never cancel them.
HOLDING_SOURCE = "streamdesk-sandbox-holding"
#: The demo's coin position (units of BTC/USD) where the broker offers crypto.
_DEMO_COIN = ("BTC/USD", Decimal("0.25"))


@dataclasses.dataclass(frozen=True)
class Holdings:
    """What a customer's margin account holds beyond stocks and options, by what its
    broker offers (tastytrade has no trailing stops; Tradier no crypto and no futures;
    Alpaca no futures)."""

    bracket: bool = False
    stop_loss: bool = False
    trailing_stop: bool = False
    crypto: bool = False
    future_option: bool = False


#: No demo holdings: the plain book tests start from.
PLAIN = Holdings()
TASTYTRADE = Holdings(bracket=True, stop_loss=True, crypto=True, future_option=True)
TRADIER = Holdings(bracket=True, stop_loss=True)
ALPACA = Holdings(bracket=True, stop_loss=True, trailing_stop=True, crypto=True)
#: (margin?, name, age in days, opening cash) of a customer's two accounts, in order
_DEMO_ACCOUNTS = (
    (True, "Individual", (400, 2500), (25_000, 100_000)),
    (False, "Roth IRA", (100, 1500), (5_000, 30_000)),
)


def new_accounts(
    customer_id: str,
    seed: int,
    now: float,
    marks: Marks,
    accounts: dict[str, Account],
    holdings: Holdings = PLAIN,
) -> tuple[Account, Account]:
    """Open a customer's margin and Roth IRA accounts (added to `accounts`) with their
    seeded starting positions; their books are not opened yet."""
    rng = random.Random(f"{seed}|customer|{customer_id}")
    opened = []
    for index, (is_margin, name, age_days, deposit) in enumerate(_DEMO_ACCOUNTS):
        acct = Account(
            number=_new_account_number(seed, customer_id, index, accounts),
            customer_id=customer_id,
            margin=is_margin,
            nickname=name,
            type_name=name,
            opened_at=now - rng.randint(*age_days) * 86400.0,
            cash=Decimal(rng.randint(*deposit)) + Decimal(rng.randint(0, 99)) / 100,
        )
        accounts[acct.number] = acct
        opened.append(acct)
    margin, ira = opened
    _seed_margin_positions(margin, rng, now, marks)
    _seed_ira_positions(ira, rng, now, marks)
    if holdings.crypto:
        pair, units = _DEMO_COIN
        _seed_position(margin, crypto(pair), units, rng, now, marks, spread=0.2)
    if holdings.future_option:
        _seed_future_option(margin, rng, now, marks)
    return margin, ira


def _seed_future_option(acct: Account, rng: random.Random, now: float, marks: Marks) -> None:
    """One /ES call about 100 points out of the money, on the first contract that does
    not expire within a week."""
    today = market_date(now)
    es = futures.product("ES")
    assert es is not None
    listed = next(c for c in futures.contracts(es, today) if c.expires_on > today + timedelta(7))
    if not marks.prices.ensure(listed.streamer_symbol):
        return
    strike = Decimal(int(marks.mark(listed.streamer_symbol) / 50) * 50 + 100)
    instrument = future_option(listed, "C", strike)
    _seed_position(acct, instrument, Decimal(1), rng, now, marks, spread=0.25)


def holding_orders(
    acct: Account, holdings: Holdings, marks: Marks
) -> list[OrderRequest | LinkedRequest]:
    """The working orders a margin account starts with (`Holdings`), GTC, priced off the
    marks: a bracket on MSFT (a market entry; a limit 8 % above, a stop 7 % below), a
    stop-loss 5 % under the SPY position and a 4 % trailing stop under AAPL."""
    if not acct.margin:
        return []
    orders: list[OrderRequest | LinkedRequest] = []
    if holdings.bracket and marks.prices.ensure("MSFT"):
        mark = marks.mark("MSFT")
        entry = _gtc("Market", "MSFT", "Buy to Open", Decimal(10))
        take_profit = _gtc("Limit", "MSFT", "Sell to Close", Decimal(10), price=mark * _UP_8)
        stop_loss = _gtc("Stop", "MSFT", "Sell to Close", Decimal(10), stop=mark * _DOWN_7)
        orders.append(LinkedRequest("OTOCO", entry, (take_profit, stop_loss)))
    spy = acct.positions.get("SPY")
    if holdings.stop_loss and spy is not None and spy.quantity > 0:
        stop = marks.mark("SPY") * _DOWN_5
        orders.append(_gtc("Stop", "SPY", "Sell to Close", spy.quantity, stop=stop))
    aapl = acct.positions.get("AAPL")
    if holdings.trailing_stop and aapl is not None and aapl.quantity > 0:
        trailing = _gtc("Trailing Stop", "AAPL", "Sell to Close", aapl.quantity)
        orders.append(dataclasses.replace(trailing, trail_percent=Decimal(4)))
    return orders


_UP_8, _DOWN_7, _DOWN_5 = Decimal("1.08"), Decimal("0.93"), Decimal("0.95")


def _gtc(
    order_type: str,
    ticker: str,
    action: str,
    qty: Decimal,
    *,
    price: Decimal | None = None,
    stop: Decimal | None = None,
) -> OrderRequest:
    leg = LegRequest(symbol=ticker, action=action, quantity=qty, instrument_type=EQUITY)
    return OrderRequest(
        order_type=order_type,
        legs=(leg,),
        time_in_force="GTC",
        price=None if price is None else cents(price),
        stop_trigger=None if stop is None else cents(stop),
        source=HOLDING_SOURCE,
    )


def _new_account_number(seed: int, customer_id: str, index: int, taken: dict[str, Account]) -> str:
    """`5WT` + 5 digits from a hash of seed and customer; probe on a collision."""
    digest = hashlib.sha256(f"{seed}|{customer_id}|{index}".encode()).digest()
    n = int.from_bytes(digest[:8], "big") % 99999 + 1
    for _ in range(99999):
        number = f"5WT{n:05d}"
        if number not in taken:
            return number
        n = n % 99999 + 1
    raise RuntimeError("the sandbox ran out of account numbers")


def _seed_margin_positions(acct: Account, rng: random.Random, now: float, marks: Marks) -> None:
    """A few equities (one short) and one or two SPY/QQQ options about 30-60 days out."""
    short = rng.choice(_MARGIN_SHORTS)
    for ticker, qty in (("SPY", 10), ("AAPL", 50), (short, -rng.choice((10, 15, 20, 25)))):
        _seed_position(acct, equity(ticker), Decimal(qty), rng, now, marks, spread=0.06)
    expiry = _option_expiry(market_date(now), rng)
    specs = [("SPY", "C", rng.choice((1, 2, 3)))]
    if rng.random() < 0.6:
        specs.append(("QQQ", "P", -1))
    for root, call_put, qty in specs:
        if not marks.prices.ensure(root):
            continue
        underlying = to_decimal(marks.prices.mid(root))
        strike = Decimal(int((underlying / 5).to_integral_value(ROUND_HALF_UP)) * 5)
        if call_put == "P":
            strike -= 5
        instrument = option(root, expiry, call_put, strike)
        _seed_position(acct, instrument, Decimal(qty), rng, now, marks, spread=0.25)


def _seed_ira_positions(acct: Account, rng: random.Random, now: float, marks: Marks) -> None:
    """Two long-term ETF holdings."""
    for ticker in rng.sample(_IRA_ETFS, 2):
        qty = Decimal(rng.randint(4, 16) * 5)
        _seed_position(acct, equity(ticker), qty, rng, now, marks, spread=0.12)


def _seed_position(
    acct: Account,
    instrument: Instrument,
    qty: Decimal,
    rng: random.Random,
    now: float,
    marks: Marks,
    *,
    spread: float,
) -> None:
    """Open a starting position with an average price near the current price."""
    if not marks.prices.ensure(instrument.streamer_symbol):
        return
    mark = marks.mark(instrument.streamer_symbol)
    if mark <= 0:
        return
    average = cents(mark * to_decimal(1 + rng.uniform(-spread, spread / 2)))
    opened = now - rng.randint(3, 25) * 86400.0
    acct.positions[instrument.symbol] = Position(
        instrument=instrument,
        quantity=qty,
        average_open_price=max(average, CENT),
        created_at=opened,
        updated_at=opened,
    )


def _option_expiry(today: date, rng: random.Random) -> date:
    """A monthly expiration 30-60 days out, else the last listed expiration in range
    (the chains' dates: a holiday Friday's expiration is the Thursday before)."""
    first, last = today + timedelta(days=30), today + timedelta(days=60)
    candidates = []
    for months_ahead in range(0, 4):
        year = today.year + (today.month - 1 + months_ahead) // 12
        month = (today.month - 1 + months_ahead) % 12 + 1
        monthly = chains.monthly_expiration(year, month)
        if first <= monthly <= last:
            candidates.append(monthly)
    if candidates:
        return rng.choice(candidates)
    expiry = chains.listed_expiration(last)
    return expiry if expiry <= last else chains.listed_expiration(last - timedelta(days=7))
