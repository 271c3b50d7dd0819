"""Broker API accounts: the list with its filters, one account with the owner's KYC
sections, the trading account (balances) and its trading configuration.

The owner's personal data (name, address, e-mail, agreements) is plausible sandbox data
derived from the key, the same for both of its accounts and stable across restarts; it
exists only here. Balances come from the brokerage through the façade's renderers, and
the previous-close figures from the market's previous close (`position.lastday_price`).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import clock, core_access
from .broker_api import (
    AlpacaSandbox,
    _Customer,
    account_route,
    alpaca_error,
    dec,
    facade_of,
    iso,
    ok,
    parse_time,
    s,
)
from .core_access import AccountFacts

#: Fields Alpaca dropped from trading accounts on 2026-07-06 (FINRA intraday-margin
#: migration, per alpaca-py 0.44.0's TradeAccount docstring).
_RETIRED = ("daytrading_buying_power", "daytrade_count", "pattern_day_trader")
_ENTITIES = ("contact", "identity", "disclosures", "agreements", "documents", "trusted_contact")
_GIVEN = ("Avery", "Jordan", "Morgan", "Riley", "Casey", "Quinn", "Taylor", "Devon")
_FAMILY = ("Nguyen", "Garcia", "Okafor", "Larsen", "Schmidt", "Patel", "Moreau", "Tanaka")
_PLACES = (
    ("20 N San Mateo Dr", "San Mateo", "CA", "94401"),
    ("1 Main St", "Boston", "MA", "02108"),
    ("233 S Wacker Dr", "Chicago", "IL", "60606"),
    ("600 Congress Ave", "Austin", "TX", "78701"),
)


# --------------------------------------------------------------------------- shapes


def owner(cid: str) -> dict[str, Any]:
    """The key's account owner: contact, identity, disclosures (stable per key)."""
    h = hashlib.sha256(cid.encode()).digest()
    given, family = _GIVEN[h[0] % len(_GIVEN)], _FAMILY[h[1] % len(_FAMILY)]
    street, city, state, postal = _PLACES[h[2] % len(_PLACES)]
    tag = h[3:5].hex()
    return {
        "contact": {
            "email_address": f"{given}.{family}.{tag}@example.com".lower(),
            "phone_number": f"+1555{int.from_bytes(h[5:8], 'big') % 10_000_000:07d}",
            "street_address": [street],
            "city": city,
            "state": state,
            "postal_code": postal,
            "country": "USA",
        },
        "identity": {
            "given_name": given,
            "family_name": family,
            "date_of_birth": f"{1960 + h[8] % 40}-{1 + h[9] % 12:02d}-{1 + h[10] % 28:02d}",
            "tax_id_type": "USA_SSN",
            "country_of_citizenship": "USA",
            "country_of_birth": "USA",
            "country_of_tax_residence": "USA",
            "funding_source": ["employment_income"],
            "annual_income_min": "50000",
            "annual_income_max": "150000",
            "liquid_net_worth_min": "100000",
            "liquid_net_worth_max": "500000",
        },
        "disclosures": {
            "is_control_person": False,
            "is_affiliated_exchange_or_finra": False,
            "is_politically_exposed": False,
            "immediate_family_exposed": False,
            "employment_status": "EMPLOYED",
        },
    }


def agreements(facts: AccountFacts) -> list[dict[str, Any]]:
    signed = iso(facts.opened_at).replace(".000000", "")
    kinds = ["customer_agreement", "account_agreement", "options_agreement"]
    if facts.margin:
        kinds.insert(1, "margin_agreement")
    return [
        {"agreement": kind, "signed_at": signed, "ip_address": "127.0.0.1", "revision": None}
        for kind in kinds
    ]


def account_view(
    facade: AlpacaSandbox, customer: _Customer, number: str, entities: tuple[str, ...]
) -> dict[str, Any]:
    """The Broker `Account` object with the asked-for KYC sections."""
    facts = core_access.account_facts(facade, number)
    view = facade.account_summary(number)
    view["account_type"] = "ira" if facts.roth else "trading"
    view["account_sub_type"] = "roth" if facts.roth else None
    view["trading_type"] = "margin" if facts.margin else "cash"
    view["kyc_results"] = {"reject": {}, "accept": {}, "indeterminate": {}, "summary": "pass"}
    sections = owner(customer.cid)
    sections["agreements"] = agreements(facts)
    sections["documents"] = []
    for name in entities:
        if name in sections:
            view[name] = sections[name]
    return view


def _searchable(view: dict[str, Any], cid: str) -> str:
    person = owner(cid)
    identity, contact = person["identity"], person["contact"]
    words = [view["account_number"], contact["email_address"], contact["phone_number"]]
    words += [identity["given_name"], identity["family_name"]]
    return " ".join(words).lower()


def trade_account(facade: AlpacaSandbox, number: str) -> dict[str, Any]:
    """The trading account: the renderer's balances plus the previous-close figures."""
    view = facade.trading_account(number)
    for name in _RETIRED:
        view.pop(name, None)
    long_then = short_then = Decimal(0)
    long_now = short_now = Decimal(0)
    for position in core_access.positions(facade, number):
        value = dec(position["market_value"])
        then = value - dec(position["unrealized_intraday_pl"])
        if position["side"] == "long":
            long_then, long_now = long_then + then, long_now + value
        else:
            short_then, short_now = short_then + then, short_now + value
    facts = core_access.account_facts(facade, number)
    closed = clock.last_session_close()
    level = 3 if facts.margin else 2
    view.update(
        {
            "cash_transferable": view["cash_withdrawable"],
            "effective_buying_power": view["buying_power"],
            "position_market_value": s(long_now - short_now),
            "balance_asof": closed.date().isoformat(),
            "previous_close": closed.isoformat(),
            # no end-of-day ledger: yesterday's cash and margin are today's (UNCONFIRMED)
            "last_cash": view["cash"],
            "last_long_market_value": s(long_then),
            "last_short_market_value": s(short_then),
            "last_initial_margin": view["initial_margin"],
            "last_regt_buying_power": view["regt_buying_power"],
            "last_buying_power": view["buying_power"],
            "last_options_buying_power": view["options_buying_power"],
            "trade_suspended_by_user": False,
            "options_approved_level": level,
            "options_trading_level": level,
            "clearing_broker": "ALPACA_APCA",
            "memoposts": "0",
            "intraday_adjustments": "0",
            "pending_reg_taf_fees": "0",
        }
    )
    view["last_equity"] = s(dec(view["last_cash"]) + long_then + short_then)
    return view


def trade_configuration(facade: AlpacaSandbox, number: str) -> dict[str, Any]:
    margin = core_access.account_facts(facade, number).margin
    return {
        "dtbp_check": "entry",
        "trade_confirm_email": "all",
        "suspend_trade": False,
        "no_shorting": not margin,
        "fractional_trading": False,
        "max_margin_multiplier": "2" if margin else "1",
        "max_options_trading_level": 3 if margin else 2,
        "pdt_check": "entry",
        "ptp_no_exception_entry": False,
    }


# --------------------------------------------------------------------------- routes


async def list_accounts(request: Request) -> Response:
    """`query` (space-separated tokens, all must match number, name, e-mail or phone),
    `created_after`/`created_before` (exclusive), `status`, `sort`, `entities`.

    Alpaca sorts newest first by default; without `sort` the sandbox keeps the key's own
    order instead (the margin account first), which clients here take as the primary one.
    alpaca-py always sends `sort` (desc) with a `ListAccountsRequest`."""
    facade = facade_of(request)
    customer = facade.authenticate(request)
    if isinstance(customer, Response):
        return customer
    q = request.query_params
    entities = tuple(e for raw in q.getlist("entities") for e in raw.split(",") if e)
    if unknown := [e for e in entities if e not in _ENTITIES]:
        return alpaca_error(400, 40010000, f"invalid entities: {','.join(unknown)}")
    statuses = {st for raw in q.getlist("status") for st in raw.split(",") if st}
    bounds = {}
    for name in ("created_after", "created_before"):
        if q.get(name):
            bounds[name] = parse_time(q[name])
            if bounds[name] is None:
                return alpaca_error(400, 40010000, f"{name} must be an RFC 3339 timestamp")
    sort = q.get("sort")
    if sort not in (None, "asc", "desc"):
        return alpaca_error(400, 40010000, "sort must be asc or desc")
    tokens = q.get("query", "").lower().split()
    found = []
    for number in customer.accounts:
        view = account_view(facade, customer, number, entities)
        created = parse_time(view["created_at"]) or 0.0
        if statuses and view["status"] not in statuses:
            continue
        if "created_after" in bounds and not created > bounds["created_after"]:
            continue
        if "created_before" in bounds and not created < bounds["created_before"]:
            continue
        if tokens and not all(t in _searchable(view, customer.cid) for t in tokens):
            continue
        found.append(view)
    if sort is not None:  # without it: the key's own order, its margin account first
        found.sort(key=lambda v: v["created_at"], reverse=sort == "desc")
    return ok(found)


async def get_account(request: Request) -> Response:
    facade = facade_of(request)
    customer = facade.authenticate(request)
    if isinstance(customer, Response):
        return customer
    number = facade.account_of(customer, request.path_params["account_id"])
    if number is None:
        return alpaca_error(404, 40410000, "account not found")
    return ok(account_view(facade, customer, number, _ENTITIES))


@account_route
async def get_trade_account(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    return ok(trade_account(facade, number))


@account_route
async def get_configurations(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    return ok(trade_configuration(facade, number))


_TRADING = "/alpaca/v1/trading/accounts/{account_id}"
routes = [
    Route("/alpaca/v1/accounts", list_accounts, methods=["GET"]),
    Route("/alpaca/v1/accounts/{account_id}", get_account, methods=["GET"]),
    Route(f"{_TRADING}/account", get_trade_account, methods=["GET"]),
    Route(f"{_TRADING}/account/configurations", get_configurations, methods=["GET"]),
]
