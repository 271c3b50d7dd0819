"""News in the contract (docs/streaming-contract.md "News"): the layer's `news.stored`
hint and the news SSE stream's events (an article, as every reader gets it, is
frames.NewsArticle)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from streaming.contract.frames import NewsArticle, Rejection


class NewsStored(TypedDict):
    """The layer message to the `news.stored` group (streaming/news/live.py): only a hint
    that articles up to `cursor` were stored for `symbols`; readers read the store."""

    type: Literal["news.stored"]
    cursor: int
    symbols: list[str]


class NewsStreamLimits(TypedDict):
    max_symbols: int
    streams_per_user: int
    connects_per_minute: int
    max_duration_s: int
    max_backlog: int


class NewsConnectedEvent(TypedDict):
    """The news SSE stream's first event (`event: connected`)."""

    user: str
    symbols: list[str]
    rejected: list[Rejection]
    head: int
    cursor: int
    resumed: bool
    backlog: int
    duration_s: int | None
    heartbeat_s: float
    progress_s: float
    limits: NewsStreamLimits
    server_time: int


class NewsProgressEvent(TypedDict):
    """`event: progress` every few seconds (and the `end` event's counts)."""

    cursor: int
    sent: int
    elapsed_ms: int
    server_time: int


class NewsEndEvent(NewsProgressEvent):
    """`event: end`: why the stream ended (`duration`, `max_duration`, `too_slow`,
    `unauthenticated`)."""

    reason: str | None


class NewsLimitEvent(TypedDict):
    """`event: limit`: symbols the user's stream refused (the user's symbol limit)."""

    symbols: list[str]
    reason: Literal["user_limit_reached"]


class NewsPage(TypedDict):
    """`GET /api/news`'s answer (docs/streaming-contract.md "News", Endpoints): the items;
    `cursor` where a reader resumes; `more` (after a cursor) when the page is full."""

    items: list[NewsArticle]
    cursor: int
    more: NotRequired[bool]
