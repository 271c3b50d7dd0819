"""The benchmarks' baseline of what not to do: one quotes frame per tick, no conflation.

Production batches quotes per flush interval (streaming/stream/outbox.py `QuoteBatch`);
bench/cluster.py's naive phase runs its server processes through bench/naive.py, which
puts `PerTickQuotes` in its place before any stream manager starts.
"""

from __future__ import annotations

from typing import Any

from streaming.contract import QuotesFrame, now_ms
from streaming.stream.outbox import QuoteBatch


class PerTickQuotes(QuoteBatch):
    """Every tick is a frame of its own (greeks still wait for the flush)."""

    def add_quote(self, symbol: str, fields: dict[str, Any]) -> QuotesFrame | None:
        # the frame's `t` is when it was made (as a batch's): tabs order it by that
        return {"type": "quotes", "quotes": {symbol: fields}, "greeks": {}, "t": now_ms()}


def use_per_tick_quotes() -> None:
    """Every stream manager this process builds from now on sends a frame per tick."""
    from streaming import wiring

    wiring.quote_batch = PerTickQuotes
