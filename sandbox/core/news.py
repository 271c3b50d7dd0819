"""The sandbox's newsroom: articles about the simulated symbols, with ids and revisions.

One truth for every news façade (today Alpaca's market data news): articles are stored by
an integer id; an update keeps the id and moves `updated_at` on. Listeners (the news
websockets) hear every publication and update. A deterministic generator (seeded, so the
demo's headlines are the same on every run of a seed) writes about the symbols clients
asked the market for, and `control` publishes or updates an article for tests. Imports no
protocol: times are epoch seconds here, each façade renders its own.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sandbox.core.symbols import classify

log = logging.getLogger(__name__)

#: Ids start here (Alpaca's real ids are 8-digit integers by now).
FIRST_ID = 40_000_001
#: Articles kept (the oldest go first); far more than any test or demo day writes.
RETENTION = 20_000

_SOURCES = ("benzinga", "sandbox wire", "simulated press")
_AUTHORS = ("Sandbox Desk", "A. Writer", "Market Bot")
_TEMPLATES = (
    ("{s} shares move as traders weigh quarterly guidance", "Analysts revisit {s} estimates."),
    ("{s} announces share buyback program", "The board of {s} approved a repurchase plan."),
    ("Options activity picks up in {s}", "Unusual call volume was seen in {s} today."),
    ("{s} price target raised at a major broker", "The new target implies upside for {s}."),
    ("{s} to present at an industry conference", "{s} management will speak next week."),
    ("Why {s} is trading on heavy volume", "Volume in {s} runs above its 30-day average."),
)


@dataclass
class NewsArticle:
    """One article as the newsroom holds it (times in epoch seconds, UTC by definition)."""

    id: int
    headline: str
    created_at: float
    updated_at: float
    symbols: list[str]
    summary: str = ""
    content: str = ""
    author: str = ""
    source: str = "benzinga"
    url: str = ""
    images: list[dict[str, str]] = field(default_factory=list)


Listener = Callable[[NewsArticle], None]


class Newsroom:
    """Every article, in id order, and the sockets that hear new ones."""

    def __init__(self, clock: Callable[[], float], seed: int = 7) -> None:
        self._clock = clock
        self._random = random.Random(f"news-{seed}")
        self._next_id = FIRST_ID
        self.articles: dict[int, NewsArticle] = {}
        self.listeners: list[Listener] = []

    def publish(
        self,
        headline: str,
        symbols: Collection[str],
        *,
        created_at: float | None = None,
        updated_at: float | None = None,
        summary: str = "",
        content: str = "",
        author: str = "",
        source: str = "benzinga",
        url: str = "",
    ) -> NewsArticle:
        """A new article (now, unless told when), heard by every listener."""
        if not headline.strip():
            raise ValueError("headline must not be empty")
        # whole seconds: Alpaca's resolution (an update is then always visibly later)
        created = float(int(self._clock() if created_at is None else created_at))
        article = NewsArticle(
            id=self._next_id,
            headline=headline,
            created_at=created,
            updated_at=created if updated_at is None else float(int(updated_at)),
            symbols=[s.strip().upper() for s in symbols if s.strip()],
            summary=summary,
            content=content,
            author=author,
            source=source,
            url=url or f"https://news.sandbox.invalid/{self._next_id}",
        )
        self._next_id += 1
        self.articles[article.id] = article
        while len(self.articles) > RETENTION:
            del self.articles[next(iter(self.articles))]
        self._tell(article)
        return article

    def update(
        self, article_id: int, *, updated_at: float | None = None, **changes: object
    ) -> NewsArticle:
        """A new revision of an article: same id, a later `updated_at` (now unless told)."""
        old = self.articles.get(article_id)
        if old is None:
            raise KeyError(f"no article {article_id}")
        allowed = {"headline", "summary", "content", "author", "source", "url", "symbols"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}")
        stamp = float(int(self._clock() if updated_at is None else updated_at))
        if stamp <= old.updated_at:
            stamp = old.updated_at + 1.0  # a revision is always later
        new = dataclasses.replace(old, updated_at=stamp, **changes)  # type: ignore[arg-type]
        if "symbols" in changes:
            new.symbols = [str(s).strip().upper() for s in new.symbols if str(s).strip()]
        self.articles[article_id] = new
        self._tell(new)
        return new

    def _tell(self, article: NewsArticle) -> None:
        for listener in list(self.listeners):
            try:
                listener(article)
            except Exception:
                log.exception("sandbox news listener failed")

    def select(
        self,
        symbols: Collection[str] | None,
        start: float | None,
        end: float | None,
        *,
        descending: bool = True,
        exclude_contentless: bool = False,
    ) -> list[NewsArticle]:
        """Articles about any of `symbols` (None: all) updated within [start, end], sorted
        by `updated_at` (then id)."""
        wanted = set(symbols) if symbols is not None else None
        rows = [
            a
            for a in self.articles.values()
            if (wanted is None or wanted.intersection(a.symbols))
            and (start is None or a.updated_at >= start)
            and (end is None or a.updated_at <= end)
            and (not exclude_contentless or a.content)
        ]
        rows.sort(key=lambda a: (a.updated_at, a.id), reverse=descending)
        return rows

    # -- the demo's generator -------------------------------------------------------------
    def generate(self, candidates: Collection[str], *, at: float | None = None) -> NewsArticle:
        """One made-up article about one or two of `candidates` (deterministic per seed)."""
        pool = sorted(s for s in candidates if classify(s) == "equity" and s.isalpha())
        if not pool:
            pool = ["AAPL", "MSFT", "NVDA", "SPY"]
        first = self._random.choice(pool)
        symbols = [first]
        if len(pool) > 1 and self._random.random() < 0.25:
            symbols.append(self._random.choice([s for s in pool if s != first]))
        headline, summary = self._random.choice(_TEMPLATES)
        return self.publish(
            headline.format(s=first),
            symbols,
            created_at=at,
            summary=summary.format(s=first),
            author=self._random.choice(_AUTHORS),
            source=self._random.choice(_SOURCES),
        )

    def backfill(self, candidates: Collection[str], count: int, spacing: float) -> None:
        """`count` articles spread back in time, `spacing` seconds apart (the demo's history)."""
        now = self._clock()
        for i in range(count, 0, -1):
            self.generate(candidates, at=now - i * spacing)
