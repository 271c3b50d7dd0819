"""Who sees news: a user with a news-capable broker link (today: an enabled Alpaca link).

Articles come with the user's own provider key (Alpaca's market data news), so a user
without such a link has no feed and is told how to get one (`NO_NEWS`), on the page and
from the API. The store itself is shared: a user who qualifies reads every stored article
about their symbols, whichever user's feed stored it.
"""

from __future__ import annotations

#: The brokers whose links bring news.
NEWS_BROKERS = frozenset({"alpaca"})
#: What a user without one is told.
NO_NEWS = "Link an Alpaca account for news."


def news_link_exists(*, user_id: int) -> bool:
    """Whether the user has an enabled link that brings news (a DB read: not per tick)."""
    from accounts.selectors import broker_link_list

    return any(link.broker in NEWS_BROKERS for link in broker_link_list(user_id=user_id))
