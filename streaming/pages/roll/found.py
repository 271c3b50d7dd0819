"""What a roll starts from, read from the user's snapshot: the account, and the position
(one option, or a strategy's option legs by its key) with each leg's quote, delta and IV
(docs/streaming-contract.md, "The roll picker": its 404s)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from streaming.chains.service import mid
from streaming.instruments.instrument import parse
from streaming.instruments.symbols import streamer_to_occ_symbol
from streaming.pages.roll.choices import Held
from streaming.pages.roll.query import Refused, RollQuery
from streaming.pages.roll.rows import Option, Position
from streaming.risk.legs import Leg, legs_from_snapshot
from streaming.risk.strategies.grouping import strategies_of
from streaming.validation import normalize_symbol


def account_of(snapshot: Mapping[str, Any], number: str) -> dict[str, Any]:
    """The user's account of that number, or 404 `no_account`."""
    for account in snapshot.get("accounts") or ():
        if str(account.get("number")) == number:
            return dict(account)
    raise Refused(404, "no_account", f"You have no account {number[:40]}.")


def _option(leg: Leg, snapshot: Mapping[str, Any]) -> tuple[Held, Option]:
    streamer = normalize_symbol(leg.symbol) or leg.symbol
    quote = (snapshot.get("quotes") or {}).get(streamer) or {}
    assert leg.strike is not None and leg.expiration is not None and leg.kind != "stock"
    held = Held(leg.kind, leg.strike, leg.quantity)
    return held, Option(
        symbol=streamer,
        occ=streamer_to_occ_symbol(streamer) or leg.symbol,
        right=leg.kind,
        strike=leg.strike,
        expiration=leg.expiration,
        mid=mid(quote.get("bid"), quote.get("ask")),
        delta=leg.greeks.get("delta"),
        iv=leg.iv,
        quote_t=quote.get("t"),
    )


def _legs(snapshot: Mapping[str, Any], number: str, query: RollQuery) -> list[Leg]:
    legs = [
        leg
        for leg in legs_from_snapshot(snapshot)
        if leg.account == number and leg.is_option and leg.asset == "equity"
    ]
    if query.symbol is not None:
        found = [leg for leg in legs if normalize_symbol(leg.symbol) == query.symbol]
        if not found:
            instrument = parse(query.symbol)
            name = instrument.display if instrument is not None else query.symbol
            raise Refused(404, "no_position", f"No position in {name} in account {number}.")
        return found[:1]
    for strategy in strategies_of(legs):
        if strategy.key == query.strategy:
            # the share of each leg the strategy uses
            return [replace(p.leg, quantity=p.quantity) for p in strategy.parts if p.leg.is_option]
    raise Refused(
        404, "no_position", f"No strategy {str(query.strategy)[:40]} in account {number}."
    )


def position_of(
    snapshot: Mapping[str, Any], account: Mapping[str, Any], query: RollQuery
) -> Position:
    """The position asked for in that account, or 404 `no_position`."""
    number = str(account["number"])
    legs = _legs(snapshot, number, query)
    return Position(
        account=number,
        underlying=legs[0].underlying,
        multiplier=legs[0].multiplier,
        held=tuple(_option(leg, snapshot) for leg in legs),
    )
