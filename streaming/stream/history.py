"""Candle history for a user's chart, from the first of their links that can serve it.

Only links whose broker quotes the instrument's kind are asked (`Instrument.quoted_by`:
Tradier has no futures and no coins, Alpaca only coins); none: a sentence naming the
brokers that would. The link the instrument's live quote comes from goes first (the quote
source; a coin's the source when it quotes coins, else the coin feed), so history and the
live candle agree, then every other such link whose market data is up (a down one only
when no other has market data). A link that cannot (no history of the symbol or
timeframe, refused, failed, out of its share of the time) hands over to the next.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from streaming.brokers.bars import (
    FALLBACK_SHARE,
    HistoryError,
    link_budget,
    no_link_served,
    no_market_data,
)
from streaming.brokers.base import BrokerAdapter
from streaming.brokers.errors import describe
from streaming.contract.layer import CandleHistory
from streaming.instruments.instrument import Instrument, parse
from streaming.instruments.kinds import Kind
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
    coin_link: int | None = None,
) -> CandleHistory:
    """The history from the first link that serves it, naming that link; HistoryError
    only when none could (TimeoutError when none was asked in time). `source`: the
    user's quote source; `coin_link`: the link that feeds the coins the source cannot."""
    instrument = parse(symbol)
    capable: dict[int, CandleSource] = {}
    for link_id, info in links.items():
        adapter = adapters.get(link_id)
        if isinstance(adapter, CandleSource) and _quotes(info, instrument):
            capable[link_id] = adapter
    if not capable:
        if instrument is None:
            raise HistoryError(
                "no_market_data",
                f"None of your broker links quotes {symbol}: link tastytrade to chart it.",
            )
        raise no_market_data(instrument)
    first = source
    if instrument is not None and instrument.kind is Kind.CRYPTO:
        first = source if source is not None and links[source].quotes_coins else coin_link
    # a link whose market data is down cannot answer: asked only when no other can
    now = time.monotonic()
    down = {i for i in capable if i != first and health[i].failing_quotes(now)}
    ids = sorted(capable, key=lambda i: i != first)
    ids = [i for i in ids if i not in down] or ids
    deadline = time.monotonic() + within
    reserve = within * FALLBACK_SHARE
    failures: list[HistoryError] = []
    for n, link_id in enumerate(ids):
        info = links[link_id]
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            async with asyncio.timeout(link_budget(left, len(ids) - n - 1, reserve)):
                bars = await capable[link_id].candles(symbol, tf, from_ms, within=left)
        except HistoryError as exc:
            log.info("user %s: %s history of %s %s: %s", user_id, info.broker, symbol, tf, exc)
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


def _quotes(info: LinkInfo, instrument: Instrument | None) -> bool:
    """Whether the link's market data quotes the instrument (a symbol read by no rule:
    any link that streams quotes may know it)."""
    if instrument is None:
        return info.streams_quotes
    if info.broker not in instrument.quoted_by:
        return False
    return info.streams_quotes or (instrument.kind is Kind.CRYPTO and info.quotes_coins)
