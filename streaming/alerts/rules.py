"""Price alerts evaluated on quotes: pure, no I/O, no clock of its own (callers pass now).

One `AlertBook` per user stream, alerts indexed by symbol: a quote of a symbol without
alerts costs one dictionary lookup; one with alerts, a few comparisons per alert. The
book only *proposes* changes (a trigger, a re-arm, an expiry) and updates its own copy
at once so that the next tick does not propose the same change again; whether a trigger
really happened is decided by the database's compare-and-set (alerts/store.py), which
makes a crossing fire once in the cluster (docs/streaming-contract.md "Price alerts").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from streaming.contract.frames import AlertState
from streaming.instruments.instrument import parse

ABOVE, BELOW, MOVE_UP, MOVE_DOWN = "above", "below", "move_up", "move_down"
CONDITIONS = (ABOVE, BELOW, MOVE_UP, MOVE_DOWN)
PERCENT_CONDITIONS = (MOVE_UP, MOVE_DOWN)
#: A re-arming price alert arms again once the price is back across the level by this
#: fraction of the level (0.1 %): a price hovering at the level does not fire per tick.
PRICE_HYSTERESIS = 0.001
#: ...and a % move alert once the move is back by this many percentage points.
PERCENT_HYSTERESIS = 0.1


@dataclass
class Rule:
    """The book's copy of one active alert."""

    id: int
    symbol: str
    condition: str
    level: Decimal
    rearm: bool
    armed: bool
    expires_at_ms: int | None = None
    crossings: int = 0

    def __post_init__(self) -> None:
        self.level_f = float(self.level)

    @classmethod
    def from_dict(cls, alert: AlertState) -> Rule:
        """From an alert as the API and the snapshot have it (alerts/store.py `alert_dict`)."""
        return cls(
            id=alert["id"],
            symbol=alert["symbol"],
            condition=alert["condition"],
            level=Decimal(str(alert["level"])),
            rearm=alert["rearm"],
            armed=alert["armed"],
            expires_at_ms=alert.get("expires_at"),
            crossings=alert.get("crossings", 0),
        )


@dataclass
class Change:
    """What the book proposes: `trigger` (at `price`, quote time `at`), `rearm`, `expire`."""

    kind: Literal["trigger", "rearm", "expire"]
    rule: Rule
    price: float | None = None
    at: int | None = None
    pct: float | None = None


def price_of(quote: Mapping[str, object]) -> float | None:
    """The price alerts compare: the last trade if there is one, else the bid/ask mid."""
    last = quote.get("last")
    if isinstance(last, int | float) and last > 0:
        return float(last)
    bid, ask = quote.get("bid"), quote.get("ask")
    if isinstance(bid, int | float) and isinstance(ask, int | float) and bid > 0 and ask > 0:
        return (bid + ask) / 2
    return None


def move_pct(price: float, quote: Mapping[str, object]) -> float | None:
    """The move from the previous close in percent, None without a previous close."""
    prev = quote.get("prev_close")
    if not isinstance(prev, int | float) or prev <= 0:
        return None
    return (price - prev) / prev * 100


def holds(rule: Rule, price: float, pct: float | None) -> bool | None:
    """Whether the condition holds (None: cannot tell, e.g. no previous close)."""
    if rule.condition == ABOVE:
        return price >= rule.level_f
    if rule.condition == BELOW:
        return price <= rule.level_f
    if pct is None:
        return None
    return pct >= rule.level_f if rule.condition == MOVE_UP else pct <= -rule.level_f


def back_across(rule: Rule, price: float, pct: float | None) -> bool:
    """Whether the price went back across the level by more than the hysteresis."""
    level = rule.level_f
    if rule.condition == ABOVE:
        return price < level * (1 - PRICE_HYSTERESIS)
    if rule.condition == BELOW:
        return price > level * (1 + PRICE_HYSTERESIS)
    if pct is None:
        return False
    if rule.condition == MOVE_UP:
        return pct < level - PERCENT_HYSTERESIS
    return pct > -level + PERCENT_HYSTERESIS


def display_of(symbol: str) -> str:
    """An alert's symbol as a trader reads it (`BTC/USD:CXTALP` → `BTC/USD`, an /ES option
    → `/ES Dec 26 6000 C`); a symbol no rule reads, as it is."""
    instrument = parse(symbol)
    return instrument.display if instrument is not None else symbol


def money(value: float | Decimal) -> str:
    """A price as the message writes it: 2 decimals, 4 below one dollar."""
    number = float(value)
    return f"{number:,.4f}" if abs(number) < 1 else f"{number:,.2f}"


def message(
    symbol: str, condition: str, level: float | Decimal, price: float, pct: float | None
) -> str:
    """The trigger's sentence, e.g. "AAPL rose to 201.30, above 200.00" (`symbol`: the
    name it says, the display name)."""
    if condition == ABOVE:
        return f"{symbol} rose to {money(price)}, above {money(level)}"
    if condition == BELOW:
        return f"{symbol} fell to {money(price)}, below {money(level)}"
    moved = "" if pct is None else f"{abs(pct):.2f}% "
    way = ("rose", "up") if condition == MOVE_UP else ("fell", "down")
    return (
        f"{symbol} {way[0]} {moved}from the previous close to {money(price)}, "
        f"{way[1]} {float(level):.2f}% or more"
    )


class AlertBook:
    """One user's active alerts by symbol, and their evaluation per quote."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.by_symbol: dict[str, dict[int, Rule]] = {}
        self.replace(rules)

    def replace(self, rules: Iterable[Rule]) -> None:
        """The alerts as the database has them now (after a load or an edit)."""
        self.by_symbol = {}
        for rule in rules:
            self.by_symbol.setdefault(rule.symbol, {})[rule.id] = rule

    def remove(self, rule: Rule) -> None:
        rules = self.by_symbol.get(rule.symbol)
        if rules is not None and rules.pop(rule.id, None) is not None and not rules:
            del self.by_symbol[rule.symbol]

    def rules(self) -> list[Rule]:
        return [rule for rules in self.by_symbol.values() for rule in rules.values()]

    def symbols(self) -> set[str]:
        return set(self.by_symbol)

    def check(self, symbol: str, quote: Mapping[str, Any], now_ms: int) -> list[Change]:
        """The changes one quote (the symbol's merged last values) causes; the book's
        copies already reflect them (disarmed, re-armed, removed)."""
        rules = self.by_symbol.get(symbol)
        if not rules:
            return []
        price = price_of(quote)
        if price is None:
            return []
        pct = move_pct(price, quote)
        at = quote.get("t") if isinstance(quote.get("t"), int) else now_ms
        changes: list[Change] = []
        for rule in list(rules.values()):
            if rule.expires_at_ms is not None and now_ms >= rule.expires_at_ms:
                self.remove(rule)
                changes.append(Change("expire", rule))
            elif rule.armed:
                if holds(rule, price, pct):
                    rule.armed = False
                    if not rule.rearm:
                        self.remove(rule)
                    changes.append(Change("trigger", rule, price, at, pct))
            elif rule.rearm and back_across(rule, price, pct):
                rule.armed = True
                changes.append(Change("rearm", rule))
        return changes
