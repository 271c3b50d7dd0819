"""What an Alpaca link's parts share: its key pair, its API (the Broker API or a trader's
own Trading API), a client of that API for a call, and the accounts its account stream
found. Keys need no session, so every part opens a short client of its own; the account
stream fills `accounts` when it connects (Alpaca's paths name accounts by id)."""

from __future__ import annotations

from typing import Any

from streaming.brokers.alpaca.client import AlpacaClient, AlpacaTradingClient


class Connection:
    """An Alpaca link's key, API and accounts. `trading_api`: the Trading API (one
    account, `/v2` paths), else the Broker API (`/v1/trading/accounts/{id}/…`)."""

    def __init__(self, key_id: str, secret_key: str, api_url: str, *, trading_api: bool) -> None:
        self.key_id = key_id
        self.secret_key = secret_key
        self.api_url = api_url
        self.trading_api = trading_api
        #: Alpaca account id -> account number (set when the account stream connects).
        self.accounts: dict[str, str] = {}

    def client(self, **options: Any) -> AlpacaClient:
        """A client of the link's API with its key (`options`: the client's, e.g. a
        timeout)."""
        kind = AlpacaTradingClient if self.trading_api else AlpacaClient
        return kind(key_id=self.key_id, secret_key=self.secret_key, api_url=self.api_url, **options)
