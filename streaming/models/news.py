"""News as stored once for every user: an article's revisions, a row each, and the
symbols each is about (docs/streaming-contract.md "News")."""

from __future__ import annotations

from django.db import models


class NewsItem(models.Model):
    """One revision of a news article from a provider (Alpaca's market data news).

    News is public market data, stored once for every user. An article that the provider
    updates (same provider id, newer `updated_at`) replaces its row: the old row is deleted
    and a new one inserted, so the primary key is a cursor over *revisions* — a reader that
    has seen up to pk N (the news SSE stream's `id:`) gets the update as the next item, and
    the article is never listed twice. Times are aware UTC (USE_TZ).
    """

    provider = models.CharField(max_length=16)
    news_id = models.CharField(max_length=64)
    headline = models.CharField(max_length=500)
    summary = models.TextField(blank=True, default="")
    author = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=100, blank=True, default="")
    url = models.URLField(max_length=1000, blank=True, default="")
    symbols = models.JSONField(default=list)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "news_id"], name="one_row_per_article")
        ]

    def __str__(self) -> str:
        return f"{self.provider} news {self.news_id}: {self.headline[:40]}"


class NewsSymbol(models.Model):
    """Which symbols an article is about (indexed, so "news for AAPL, MSFT" is a join)."""

    item = models.ForeignKey(NewsItem, on_delete=models.CASCADE, related_name="symbol_rows")
    symbol = models.CharField(max_length=32, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "symbol"], name="one_row_per_article_symbol")
        ]
