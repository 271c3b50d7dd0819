"""Who the customer is (GET /customers/me) and what each account may do
(GET /accounts/{n}/trading-status).

The sandbox knows a customer only as a credential id, so the profile is derived from it
(a stable hash picks the name and address) and its dates from the brokerage's accounts;
the trading status follows the account record (margin or cash, its options level).
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.records import AccountRecord
from sandbox.core.simulation import Simulation
from sandbox.tastytrade import wire
from sandbox.tastytrade.rest import account_route, authed, data_response

FIRST_NAMES = ("Alex", "Jordan", "Morgan", "Casey", "Riley", "Taylor", "Jamie", "Avery")
LAST_NAMES = ("Miller", "Nguyen", "Garcia", "Okafor", "Schmidt", "Rossi", "Tanaka", "Walsh")
ADDRESSES = (
    ("Chicago", "IL", "60601"),
    ("Austin", "TX", "78701"),
    ("Denver", "CO", "80202"),
    ("Boston", "MA", "02108"),
)
ACCOUNT_TYPES = [
    {
        "name": "Individual",
        "description": "Individual Account",
        "is-tax-advantaged": False,
        "is-publicly-available": True,
        "has-multiple-owners": False,
        "margin-types": [
            {"name": "Cash", "is-margin": False},
            {"name": "Margin", "is-margin": True},
        ],
    },
    {
        "name": "Roth IRA",
        "description": "Roth IRA",
        "is-tax-advantaged": True,
        "is-publicly-available": True,
        "has-multiple-owners": False,
        "margin-types": [{"name": "Cash", "is-margin": False}],
    },
]
DAY = 86400.0


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest())


def _accounts(sandbox: Simulation, credential: str) -> list[AccountRecord]:
    """The one adapter to the brokerage's account records."""
    return sandbox.brokerage.accounts(credential)


def customer_item(credential: str, accounts: list[AccountRecord]) -> dict[str, Any]:
    """A Customer object for a credential: the same answer every time it asks."""
    h = _digest(credential)
    first, last = FIRST_NAMES[h % 8], LAST_NAMES[(h >> 3) % 8]
    city, state, postal = ADDRESSES[(h >> 6) % 4]
    address = {
        "street-one": f"{100 + h % 900} Market Street",
        "city": city,
        "state-region": state,
        "postal-code": postal,
        "country": "USA",
        "is-foreign": False,
        "is-domestic": True,
    }
    opened = min((a.opened_at for a in accounts), default=0.0)
    birth_year = 1960 + (h >> 9) % 35
    return {
        "id": f"me{h % 10_000_000:07d}",
        "external-id": credential,
        "first-name": first,
        "last-name": last,
        "address": address,
        "mailing-address": address,
        "customer-suitability": None,
        "is-foreign": False,
        "usa-citizenship-type": "Citizen",
        "mobile-phone-number": f"+1312555{h % 10_000:04d}",
        "birth-date": f"{birth_year}-{1 + (h >> 15) % 12:02d}-{1 + (h >> 19) % 28:02d}",
        "email": f"{credential}@sandbox.invalid",
        "tax-number-type": "SSN",
        "subject-to-tax-withholding": False,
        "has-industry-affiliation": False,
        "has-listed-affiliation": False,
        "has-political-affiliation": False,
        "has-delayed-quotes": False,
        "has-pending-or-approved-application": True,
        "is-professional": False,
        "agreed-to-margining": True,
        "agreed-to-terms": True,
        "permitted-account-types": ACCOUNT_TYPES,
        "created-at": wire.iso(opened - DAY),
    }


async def customer_me(request: Request, sandbox: Simulation, credential: str) -> Response:
    return data_response(request, customer_item(credential, _accounts(sandbox, credential)))


def trading_status_item(account: AccountRecord) -> dict[str, Any]:
    """A TradingStatus object: a margin account on Reg T and futures-enabled, the IRA cash
    (no futures: sandbox/core/futures_orders.py); crypto is not said to be enabled."""
    return {
        "id": _digest(account.number) % 100_000_000,
        "account-number": account.number,
        "equities-margin-calculation-type": "Reg T" if account.margin else "Cash",
        "fee-schedule-name": "default",
        "futures-margin-rate-multiplier": "1.0" if account.margin else "0.0",
        "has-intraday-equities-margin": False,
        "is-aggregated-at-clearing": False,
        "is-closed": False,
        "is-closing-only": False,
        "is-cryptocurrency-enabled": False,
        "is-frozen": False,
        "is-full-equity-margin-required": False,
        "is-futures-closing-only": False,
        "is-futures-intra-day-enabled": False,
        "is-futures-enabled": account.margin,
        "is-in-day-trade-equity-maintenance-call": False,
        "is-in-margin-call": False,
        "is-pattern-day-trader": False,
        "is-portfolio-margin-enabled": False,
        "is-risk-reducing-only": False,
        "is-small-notional-futures-intra-day-enabled": False,
        "is-roll-the-day-forward-enabled": False,
        "are-far-otm-net-options-restricted": True,
        "options-level": account.options_level,
        "short-calls-enabled": account.margin,
        "small-notional-futures-margin-rate-multiplier": "0.0",
        "is-equity-offering-enabled": False,
        "is-equity-offering-closing-only": False,
        "day-trade-count": 0,
        "updated-at": wire.iso(account.opened_at),
    }


def trading_status(request: Request, sandbox: Simulation, number: str) -> Any:
    account = sandbox.brokerage.account(number)
    return None if account is None else trading_status_item(account)


routes = [
    Route("/customers/me", authed(customer_me)),
    Route("/accounts/{number}/trading-status", account_route(trading_status)),
]
