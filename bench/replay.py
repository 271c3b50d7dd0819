"""How fast a recorded day replays at full speed (`manage.py replay --speed max`).

    python -m bench.replay                      # 100,000 records, 50 a second of the day
    python -m bench.replay --records 10000

Records a synthetic day with the recorder (streaming/stream/recording.py) as a stream reports
it: a stream start, quotes of 40 symbols and greeks of their options, one in 50 an order
event, a heartbeat a second, spaced `1/--rate` s apart; then plays it through the stream's
manager on a replay clock (streaming/replay/player.py) into a discarded file, and prints the
records and frames per second of CPU, and what a 6.5-hour day at `--rate` takes whole; then
a replay page's jump to the end (the day caught up, nothing sent, until its snapshot), and
what one to 10:31 (an hour into the session) takes at that pace. No network.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path

from bench.recorder import greeks, order, quote

SESSION_S = 6.5 * 3600
#: 10:31 is this far into a session that opens at 9:30.
TO_1031_S = 61 * 60


class FakeClock:
    """The recorder's clock: the synthetic day's time (epoch ms)."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50.0, help="records/s of the day")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from streaming.replay.day import load_day
    from streaming.replay.player import DayPlayer
    from streaming.stream.recording import Recorder
    from streaming.stream.state import LinkInfo, UserState

    rng = random.Random(1)
    symbols = [f"SYM{i}" for i in range(40)]
    day = dt.date(2026, 11, 27)
    opens_ms = int(dt.datetime(2026, 11, 27, 14, 30, tzinfo=dt.UTC).timestamp() * 1000)
    step_ms = 1000 / args.rate
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(opens_ms)
        recorder = Recorder(Path(folder), quote_room=args.records + 10, clock=clock, writer=False)
        user = recorder.for_user(1)
        assert user is not None
        link = LinkInfo(7, "tastytrade", "bench", simulated=True)
        user.started([link], UserState([link], (symbols, 1)))
        user.status(7, "live", "", "all", {"expect_every": 5.0})
        for i in range(args.records):
            clock.now = opens_ms + int(i * step_ms)
            if i % 50 == 0:
                user.account("order", 7, "5WT00001", order(i, clock.now, rng))
            elif i % int(args.rate) == 1:
                user.fresh(7, "account")
            elif i % 5 == 0:
                symbol = f".{rng.choice(symbols)}261218C600"
                user.market("greeks", 7, symbol, greeks(clock.now, rng))
            else:
                user.market("quote", 7, rng.choice(symbols), quote(clock.now, rng))
        recorder.flush()
        recorded = load_day(Path(folder), 1, "bench", day)
        written = 0

        def emit(line: bytes) -> None:
            nonlocal written
            written += len(line)

        player = DayPlayer(1, recorded, emit=emit)
        started = time.process_time()
        played = asyncio.run(player.play())
        took = time.process_time() - started
        # a replay page's jump: the day from its start, nothing sent, to a snapshot at the
        # last record (the wall time until it exists)
        jumped_at: list[float] = []

        def snapshot(frame: dict) -> None:
            if frame["type"] == "snapshot" and not jumped_at:
                jumped_at.append(time.perf_counter())

        jump = DayPlayer(1, recorded, frames=snapshot, from_ms=recorded.last_ms)
        jump_started = time.perf_counter()
        asyncio.run(jump.play())
        jump_took = jumped_at[0] - jump_started
    per_s = played.records / took
    day_records = args.rate * SESSION_S
    print(f"- {played.records:,} records over {args.records * step_ms / 1000:,.0f} s of a day")
    print("\n| what | |")
    print("|---|---|")
    print(f"| records played per CPU second | {per_s:,.0f} |")
    print(f"| frames written per CPU second | {played.frames / took:,.0f} |")
    print(f"| bytes of frames per record | {written / played.records:.0f} |")
    print(f"\n- a 6.5-hour day at {args.rate:g} records/s: **{day_records / per_s:.1f} s** whole")
    day_s = args.records * step_ms / 1000
    print(f"- a jump to the end of these {day_s:,.0f} s (the day caught up, then its snapshot):")
    print(f"  **{jump_took:.2f} s** wall, {day_s / jump_took:,.0f} s of the day per second")
    to_1031 = TO_1031_S / (day_s / jump_took)
    print(f"- a jump to 10:31 (the hour before caught up): **{to_1031:.1f} s**")


if __name__ == "__main__":
    main()
