"""What recording a day costs: CPU per event (the stream's loop, the writer) and bytes.

    python -m bench.recorder                 # 200,000 events of 100 users, 1 in 50 an account event
    python -m bench.recorder --events 20000 --rate 100 --users 1

Feeds the recorder (streaming/stream/recording.py) quotes and greeks shaped as the adapters
report them (bid, ask, sizes and the broker's time; a greeks row) and, one in
`--account-every`, an order event, and prints: µs of CPU per event where the stream reports it
(serialized and queued, on the stream's loop), µs per event in the writer (gzip and the
append), bytes per event on disk, and the MB a user's day takes at `--rate` events a second
for a 6.5-hour session. No network and no Django: the recorder alone, into a temporary folder.

The events are `--users` users' at `--rate` each, and the writer empties the queue as often as
it does in place (`WRITE_EVERY`): one gzip member per user per write, as in a daphne, whose
members are small (a user's half second) and so cost what a member costs to start.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SESSION_S = 6.5 * 3600


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.recorder", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--account-every", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0, help="events/s of one user")
    parser.add_argument("--users", type=int, default=100, help="users of one process")
    args = parser.parse_args()
    from streaming.stream.recording import WRITE_EVERY, Recorder

    rng = random.Random(1)
    symbols = [f"SYM{i}" for i in range(40)]
    with tempfile.TemporaryDirectory() as folder:
        recorder = Recorder(Path(folder), quote_room=args.events + 1, writer=False)
        users = [recorder.for_user(n) for n in range(1, args.users + 1)]
        now = int(time.time() * 1000)
        # made first: the timing is the recorder's alone
        events: list[tuple[Callable[[str, int, str, object], None], str, str, object]] = []
        for i in range(args.events):
            user = users[i % args.users]
            assert user is not None
            if i % args.account_every == 0:
                events.append((user.account, "order", "5WT00001", order(i, now, rng)))
            elif i % 5 == 0:
                symbol = f".{rng.choice(symbols)}261218C600"
                events.append((user.market, "greeks", symbol, greeks(now, rng)))
            else:
                events.append((user.market, "quote", rng.choice(symbols), quote(now, rng)))
        # what the process's users report in one `WRITE_EVERY`, then the writer's turn
        per_write = max(1, round(args.users * args.rate * WRITE_EVERY))
        reported = written = 0.0
        for at in range(0, args.events, per_write):
            started = time.thread_time()
            for report, kind, name, payload in events[at : at + per_write]:
                report(kind, 7, name, payload)
            reported += time.thread_time() - started
            started = time.thread_time()
            recorder.flush()  # the writer's work, here in this thread to time it
            written += time.thread_time() - started
        recorder.close()
        assert recorder.written == args.events, recorder.written
        per_event = recorder.bytes / recorder.written
    day_mb = per_event * args.rate * SESSION_S / 1e6
    print(
        f"- {args.events:,} events of {args.users} users at {args.rate:g}/s each, "
        f"1 in {args.account_every} an order event; a write every {WRITE_EVERY} s"
    )
    print("\n| where | CPU per event |")
    print("|---|---|")
    print(f"| the stream's loop (serialize, queue) | {reported / args.events * 1e6:.2f} µs |")
    print(f"| the writer's thread (gzip, append) | {written / args.events * 1e6:.2f} µs |")
    print(f"\n- **{per_event:.1f} bytes per event** on disk")
    print(f"- a user's 6.5-hour day at {args.rate:g} events/s: **{day_mb:.1f} MB**")


def quote(now: int, rng: random.Random) -> dict[str, object]:
    mid = round(rng.uniform(20, 600), 2)
    return {
        "bid": round(mid - 0.01, 2),
        "ask": round(mid + 0.01, 2),
        "bid_size": rng.randint(1, 900),
        "ask_size": rng.randint(1, 900),
        "t": now + rng.randint(0, 10_000),
    }


def greeks(now: int, rng: random.Random) -> dict[str, object]:
    return {
        "price": round(rng.uniform(0.5, 30), 4),
        "iv": round(rng.uniform(0.1, 0.6), 6),
        "delta": round(rng.uniform(-1, 1), 6),
        "gamma": round(rng.uniform(0, 0.05), 6),
        "theta": round(rng.uniform(-1, 0), 6),
        "vega": round(rng.uniform(0, 1), 6),
        "t": now,
    }


def order(i: int, now: int, rng: random.Random) -> dict[str, object]:
    return {
        "id": str(1_000_000 + i),
        "status": rng.choice(["Received", "Live", "Filled"]),
        "order_type": "Limit",
        "time_in_force": "Day",
        "price": "590.00",
        "size": 1,
        "filled_size": 0,
        "legs": [{"symbol": "SPY", "action": "Buy to Open", "quantity": 1, "fills": []}],
        "updated_at": now,
    }


if __name__ == "__main__":
    main()
