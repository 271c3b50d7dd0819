"""What the news API answers and what a page's news panel embeds (selectors: DB reads)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NotRequired, TypedDict

from streaming.contract.frames import NewsArticle
from streaming.contract.news import NewsPage
from streaming.instruments.symbols import EQUITY_RE
from streaming.news import store
from streaming.news.access import NO_NEWS, news_link_exists
from streaming.news.query import DEFAULT_LIMIT, NewsQuery
from streaming.validation import normalize_symbol


class NewsPanel(TypedDict):
    """What a page embeds for its news panel: `available` false (and `message`, the
    sentence to show) without a news link; else the API's answer for its symbols."""

    available: bool
    message: str
    symbols: list[str]
    items: list[NewsArticle]
    cursor: NotRequired[int]
    more: NotRequired[bool]


def news_list(query: NewsQuery) -> NewsPage:
    """The API's answer to a checked query (a DB read)."""
    if query.after is None:
        cursor = store.news_head_get()
        rows = store.news_list_latest(query.symbols, query.limit)
        return {"items": [store.to_wire(r) for r in rows], "cursor": cursor}
    rows = store.news_list_after(query.symbols, query.after, query.limit)
    return {
        "items": [store.to_wire(r) for r in rows],
        "cursor": rows[-1].pk if rows else query.after,
        "more": len(rows) == query.limit,
    }


def news_panel(*, user_id: int, symbols: list[str], limit: int = DEFAULT_LIMIT) -> NewsPanel:
    """What a page embeds for its news panel (a DB read): `available` false (and the
    sentence to show) for a user without a news link."""
    if not news_link_exists(user_id=user_id):
        return {"available": False, "message": NO_NEWS, "symbols": symbols, "items": []}
    answer: NewsPage = (
        news_list(NewsQuery(symbols, limit, None))
        if symbols
        else {"items": [], "cursor": store.news_head_get()}
    )
    return {"available": True, "message": "", "symbols": symbols, **answer}


def panel_symbols(snapshot: Mapping[str, Any], watchlist: Iterable[str]) -> list[str]:
    """The dashboard panel's symbols: the watchlist's, then the positions' (underlyings
    of options), stocks and ETFs only, each once."""
    found = list(watchlist)
    for account in snapshot.get("accounts") or []:
        for position in account.get("positions") or []:
            found.append(position.get("underlying") or position.get("symbol") or "")
    clean = (normalize_symbol(s) for s in found)
    return list(dict.fromkeys(s for s in clean if s is not None and EQUITY_RE.match(s)))
