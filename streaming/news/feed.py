"""A user's news feed, run by their stream manager: provider articles → the store → tabs.

The feed is one of the stream's listeners (streaming/stream/listener.py, handed in by
streaming/wiring.py): the manager runs it beside its adapters (only the owner of the
user's stream does, so one feed per user in the cluster) and hands it the wanted-symbol
union whenever that changes. Each batch the provider delivers is stored (`store.news_upsert`,
off the event loop through `database_sync_to_async`: never on the per-tick path),
announced to the cluster (`live.announce`, for the news SSE stream and any other reader),
and sent to the user's tabs as one `news` frame. An article another user's feed stored
first (upsert returns nothing for it) is still sent: its stored row is looked up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from channels.db import database_sync_to_async

from streaming.contract.frames import NewsArticle
from streaming.models import NewsItem
from streaming.news import live, store
from streaming.news.alpaca import AlpacaNewsFeed
from streaming.news.store import Article
from streaming.stream.listener import QuietHooks


class NewsSink(Protocol):
    """What the feed reports into (the user's stream manager)."""

    def news_items(self, items: list[NewsArticle]) -> None: ...

    def news_status(self, state: str, reason: str) -> None: ...


def store_articles(articles: Iterable[Article]) -> tuple[list[NewsItem], list[NewsItem]]:
    """(rows written now, every stored row of these articles): the second list is what
    the user's tabs get, ascending cursor, one row per article."""
    articles = list(articles)
    written = store.news_upsert(articles)
    wanted: dict[str, set[str]] = {}
    for article in articles:
        wanted.setdefault(article.provider, set()).add(article.news_id)
    done = {(r.provider, r.news_id) for r in written}
    shown = list(written)
    for provider, ids in wanted.items():
        missing = [i for i in ids if (provider, i) not in done]
        if missing:
            shown += NewsItem.objects.filter(provider=provider, news_id__in=missing)
    return written, sorted({r.pk: r for r in shown}.values(), key=lambda r: r.pk)


_store = database_sync_to_async(store_articles)


class UserNewsFeed(QuietHooks):
    """One user's news: Alpaca's, with the key of one of the user's Alpaca links."""

    def __init__(
        self,
        *,
        key_id: str,
        secret_key: str,
        rest_url: str,
        stream_url: str,
        basic_auth: bool = False,
        **options: Any,
    ) -> None:
        self._sink: NewsSink | None = None
        self.provider = AlpacaNewsFeed(
            key_id=key_id,
            secret_key=secret_key,
            rest_url=rest_url,
            stream_url=stream_url,
            basic_auth=basic_auth,
            deliver=self._deliver,
            report=self._report,
            **options,
        )

    def set_symbols(self, symbols: Iterable[str]) -> None:
        self.provider.set_symbols(symbols)

    @property
    def status(self) -> dict[str, str]:
        return {"state": self.provider.state, "reason": self.provider.reason}

    # -- the stream's listener hooks (streaming/stream/listener.py) ---------------------------
    def attach(self, stream: NewsSink) -> None:
        self._sink = stream

    async def run(self) -> None:
        await self.provider.run()

    def symbols(self) -> set[str]:
        return set()  # news follows what the tabs want; it asks for nothing itself

    def on_symbols(self, wanted: set[str]) -> None:
        self.set_symbols(wanted)

    def on_tab_opened(self) -> None:
        """A new tab learns the feed's state."""
        self._report(self.provider.state, self.provider.reason)

    def _report(self, state: str, reason: str) -> None:
        if self._sink is not None:
            self._sink.news_status(state, reason)

    async def _deliver(self, articles: list[Article]) -> None:
        written, shown = await _store(articles)
        await live.announce(written)
        if shown and self._sink is not None:
            self._sink.news_items([store.to_wire(r) for r in shown])
