"""Candle history for a user's chart, from the first of their links that can serve it.

The link that streams the user's quotes goes first (so history and the live candle
agree), then every other link whose market data is up (a down one only when no other
has market data). A link that cannot (no history of the symbol or timeframe, refused,
failed, out of its share of the time) hands over to the next.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from streaming.brokers.bars import HistoryError, link_budget, no_link_served
from streaming.brokers.base import BrokerAdapter
from streaming.brokers.errors import describe
from streaming.contract import CandleHistory
from streaming.stream.health import LinkHealth
from streaming.stream.state import LinkInfo

log = logging.getLogger(__name__)


@runtime_checkable
class CandleSource(Protocol):
    """An adapter that serves candle history (not every broker's does)."""

    async def candles(
        self, symbol: str, tf: str, from_ms: int, *, within: float
    ) -> list[dict[str, Any]]: ...


async def candle_history(
    user_id: int,
    *,
    links: Mapping[int, LinkInfo],
    adapters: Mapping[int, BrokerAdapter],
    health: Mapping[int, LinkHealth],
    source: int | None,
    symbol: str,
    tf: str,
    from_ms: int,
    within: float,
) -> CandleHistory:
    """The history from the first link that serves it, naming that link; HistoryError
    only when none could (TimeoutError when none was asked in time)."""
    capable: dict[int, CandleSource] = {}
    for link_id, info in links.items():
        adapter = adapters.get(link_id)
        if info.streams_quotes and isinstance(adapter, CandleSource):
            capable[link_id] = adapter
    if not capable:
        raise HistoryError(
            "no_market_data",
            "No market data: none of your broker links serves quotes or candles "
            "(Alpaca links have no market data; link tastytrade or Tradier).",
        )
    # a link whose market data is down cannot answer: asked only when no other can
    now = time.monotonic()
    down = {i for i in capable if i != source and health[i].failing_quotes(now)}
    ids = sorted(capable, key=lambda i: i != source)
    ids = [i for i in ids if i not in down] or ids
    deadline = time.monotonic() + within
    failures: list[HistoryError] = []
    for n, link_id in enumerate(ids):
        info = links[link_id]
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            async with asyncio.timeout(link_budget(left, len(ids) - n - 1)):
                bars = await capable[link_id].candles(symbol, tf, from_ms, within=left)
        except HistoryError as exc:
            failures.append(exc)
            continue
        except TimeoutError:
            failures.append(
                HistoryError("broker_error", f"{info.broker} did not send the history in time")
            )
            continue
        except Exception as exc:  # whatever the broker did: a sentence, not a 500
            log.info("user %s: %s history failed: %s", user_id, info.broker, exc)
            failures.append(
                HistoryError(
                    "broker_error",
                    f"{info.broker} refused the history request ({describe(exc)})",
                )
            )
            continue
        if failures:
            log.info(
                "user %s: %s %s history from %s (%s)",
                user_id,
                symbol,
                tf,
                info.broker,
                "; ".join(e.message for e in failures),
            )
        return {
            "link": link_id,
            "source": info.broker,
            "simulated": info.simulated,
            "delayed": bool(health[link_id].delayed),
            "candles": bars,
        }
    if not failures:
        raise TimeoutError
    raise no_link_served(symbol, tf, failures)
