"""The news store: upsert articles by provider id, read them by symbol and by cursor.

Synchronous ORM code (callers in async code wrap it with `database_sync_to_async`). The
cursor is `NewsItem.pk`: every stored revision gets a larger one (see the model), so
"everything after cursor N" is exact for resuming readers, and an updated article replaces
its older revision instead of repeating it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from streaming.contract.frames import NewsArticle
from streaming.models import NewsItem, NewsSymbol

#: Longest lists a reader gets in one call.
MAX_LIMIT = 500


@dataclass(frozen=True)
class Article:
    """A provider's article, normalized (times aware UTC; symbols upper-case)."""

    provider: str
    news_id: str
    headline: str
    created_at: dt.datetime
    updated_at: dt.datetime
    summary: str = ""
    author: str = ""
    source: str = ""
    url: str = ""
    symbols: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for name in ("created_at", "updated_at"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def news_upsert(articles: Iterable[Article]) -> list[NewsItem]:
    """Store new articles and newer revisions; returns the rows written (ascending cursor).

    An article already stored with the same or a newer `updated_at` is skipped, so two
    owners receiving the same push (two users' feeds) store it once.
    """
    written: list[NewsItem] = []
    for article in articles:
        row = _upsert_one(article)
        if row is not None:
            written.append(row)
    return written


def _upsert_one(article: Article) -> NewsItem | None:
    for _ in range(3):  # a concurrent insert of the same article: look again
        try:
            with transaction.atomic():
                old = (
                    NewsItem.objects.select_for_update()
                    .filter(provider=article.provider, news_id=article.news_id)
                    .first()
                )
                if old is not None:
                    if old.updated_at >= article.updated_at:
                        return None
                    old.delete()
                row = NewsItem.objects.create(
                    provider=article.provider,
                    news_id=article.news_id,
                    headline=article.headline[:500],
                    summary=article.summary,
                    author=article.author[:200],
                    source=article.source[:100],
                    url=article.url[:1000],
                    symbols=list(article.symbols),
                    created_at=article.created_at.astimezone(dt.UTC),
                    updated_at=article.updated_at.astimezone(dt.UTC),
                )
                NewsSymbol.objects.bulk_create(
                    [NewsSymbol(item=row, symbol=s) for s in dict.fromkeys(article.symbols)]
                )
                return row
        except IntegrityError:
            continue
    return None


def _for_symbols(symbols: Collection[str] | None) -> QuerySet[NewsItem]:
    rows = NewsItem.objects.all()
    if symbols is not None:
        rows = rows.filter(symbol_rows__symbol__in=list(symbols)).distinct()
    return rows


def news_list_after(
    symbols: Collection[str] | None, cursor: int, limit: int = 100
) -> list[NewsItem]:
    """Revisions stored after `cursor` about any of `symbols` (None: all), oldest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    return list(_for_symbols(symbols).filter(pk__gt=cursor).order_by("pk")[:limit])


def news_list_latest(symbols: Collection[str] | None, limit: int = 50) -> list[NewsItem]:
    """The newest articles (by publication time) about any of `symbols`, newest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    return list(_for_symbols(symbols).order_by("-created_at", "-pk")[:limit])


def news_head_get() -> int:
    """The newest cursor stored (0 if none): where a new reader starts live."""
    row = NewsItem.objects.order_by("-pk").only("pk").first()
    return row.pk if row is not None else 0


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def to_wire(row: NewsItem) -> NewsArticle:
    """The contract's news item (docs/streaming-contract.md "News"): times as epoch ms."""
    return {
        "id": f"{row.provider}:{row.news_id}",
        "cursor": row.pk,
        "headline": row.headline,
        "summary": row.summary,
        "author": row.author,
        "source": row.source,
        "url": row.url,
        "symbols": list(row.symbols),
        "created_at": _ms(row.created_at),
        "updated_at": _ms(row.updated_at),
    }
