"""`GET /api/roll/candidates`'s query (docs/streaming-contract.md, "The roll picker"): the
account, one option position (`symbol`) or a strategy's `key`, and the delta target.
A query it refuses is a `Refused` with the status, code and sentence the contract's table
gives."""

from __future__ import annotations

import math
from dataclasses import dataclass

from streaming.instruments.instrument import parse
from streaming.validation import normalize_symbol

PARAMETERS = ("account", "symbol", "strategy", "delta")
DEFAULT_DELTA = 0.30
DELTA_RANGE = (0.05, 0.95)


@dataclass(frozen=True)
class Refused(Exception):
    """A query answered with a refusal: its status, code and sentence."""

    status: int
    code: str
    sentence: str


@dataclass(frozen=True)
class RollQuery:
    account: str
    symbol: str | None  # the option's streamer symbol
    strategy: str | None  # a strategy's key
    delta: float


def _bad(sentence: str) -> Refused:
    return Refused(400, "bad_parameter", sentence)


def _delta(raw: str | None) -> float:
    if raw is None or raw == "":
        return DEFAULT_DELTA
    try:
        value = abs(float(raw))
    except ValueError:
        value = math.nan
    low, high = DELTA_RANGE
    if not low <= value <= high:  # nan fails too
        raise _bad(f"delta must be a number from {low} to {high}, e.g. 0.30 (got {raw[:20]!r}).")
    return value


def _option(raw: str) -> str:
    """The option's streamer symbol, or `not_an_option` in words."""
    symbol = normalize_symbol(raw.strip())
    found = parse(symbol) if symbol else None
    if found is None or not found.kind.is_option:
        shown = raw.strip().upper()[:40]
        raise Refused(400, "not_an_option", f"{shown} is not an option: there is nothing to roll.")
    return found.symbol


def parse_query(query: dict[str, str]) -> RollQuery:
    """The query, or `Refused` (400) in the contract's words."""
    unknown = sorted(set(query) - set(PARAMETERS))
    if unknown:
        raise _bad(
            f"unknown parameter '{unknown[0][:40]}' (only account, symbol, strategy and delta "
            "are read)."
        )
    symbol, strategy = query.get("symbol", "").strip(), query.get("strategy", "").strip()
    if bool(symbol) == bool(strategy):
        raise _bad("Name one position: symbol=<option symbol> or strategy=<strategy key>.")
    account = query.get("account", "").strip()
    if not account:
        raise _bad("Name the position's account: account=<account number>.")
    delta = _delta(query.get("delta"))
    return RollQuery(
        account=account,
        symbol=_option(symbol) if symbol else None,
        strategy=strategy or None,
        delta=delta,
    )
