"""The chains feature's shapes: what `GET /api/chain/<SYMBOL>` and
`/api/chain/<SYMBOL>/expirations` answer (static/js/stream/render/chain.js and the chain
page read them; docs/streaming-contract.md "Option chains"). Pure types, no I/O.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, final

Number = float | int | None
Right = Literal["call", "put"]
#: A side's value fields (a number or null).
SideField = Literal[
    "bid", "ask", "mark", "last", "volume", "open_interest", "iv", "delta", "gamma", "theta", "vega"
]


class Expiration(TypedDict):
    """One listed expiration, as the broker's chain source gives it (brokers/chains.py)."""

    date: str
    type: str
    dte: int


class SideAnswer(TypedDict):
    """One side (call or put) of a strike row: the broker's values, then newer stream
    values; null where nobody sent one (service.side_values)."""

    symbol: str
    occ: str
    bid: Number
    ask: Number
    mark: Number
    last: Number
    volume: Number
    open_interest: Number
    iv: Number
    delta: Number
    gamma: Number
    theta: Number
    vega: Number
    quote_t: int | None
    greeks_t: int | None


class RowAnswer(TypedDict):
    strike: float
    call: SideAnswer
    put: SideAnswer


@final  # a body is told apart by its keys (`in` narrows a final TypedDict)
class ExpirationsAnswer(TypedDict):
    """`GET /api/chain/<SYMBOL>/expirations`."""

    underlying: str
    broker: str
    link: int
    expirations: list[Expiration]
    t: int


@final  # a body is told apart by its keys (`in` narrows a final TypedDict)
class ChainAnswer(TypedDict):
    """`GET /api/chain/<SYMBOL>?expiration=&strikes=`: the window's rows around the money."""

    underlying: str
    expiration: str
    expirations: list[str]
    strikes: int
    broker: str
    link: int
    quotes_available: bool
    underlying_price: float | None
    atm_strike: float | None
    multiplier: int
    rows: list[RowAnswer]
    #: streamer symbols of the underlying's options the user holds
    held: list[str]
    fetched_at: int
    ttl_ms: int
    #: "stream" (tastytrade: live greeks) or "chain" (Tradier: the chain's, hourly)
    greeks_source: str
    simulated: bool
    t: int


@final  # a body is told apart by its keys (`in` narrows a final TypedDict)
class ChainError(TypedDict):
    """An error answer: `code` (bad_symbol, no_quote_link, timeout, ...), the sentence,
    and for `rate_limited` the seconds to wait."""

    error: str
    code: str
    retry_in: NotRequired[float]


#: An answer of either endpoint, or its error.
ChainBody = ChainAnswer | ExpirationsAnswer | ChainError
