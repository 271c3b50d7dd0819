"""What each broker takes of each kind of instrument: order types, times in force, parts
of a unit, dollar amounts, legs, linked orders (docs/streaming-contract.md, "The order").

One table, read by the server's checks (streaming/trading/input.py) and said to the
browser's ticket as it is (the same table in static/js/stream/instruments.js, compared by
a test), so the form never offers what the broker would refuse. Sources:
developer.tastytrade.com "Order Submission" (a market order is not GTC; equities, futures
and coins one leg, options up to four; a coin's quantity has decimals); docs.alpaca.markets
"Crypto Orders" (market, limit and stop_limit; gtc and ioc, no day; qty or notional) and
"Fractional Trading"; Tradier trades equities and equity options only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from streaming.instruments.kinds import Kind

BROKER_NAMES = MappingProxyType(
    {"tastytrade": "tastytrade", "tradier": "Tradier", "alpaca": "Alpaca"}
)

STOPS = ("Limit", "Market", "Stop", "Stop Limit")


@dataclass(frozen=True, slots=True)
class Takes:
    """What one broker takes of one kind."""

    order_types: tuple[str, ...]
    times_in_force: tuple[str, ...]
    #: The times in force a Market order takes, where fewer (a Notional Market order
    #: takes the kind's: the documented notional crypto order is GTC).
    market_times_in_force: tuple[str, ...] | None = None
    #: Most legs of one order (several only for options).
    max_legs: int = 1
    #: Parts of a unit in a quantity: None (whole units only), or the decimals taken and
    #: the order types and times in force they are taken in (None: every one).
    fraction_places: int | None = None
    fraction_types: tuple[str, ...] | None = None
    fraction_times_in_force: tuple[str, ...] | None = None
    #: Whether it is sold short in parts (Alpaca: never).
    fraction_short: bool = True
    #: Whether the broker links orders of it (OCO, OTO, OTOCO).
    linked: bool = True

    def market_tifs(self) -> tuple[str, ...]:
        return self.market_times_in_force or self.times_in_force

    def as_json(self) -> dict[str, object]:
        return {
            "order_types": list(self.order_types),
            "times_in_force": list(self.times_in_force),
            "market_times_in_force": list(self.market_tifs()),
            "max_legs": self.max_legs,
            "fraction_places": self.fraction_places,
            "fraction_types": None if self.fraction_types is None else list(self.fraction_types),
            "fraction_times_in_force": (
                None if self.fraction_times_in_force is None else list(self.fraction_times_in_force)
            ),
            "fraction_short": self.fraction_short,
            "linked": self.linked,
        }


_TASTY_STOCK = Takes((*STOPS, "Notional Market"), ("Day", "GTC"), ("Day",))
_TASTY_OPTIONS = Takes(STOPS, ("Day", "GTC"), ("Day",), max_legs=4)
_TASTY_FUTURES = Takes(STOPS, ("Day", "GTC"), ("Day",))
_TASTY_COINS = Takes(
    ("Limit", "Market", "Stop Limit", "Notional Market"),
    ("GTC", "IOC"),
    ("IOC",),
    fraction_places=8,
    linked=False,
)
_TRADIER_STOCK = Takes(STOPS, ("Day", "GTC"))
_TRADIER_OPTIONS = Takes(STOPS, ("Day", "GTC"), max_legs=4)
_ALPACA_STOCK = Takes(
    (*STOPS, "Trailing Stop", "Notional Market"),
    ("Day", "GTC"),
    fraction_places=9,
    fraction_types=("Market", "Limit", "Stop", "Stop Limit"),
    fraction_times_in_force=("Day",),
    fraction_short=False,
)
_ALPACA_OPTIONS = Takes(STOPS, ("Day",), linked=False)
_ALPACA_COINS = Takes(
    ("Limit", "Market", "Stop Limit", "Notional Market"),
    ("GTC", "IOC"),
    fraction_places=9,
    fraction_short=False,
    linked=False,
)

TAKES: Mapping[tuple[str, Kind], Takes] = MappingProxyType(
    {
        ("tastytrade", Kind.EQUITY): _TASTY_STOCK,
        ("tastytrade", Kind.EQUITY_OPTION): _TASTY_OPTIONS,
        ("tastytrade", Kind.FUTURE): _TASTY_FUTURES,
        ("tastytrade", Kind.FUTURE_OPTION): _TASTY_OPTIONS,
        ("tastytrade", Kind.CRYPTO): _TASTY_COINS,
        ("tradier", Kind.EQUITY): _TRADIER_STOCK,
        ("tradier", Kind.EQUITY_OPTION): _TRADIER_OPTIONS,
        ("alpaca", Kind.EQUITY): _ALPACA_STOCK,
        ("alpaca", Kind.EQUITY_OPTION): _ALPACA_OPTIONS,
        ("alpaca", Kind.CRYPTO): _ALPACA_COINS,
    }
)

#: Why a broker takes none of a kind, in words.
NONE_OF = MappingProxyType(
    {
        "tradier": "Tradier trades stocks and options only: it takes no {kind} orders.",
        "alpaca": "Alpaca trades stocks, options and crypto: it takes no {kind} orders.",
        "tastytrade": "tastytrade takes no orders of this kind here.",
    }
)


def takes(broker: str, kind: Kind) -> Takes | None:
    return TAKES.get((broker, kind))


def refusal(broker: str, kind: Kind) -> str:
    """The sentence for a kind the broker does not trade."""
    template = NONE_OF.get(broker, "{broker} takes no {kind} orders here.")
    return template.format(kind=kind.words, broker=BROKER_NAMES.get(broker, broker))


def table() -> dict[str, dict[str, dict[str, object] | None]]:
    """Every broker's rules per kind, as the browser reads them (None: not traded)."""
    return {
        broker: {str(kind): (t.as_json() if (t := takes(broker, kind)) else None) for kind in Kind}
        for broker in BROKER_NAMES
    }
