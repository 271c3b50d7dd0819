"""Alpaca keys → customers → brokerage accounts, for both APIs.

A Broker API key (HTTP Basic `key_id:secret_key`) is a customer with two accounts (margin
and Roth IRA); a Trading API key (`APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers) is a
customer with ONE account. The first secret seen for a key is its secret; a key belongs to
the API it was first used with (a Broker key does not trade on the Trading API and the
other way round). Each customer keeps its trade events (`StoredEvent`, made by
`trade_events/feed.py`) for replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from sandbox.alpaca.wire import account_uuid
from sandbox.core import demo_seed
from sandbox.core.credentials import credential_id
from sandbox.core.simulation import Simulation

BROKER, TRADING = "broker", "trading"


@dataclass
class StoredEvent:
    """One trade event as kept for replay."""

    seq: int  # the v1 integer event id
    ulid: str  # the v2 event id
    at: float
    body: dict[str, Any]  # the v2 payload without event_id


@dataclass
class Customer:
    cid: str
    secret_hash: str
    accounts: list[str]
    api: str  # BROKER | TRADING
    events: deque[StoredEvent] = field(default_factory=deque)
    dropped: int = 0  # events that fell out of the retention window
    last_dropped: StoredEvent | None = None
    connection_attempts: int = 0
    connections_refused: int = 0

    @property
    def number(self) -> str:
        """The account a Trading API key trades (its only one)."""
        return self.accounts[0]


class Customers:
    """Every Alpaca key seen, its accounts, and the Alpaca account ids of those accounts."""

    def __init__(self, sandbox: Simulation) -> None:
        self.sandbox = sandbox
        self.by_cid: dict[str, Customer] = {}
        self._owner: dict[str, str] = {}  # account number -> credential id
        self._numbers: dict[str, str] = {}  # account uuid -> number

    def authenticate(self, api: str, key_id: str, secret: str) -> Customer | None:
        """The key's customer (opened on first sight), or None for a missing or wrong
        secret, a revoked key, or a key of the other API."""
        if not key_id or not secret:
            return None
        cid = credential_id(key_id)
        known = self.sandbox.credentials.known().get(cid)
        if known is not None and known.revoked:
            return None
        secret_hash = hashlib.sha256(secret.encode()).hexdigest()
        customer = self.by_cid.get(cid)
        if customer is None:
            prefix = "alpaca" if api == BROKER else "alpaca-trading"
            numbers = self.sandbox.open_customer(f"{prefix}-{cid}", demo_seed.ALPACA)
            customer = Customer(cid, secret_hash, numbers if api == BROKER else numbers[:1], api)
            self.by_cid[cid] = customer
            for number in customer.accounts:
                self._owner[number] = cid
                self._numbers[account_uuid(number)] = number
        elif customer.secret_hash != secret_hash or customer.api != api:
            return None
        return customer

    def from_request(self, api: str, request: Request) -> Customer | None:
        """The customer of a request's credentials: HTTP Basic for the Broker API, the
        `APCA-API-*` headers for the Trading API."""
        if api == TRADING:
            headers = request.headers
            return self.authenticate(
                TRADING, headers.get("apca-api-key-id", ""), headers.get("apca-api-secret-key", "")
            )
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        key_id, _, secret = decoded.partition(":")
        if scheme.lower() != "basic":
            return None
        return self.authenticate(BROKER, key_id, secret)

    def account_of(self, customer: Customer, account_id: str) -> str | None:
        """The account number of one of the customer's Alpaca account ids."""
        number = self._numbers.get(account_id.strip().lower())
        return number if number in customer.accounts else None

    def owner_of(self, number: str) -> Customer | None:
        cid = self._owner.get(number)
        return None if cid is None else self.by_cid[cid]

    def credential_states(self) -> dict[str, dict[str, Any]]:
        known = self.sandbox.credentials.known()
        return {
            cid: {
                "broker": "alpaca",
                "api": c.api,
                "revoked": bool(getattr(known.get(cid), "revoked", False)),
                "accounts": list(c.accounts),
                "events": len(c.events) + c.dropped,
                "retained_events": len(c.events),
                "connection_attempts": c.connection_attempts,
                "connections_refused": c.connections_refused,
            }
            for cid, c in self.by_cid.items()
        }
