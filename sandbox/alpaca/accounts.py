"""Alpaca accounts for both APIs: the trading account (balances) both serve, its trading
configuration, and the Broker API's account objects (list with filters, one account with
the owner's KYC sections).

The owner's personal data (name, address, e-mail, agreements) is plausible sandbox data
derived from the key, the same for both of its accounts and stable across restarts; it
exists only here. Every figure comes from the brokerage's records through `render`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.alpaca import render
from sandbox.alpaca.facade import Scope
from sandbox.alpaca.wire import bad, iso, parse_time
from sandbox.core.records import AccountRecord

_ENTITIES = ("contact", "identity", "disclosures", "agreements", "documents", "trusted_contact")
_CHECKS = ("both", "entry", "exit")
_BOOL = (True, False)
#: What PATCH …/account/configurations takes, with the allowed values (the multiplier and
#: the options level also depend on the account: a cash account has no margin, level <= 2).
_CONFIG_FIELDS: dict[str, tuple[Any, ...]] = {
    "dtbp_check": _CHECKS,
    "pdt_check": _CHECKS,
    "trade_confirm_email": ("all", "none"),
    "suspend_trade": _BOOL,
    "no_shorting": _BOOL,
    "fractional_trading": _BOOL,
    "ptp_no_exception_entry": _BOOL,
    "disable_overnight_trading": _BOOL,
    "max_margin_multiplier": (),
    "max_options_trading_level": (),
}
_GIVEN = ("Avery", "Jordan", "Morgan", "Riley", "Casey", "Quinn", "Taylor", "Devon")
_FAMILY = ("Nguyen", "Garcia", "Okafor", "Larsen", "Schmidt", "Patel", "Moreau", "Tanaka")
_PLACES = (
    ("20 N San Mateo Dr", "San Mateo", "CA", "94401"),
    ("1 Main St", "Boston", "MA", "02108"),
    ("233 S Wacker Dr", "Chicago", "IL", "60606"),
    ("600 Congress Ave", "Austin", "TX", "78701"),
)


def trade_account(scope: Scope) -> dict[str, Any]:
    """The balances, with the switches the account's configuration turned."""
    brokerage = scope.facade.sandbox.brokerage
    view = render.trade_account(
        scope.facade.account(scope.number),
        brokerage.balance(scope.number),
        [p for p in brokerage.positions(scope.number) if p.quantity],
    )
    config = trade_configuration(scope)
    view["shorting_enabled"] = view["shorting_enabled"] and not config["no_shorting"]
    view["trade_suspended_by_user"] = config["suspend_trade"]
    return view


def trade_configuration(scope: Scope) -> dict[str, Any]:
    """The account's defaults with what was set through PATCH."""
    defaults = render.trade_configuration(scope.facade.account(scope.number))
    return defaults | scope.facade.configurations.get(scope.number, {})


def update_configuration(scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
    """PATCH: every field given (null = unchanged) is checked before any is stored."""
    account = scope.facade.account(scope.number)
    changes = {}
    for name, value in body.items():
        if value is None or name not in _CONFIG_FIELDS:
            continue  # UNCONFIRMED: unknown fields are ignored
        allowed = _CONFIG_FIELDS[name]
        if name == "max_margin_multiplier":
            value = str(value) if isinstance(value, int | str) else value
            allowed = ("1", "2", "4") if account.margin else ("1",)
        elif name == "max_options_trading_level":
            allowed = tuple(range(4 if account.margin else 3))
        if isinstance(value, bool) != (allowed == _BOOL) or value not in allowed:
            raise bad(f"invalid {name}: {value!r} (allowed: {', '.join(map(str, allowed))})")
        changes[name] = value
    scope.facade.configurations.setdefault(scope.number, {}).update(changes)
    return trade_configuration(scope)


# --------------------------------------------------------------------------- Broker API


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


def agreements(account: AccountRecord) -> list[dict[str, Any]]:
    signed = iso(account.opened_at).replace(".000000", "")
    kinds = ["customer_agreement", "account_agreement", "options_agreement"]
    if account.margin:
        kinds.insert(1, "margin_agreement")
    return [
        {"agreement": kind, "signed_at": signed, "ip_address": "127.0.0.1", "revision": None}
        for kind in kinds
    ]


def account_view(scope: Scope, entities: tuple[str, ...] = _ENTITIES) -> dict[str, Any]:
    """The Broker `Account` object with the asked-for KYC sections."""
    brokerage = scope.facade.sandbox.brokerage
    account = scope.facade.account(scope.number)
    view = render.account_summary(
        account,
        brokerage.balance(scope.number),
        [p for p in brokerage.positions(scope.number) if p.quantity],
    )
    view["kyc_results"] = {"reject": {}, "accept": {}, "indeterminate": {}, "summary": "pass"}
    sections = owner(scope.customer.cid)
    sections["agreements"] = agreements(account)
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


def select(scopes: list[Scope], params: Any) -> list[dict[str, Any]]:
    """`GET /v1/accounts`: `query` (space-separated tokens, all must match number, name,
    e-mail or phone), `created_after`/`created_before` (exclusive), `status`, `entities`,
    `sort` (by creation; Alpaca's default is newest first, `desc`)."""
    entities = tuple(e for raw in params.getlist("entities") for e in raw.split(",") if e)
    if unknown := [e for e in entities if e not in _ENTITIES]:
        raise bad(f"invalid entities: {','.join(unknown)}")
    statuses = {st for raw in params.getlist("status") for st in raw.split(",") if st}
    bounds: dict[str, float] = {}
    for name in ("created_after", "created_before"):
        if params.get(name):
            at = parse_time(params[name])
            if at is None:
                raise bad(f"{name} must be an RFC 3339 timestamp")
            bounds[name] = at
    sort = params.get("sort", "desc")
    if sort not in ("asc", "desc"):
        raise bad("sort must be asc or desc")
    tokens = params.get("query", "").lower().split()
    found = []
    for scope in scopes:
        view = account_view(scope, entities)
        created = parse_time(view["created_at"]) or 0.0
        if statuses and view["status"] not in statuses:
            continue
        if "created_after" in bounds and not created > bounds["created_after"]:
            continue
        if "created_before" in bounds and not created < bounds["created_before"]:
            continue
        if tokens and not all(t in _searchable(view, scope.customer.cid) for t in tokens):
            continue
        found.append(view)
    found.sort(key=lambda v: v["created_at"], reverse=sort == "desc")
    return found
