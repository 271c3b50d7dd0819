"""The news API's query (`GET /api/news?symbols=&limit=&after=`) and the page's symbol:
checked before anything is read, every refusal a sentence for a 4xx `{"error": ...}`.

The symbols list reuses the stream's limits (validation.py): at most
`MAX_SYMBOLS_PER_USER` symbols, each one the stream accepts as a stock or ETF ticker. The
raw query string is measured before Django parses it, so a 10 MB query is refused at once
(414) without being split or decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streaming.instruments.symbols import EQUITY_RE
from streaming.news.store import MAX_LIMIT
from streaming.validation import MAX_SYMBOLS_PER_USER, normalize_symbol

#: Longest query string read: room for every symbol a user can stream (400 of 10 chars
#: plus separators and the other parameters), far below a parse that costs anything.
MAX_QUERY_BYTES = 8 * 1024
DEFAULT_LIMIT = 50


class NewsQueryError(ValueError):
    """A refused query: `status` (400 or 414) and a message for `{"error": ...}`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class NewsQuery:
    symbols: list[str]
    limit: int
    after: int | None


def news_symbol(raw: object) -> str:
    """One ticker news can be about (a stock or ETF, as the stream spells it)."""
    symbol = normalize_symbol(raw)
    if symbol is None or not EQUITY_RE.match(symbol):
        shown = str(raw)[:32]
        raise NewsQueryError(f"{shown!r} is not a stock or ETF symbol")
    return symbol


def _integer(raw: str | None, name: str, low: int, high: int, default: int | None) -> int | None:
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        raise NewsQueryError(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def news_query(query_string: str, params: Mapping[str, str]) -> NewsQuery:
    """The checked query; `query_string` is the raw one (measured before `params` is read)."""
    if len(query_string) > MAX_QUERY_BYTES:
        raise NewsQueryError(
            f"the query is {len(query_string)} bytes; at most {MAX_QUERY_BYTES} "
            f"(up to {MAX_SYMBOLS_PER_USER} symbols)",
            status=414,
        )
    raw = params.get("symbols") or ""
    parts = [p for p in raw.split(",") if p.strip()]
    if not parts:
        raise NewsQueryError("symbols is required: a comma-separated list of tickers")
    if len(parts) > MAX_SYMBOLS_PER_USER:
        raise NewsQueryError(f"at most {MAX_SYMBOLS_PER_USER} symbols (got {len(parts)})")
    symbols = list(dict.fromkeys(news_symbol(p) for p in parts))
    limit = _integer(params.get("limit"), "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    after = _integer(params.get("after"), "after", 0, 2**62, None)
    assert limit is not None
    return NewsQuery(symbols, limit, after)
