"""`manage.py stream_test`: run a stream in the foreground and print what arrives.

The way an operator checks a link: the same manager and adapter the app runs, printing
status changes, balances, positions, orders and (once a second) quotes, for a limited
time. Exit status 0 if the stream went live, 1 if it never did.

    manage.py stream_test --user demo --symbols SPY,AAPL --duration 20
    TT_SECRET=… TT_REFRESH=… manage.py stream_test --credential-env --duration 20
    TRADIER_TOKEN=… manage.py stream_test --credential-env --broker tradier
    ALPACA_KEY_ID=… ALPACA_SECRET_KEY=… manage.py stream_test --credential-env --broker alpaca

A bare credential is streamed against the configured API (`BROKER_ENV`, the *_URL
settings): the sandbox by default in development, the real broker in production.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import time
from collections.abc import Mapping
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import BrokerLink
from streaming.brokers import catalog
from streaming.brokers.base import MemoryCheckpoint
from streaming.node import current
from streaming.stream.manager import LinkInfo, UserStreamManager
from streaming.validation import normalize_symbol
from streaming.wiring import stream_config


class Command(BaseCommand):
    help = "Stream a user's broker links (or one bare broker credential) and print events."

    #: The environment variables a bare credential is read from, per broker secret.
    CREDENTIAL_ENV = {
        "provider_secret": "TT_SECRET",
        "refresh_token": "TT_REFRESH",
        "access_token": "TRADIER_TOKEN",
        "key_id": "ALPACA_KEY_ID",
        "secret_key": "ALPACA_SECRET_KEY",
    }

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="username whose enabled links to stream")
        who.add_argument(
            "--credential-env",
            action="store_true",
            help="a bare credential from the environment (prompted if unset): $TT_SECRET and"
            " $TT_REFRESH (tastytrade), $TRADIER_TOKEN, or $ALPACA_KEY_ID and $ALPACA_SECRET_KEY",
        )
        parser.add_argument(
            "--broker",
            choices=sorted(BrokerLink.SECRET_FIELDS),
            default="tastytrade",
            help="the broker of --credential-env (default tastytrade)",
        )
        parser.add_argument("--symbols", default="SPY", help="comma-separated quote symbols")
        parser.add_argument("--duration", type=float, default=30.0, help="seconds to run")
        parser.add_argument(
            "--quotes-every", type=float, default=1.0, help="seconds between quote lines"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        symbols = set()
        for raw in options["symbols"].split(","):
            if raw.strip():
                symbol = normalize_symbol(raw)
                if symbol is None:
                    raise CommandError(f"not a valid symbol: {raw!r}")
                symbols.add(symbol)
        went_live = asyncio.run(self._run(options, symbols))
        if not went_live:
            raise CommandError("the stream never went live")

    async def _run(self, options: dict[str, Any], symbols: set[str]) -> bool:
        printer = Printer(self, quotes_every=options["quotes_every"])
        if options["user"]:
            user = await database_sync_to_async(
                get_user_model().objects.filter(username=options["user"]).first
            )()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
            manager = await current().manager_factory()(user.id, publish=printer)
            if not manager.adapters:
                raise CommandError(f"user {options['user']!r} has no enabled broker links")
        else:
            broker = options["broker"]
            credentials = {
                name: os.environ.get(self.CREDENTIAL_ENV[name])
                or getpass.getpass(f"{name.replace('_', ' ')}: ")
                for name in BrokerLink.SECRET_FIELDS[broker]
            }
            adapter = catalog.make_adapter(
                link_id=0,
                broker=broker,
                credentials=credentials,
                account_numbers=(),
                config=stream_config(),
                checkpoint=MemoryCheckpoint(),  # a bare credential replays within this run only
                pacing=current().pacing,
                market_data=current().market_data,
            )
            info = LinkInfo(
                0,
                broker,
                f"bare {broker} credential",
                simulated=settings.BROKER_ENV == "sandbox",
                streams_quotes=broker in catalog.QUOTE_BROKERS,
                quotes_coins=broker in catalog.COIN_QUOTE_BROKERS,
            )
            manager = UserStreamManager(0, links=[(info, adapter)], publish=printer)
        manager.set_tab_symbols("stream_test", symbols)
        await manager.start()
        try:
            await asyncio.sleep(options["duration"])
        finally:
            await manager.stop()
        self.stdout.write(f"done: {printer.counts}")
        return printer.went_live


class Printer:
    """Publishes frames to the terminal instead of the channel layer."""

    def __init__(self, command: BaseCommand, quotes_every: float) -> None:
        self.command = command
        self.quotes_every = quotes_every
        self._last_quotes = 0.0
        self.counts: dict[str, int] = {}
        self.went_live = False

    def line(self, text: str) -> None:
        self.command.stdout.write(f"{time.strftime('%H:%M:%S')} {text}")

    async def __call__(self, frame: Mapping[str, Any], text: str) -> None:
        kind = frame["type"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        sim = (
            " [SIMULATED]"
            if frame.get("simulated") or frame.get("link", {}).get("simulated")
            else ""
        )
        if kind == "status":
            link = frame["link"]
            self.went_live |= link["state"] == "live"
            reason = f" ({link['reason']})" if link["reason"] else ""
            self.line(f"status  {link['label']}: {link['state']}{reason}{sim}")
        elif kind == "balance":
            b = frame["balance"]
            self.line(
                f"balance #{frame['seq']} {frame['account']}: net liq {b['net_liquidating_value']}"
                f" buying power {b['buying_power']} cash {b['cash']}{sim}"
            )
        elif kind == "positions":
            held = ", ".join(
                f"{p['symbol'].split()[0]} {p['direction'][0]}{p['quantity']}"
                for p in frame["positions"]
            )
            self.line(f"positions #{frame['seq']} {frame['account']}: {held or 'none'}{sim}")
        elif kind == "position":
            p = frame["position"]
            what = f"{p['symbol']} {p['direction']} {p['quantity']}"
            self.line(f"position #{frame['seq']} {frame['account']}: {what}{sim}")
        elif kind == "order":
            o = frame["order"]
            fills = sum(len(leg["fills"]) for leg in o["legs"])
            legs = " / ".join(
                f"{leg['action']} {leg['quantity']} {leg['symbol']}" for leg in o["legs"]
            )
            what = f"{o['id']} {o['status']} {legs} fills={fills}"
            self.line(f"order #{frame['seq']} {frame['account']}: {what}{sim}")
        elif kind == "quotes" and time.monotonic() - self._last_quotes >= self.quotes_every:
            self._last_quotes = time.monotonic()
            shown = sorted(frame["quotes"].items())[:8]
            text = "  ".join(f"{s} {q.get('bid')}/{q.get('ask')}" for s, q in shown)
            self.line(
                f"quotes  {text}"
                + (f"  (+{len(frame['quotes']) - 8} more)" if len(frame["quotes"]) > 8 else "")
            )
