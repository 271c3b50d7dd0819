"""`manage.py sandbox --port N`: run the built-in broker sandbox in the foreground."""

import asyncio
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser

from sandbox.app import Sandbox, build_app
from sandbox.core.config import SandboxConfig
from sandbox.server import bind_socket, uvicorn_config
from streaming.node import current
from streaming.runtime import loop


class Command(BaseCommand):
    help = "Run the local tastytrade sandbox (REST, DXLink, account streamer, control API)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Bind address (loopback).")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--seed", type=int, default=SandboxConfig.seed)
        parser.add_argument(
            "--tick-rate",
            type=float,
            default=SandboxConfig.tick_rate,
            help="Price ticks per second per active underlying.",
        )
        parser.add_argument(
            "--token-lifetime",
            type=float,
            default=SandboxConfig.token_lifetime,
            help="OAuth access token lifetime in seconds (the real API uses 900).",
        )
        parser.add_argument(
            "--demo-orders",
            type=float,
            default=20.0,
            help="Seconds between random demo orders per subscribed account (0: none).",
        )
        parser.add_argument(
            "--demo-holdings",
            action="store_true",
            help="Each margin account also holds a bracket, a stop-loss, a trailing stop, a "
            "crypto position and a future option, as its broker offers them (the demo's; "
            "tests start plain).",
        )
        parser.add_argument(
            "--demo-news",
            type=float,
            default=45.0,
            help="Seconds between made-up news articles (0: none; also no backfilled history).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = SandboxConfig(
            seed=options["seed"],
            tick_rate=options["tick_rate"],
            token_lifetime=options["token_lifetime"],
            demo_order_interval=options["demo_orders"],
            demo_holdings=options["demo_holdings"],
            news_interval=options["demo_news"],
            news_backfill=12 if options["demo_news"] > 0 else 0,
        )
        # the brokers' own pauses are not ours to add to every latency (streaming/runtime/heap.py)
        current().freeze_heap()
        sock = bind_socket(options["host"], options["port"])
        host, port = sock.getsockname()[:2]
        self.stdout.write(
            f"tastytrade sandbox (SIMULATED DATA) on http://{host}:{port} "
            f"- DXLink ws://{host}:{port}/dxlink, account streamer ws://{host}:{port}/streamer, "
            f"control http://{host}:{port}/_sandbox/state"
        )
        server = uvicorn.Server(uvicorn_config(build_app(Sandbox(config)), log_level="info"))
        # the broker's own loop overhead is not ours to add (streaming/runtime/loop.py)
        loop.install()
        asyncio.run(server.serve(sockets=[sock]))
