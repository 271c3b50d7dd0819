"""Slow clients: sockets that complete the WebSocket handshake and then never read.

Starts the sandbox (in this process, at a high tick rate) and one daphne process
(tests/support/live.py: its own SQLite file, the in-memory channel layer), logs in as the
demo trader, opens N raw sockets with a small receive buffer that send the upgrade by
hand, read the 101 response headers and nothing else, plus one normal, reading
`WsClient`; places a market order at the demo's tastytrade account every few seconds
(so account frames must go out to every tab) and samples daphne's RSS every second.

What docs/streaming-contract.md ("Slow clients") promises: quotes for a socket with a
backlog are held back (latest wins), an account frame behind more than 256 KiB closes the
socket with 4408, and daphne cuts it 5 s later if the close frame cannot be delivered
either. A raw socket counts as closed by the server once the kernel says so (a reset or a
FIN: TCP state no longer ESTABLISHED, or POLLRDHUP/POLLHUP/POLLERR), without reading.

Prints one row per second (time, daphne RSS, slow sockets still open, quote frames/s the
reading client got) and a summary. Loopback only; stops what it starts.

    PYTHONPATH=. .venv/bin/python -m bench.slow_clients
    PYTHONPATH=. .venv/bin/python -m bench.slow_clients --sockets 50 --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import select
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from bench.proc import rss_mib
from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.chaos.conftest import DEMO_TT
from tests.support.clients import WsClient
from tests.support.live import DEMO_USER, LiveApp
from tests.support.orders import market_buy
from tests.support.tcp import server_send_queue

#: Linux TCP states (include/net/tcp_states.h) as reported by TCP_INFO's first byte.
TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
}
POLL_CLOSED = select.POLLRDHUP | select.POLLHUP | select.POLLERR


class SlowSocket:
    """A WebSocket client that stops after the handshake: it never reads a frame."""

    def __init__(self, port: int, origin: str, cookie: str, rcvbuf: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # before connect: the window the server sees is sized from this
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET /ws/stream/ HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            f"Origin: {origin}\r\n"
            f"Cookie: {cookie}\r\n"
            "\r\n"
        )
        self.sock.sendall(request.encode())
        status = self._read_headers().split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise RuntimeError(f"handshake refused: {status!r}")
        self.opened = time.monotonic()
        self.closed_at: float | None = None
        self.how = ""
        self.sock.setblocking(False)

    def _read_headers(self) -> bytes:
        """Consume exactly the response headers (peek, then take up to the blank line)."""
        while True:
            peeked = self.sock.recv(65536, socket.MSG_PEEK)
            if not peeked:
                raise RuntimeError("connection closed during the handshake")
            end = peeked.find(b"\r\n\r\n")
            if end >= 0:
                return self.sock.recv(end + 4)
            if len(peeked) > 16384:
                raise RuntimeError("no end of headers")
            time.sleep(0.01)

    def tcp_state(self) -> str:
        info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
        return TCP_STATES.get(info[0], str(info[0]))

    def check_closed(self) -> bool:
        """True once the server reset or shut the connection (never reads any data)."""
        if self.closed_at is not None:
            return True
        poller = select.poll()
        poller.register(self.sock, POLL_CLOSED)
        events = poller.poll(0)
        state = self.tcp_state()
        if state != "ESTABLISHED" or any(mask & POLL_CLOSED for _, mask in events):
            error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            self.how = os.strerror(error) if error else state
            self.closed_at = time.monotonic()
            return True
        return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


async def place_orders(control, account: str, every: float, placed: list, stop) -> None:
    symbols = ("XLF", "F", "T", "INTC", "PFE", "KO")
    n = 0
    while not stop.is_set():
        order = market_buy(symbols[n % len(symbols)], 1)
        try:
            result = await asyncio.to_thread(control.place_order, account, order)
            placed.append(result["order"]["id"])
        except Exception as exc:  # a rejection is reported, not fatal
            print(f"# order not placed: {exc}", flush=True)
        n += 1
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every):
                await stop.wait()


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    config = SandboxConfig(
        tick_rate=args.tick_rate, alpaca_heartbeat_interval=2, order_step_interval=0.3
    )
    sandbox = SandboxServer(config).start()
    app = LiveApp(sandbox.url, workdir, LOG_LEVEL="INFO")
    control = sandbox.control()
    slow: list[SlowSocket] = []
    reader: WsClient | None = None
    try:
        await asyncio.to_thread(app.start)
        http = app.login(*DEMO_USER)
        cookie = app.cookie_header(http)
        http.close()
        link_out = app.python(
            "from accounts.models import BrokerLink\n"
            "from streaming.links.verify import broker_link_verify\n"
            "link = BrokerLink.objects.get(user__username='demo', broker='tastytrade')\n"
            # a login here, so this sandbox knows the customer whose account is read below
            # (the database may have been seeded against another sandbox)
            "broker_link_verify(link=link)\n"
            "print(link.id)",
        )
        link = int(link_out.strip().splitlines()[-1])
        state = control.state()["credentials"]
        account = state[DEMO_TT]["accounts"][0]  # the margin account

        reader = WsClient(app.url, cookie, name="reader").start()
        await reader.wait_live(30)
        if args.symbols:
            # every tab of a user gets the quotes of all its tabs' symbols: more bytes
            # for the slow sockets too
            extra = [f"Q{i:03d}" for i in range(args.symbols)]
            for i in range(0, len(extra), 50):
                await reader.send({"type": "subscribe", "symbols": extra[i : i + 50]})
            await reader.wait_for(
                lambda: any(
                    f["type"] == "quotes" and extra[-1] in str(f) for _, f in reader.frames[-20:]
                ),
                within=30,
            )
        rss0 = rss_mib(app.pid)
        print(f"# daphne pid {app.pid} on {app.url}, RSS before slow sockets {rss0:.1f} MiB")
        for _ in range(args.sockets):
            slow.append(SlowSocket(app.port, app.url, cookie, args.rcvbuf))
        print(
            f"# {len(slow)} slow sockets open (SO_RCVBUF {args.rcvbuf}, effective "
            f"{slow[0].sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)}); "
            f"orders every {args.order_every} s at {account}; {args.seconds} s",
            flush=True,
        )

        placed: list = []
        stop = asyncio.Event()
        orders = asyncio.create_task(place_orders(control, account, args.order_every, placed, stop))
        start = time.monotonic()
        samples: list[tuple[float, float, int, int]] = []
        ports = {s.port for s in slow}
        print(f"{'t_s':>5} {'rss_mib':>8} {'slow_open':>9} {'quotes/s':>8} {'srv_sendq_kib':>13}")
        next_tick = start
        max_sendq = 0
        while True:
            next_tick += 1.0
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            now = time.monotonic()
            t = now - start
            rss = rss_mib(app.pid)
            if rss is None:
                print("# daphne is gone", flush=True)
                break
            still = [s for s in slow if not s.check_closed()]
            quotes = reader.quote_frames_since(now - 1.0)
            sendq = sum(server_send_queue(app.port, ports).values()) // 1024
            max_sendq = max(max_sendq, sendq)
            samples.append((t, rss, len(still), quotes))
            print(f"{t:5.0f} {rss:8.1f} {len(still):9d} {quotes:8d} {sendq:13d}", flush=True)
            if t >= args.seconds:
                break
        stop.set()
        await orders

        # the reading client: every placed order filled exactly once, nothing broken
        def filled(order_id: object) -> float:
            order = reader.order(link, order_id)
            if not order:
                return 0.0
            return sum(float(f["quantity"] or 0) for leg in order["legs"] for f in leg["fills"])

        with contextlib.suppress(AssertionError):
            await reader.wait_for(lambda: all(filled(o) >= 1 for o in placed), within=15)
        shown = [reader.filled_quantity(link, o) for o in placed]
        delivered = shown.count(1.0)
        duplicated = sum(1 for q in shown if q > 1)
        log_text = app.log_path.read_text(errors="replace")
        slow_closes = log_text.count("closing a slow tab")
        tracebacks = log_text.count("Traceback")
        closed = [s for s in slow if s.closed_at is not None]
        lifetimes = sorted(s.closed_at - s.opened for s in closed)
        hows: dict[str, int] = {}
        for s in closed:
            hows[s.how] = hows.get(s.how, 0) + 1

        rss_values = [s[1] for s in samples]
        print()
        print(f"summary: daphne RSS start {rss_values[0]:.1f} MiB (before slow sockets {rss0:.1f})")
        print(f"         max {max(rss_values):.1f} MiB, end {rss_values[-1]:.1f} MiB")
        print(
            f"         growth {rss_values[-1] - rss_values[0]:+.1f} MiB over the run, "
            f"{max(rss_values) - rss0:+.1f} MiB peak over the baseline"
        )
        if lifetimes:
            print(
                f"slow sockets closed by the server: {len(closed)} of {len(slow)} "
                f"({', '.join(f'{k}: {v}' for k, v in sorted(hows.items()))}); "
                f"open for {lifetimes[0]:.1f} to {lifetimes[-1]:.1f} s "
                f"(median {lifetimes[len(lifetimes) // 2]:.1f} s)"
            )
        else:
            print(f"slow sockets closed by the server: 0 of {len(slow)}")
        print(
            f"server kernel send queue of the slow sockets: max {max_sendq} KiB in total "
            f"({max_sendq / max(1, len(slow)):.0f} KiB per socket)"
        )
        print(
            f"'closing a slow tab' (4408) in the daphne log: {slow_closes}; Traceback: {tracebacks}"
        )
        quote_rates = [s[3] for s in samples]
        print(
            f"reading client: quote frames/s min {min(quote_rates)} "
            f"median {sorted(quote_rates)[len(quote_rates) // 2]} max {max(quote_rates)}; "
            f"max silence {reader.max_silence():.2f} s; connections {len(reader.segments)} "
            f"(closes {reader.closes()}); violations {len(reader.violations)}"
        )
        print(
            f"orders placed {len(placed)}, filled once at the reading client {delivered}, "
            f"duplicated {duplicated}, missing {len(placed) - delivered - duplicated}"
        )
        print(f"# daphne log: {app.log_path}")
        ok = not reader.violations and delivered == len(placed)
        return 0 if ok else 1
    finally:
        if reader is not None:
            await reader.stop()
        for s in slow:
            s.close()
        app.stop()
        control.close()
        sandbox.stop()
        if args.clean:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=20, help="slow sockets (never read)")
    parser.add_argument("--seconds", type=int, default=60, help="how long to sample")
    parser.add_argument("--rcvbuf", type=int, default=4096, help="SO_RCVBUF of a slow socket")
    parser.add_argument("--order-every", type=float, default=3.0, help="seconds between orders")
    parser.add_argument("--tick-rate", type=float, default=100.0, help="sandbox ticks/s")
    parser.add_argument(
        "--symbols", type=int, default=0, help="extra symbols the reading tab subscribes to"
    )
    parser.add_argument("--clean", action="store_true", help="remove the work dir (daphne log)")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
