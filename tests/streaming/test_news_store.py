"""The news store: one row per article, updates replace, cursors order revisions."""

from __future__ import annotations

import datetime as dt

import pytest

from streaming.news import store

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.UTC)


def article(
    news_id: str, symbols: tuple[str, ...], updated: dt.datetime = T0, **kw
) -> store.Article:
    return store.Article(
        provider="alpaca",
        news_id=news_id,
        headline=kw.pop("headline", f"headline {news_id}"),
        created_at=T0,
        updated_at=updated,
        symbols=symbols,
        **kw,
    )


def test_an_update_replaces_the_article_and_gets_a_later_cursor() -> None:
    first = store.news_upsert([article("1", ("AAPL",)), article("2", ("MSFT",))])
    assert [r.news_id for r in first] == ["1", "2"]
    later = T0 + dt.timedelta(minutes=5)
    (updated,) = store.news_upsert([article("1", ("AAPL",), later, headline="revised")])
    assert updated.pk > first[1].pk
    assert [(r.news_id, r.headline) for r in store.news_list_latest(["AAPL"])] == [("1", "revised")]
    assert [r.news_id for r in store.news_list_after(None, first[1].pk)] == ["1"]


def test_the_same_or_an_older_revision_is_not_stored_again() -> None:
    store.news_upsert([article("1", ("AAPL",), T0 + dt.timedelta(minutes=1))])
    assert store.news_upsert([article("1", ("AAPL",))]) == []
    assert store.news_upsert([article("1", ("AAPL",), T0 + dt.timedelta(minutes=1))]) == []
    assert store.news_head_get() == store.news_list_latest(None)[0].pk


def test_reading_by_symbol_lists_an_article_about_two_of_them_once() -> None:
    store.news_upsert([article("1", ("AAPL", "MSFT")), article("2", ("TSLA",))])
    assert [r.news_id for r in store.news_list_after(["AAPL", "MSFT"], 0)] == ["1"]
    assert [r.news_id for r in store.news_list_after(["TSLA"], 0)] == ["2"]


def test_the_wire_form_sends_times_as_epoch_ms_of_utc() -> None:
    eastern = dt.timezone(dt.timedelta(hours=-5))
    (row,) = store.news_upsert([article("9", ("SPY",), T0.astimezone(eastern))])
    wire = store.to_wire(row)
    assert wire["id"] == "alpaca:9"
    assert wire["created_at"] == wire["updated_at"] == 1795530600000
    assert wire["cursor"] == row.pk


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        article("1", ("AAPL",), dt.datetime(2026, 11, 24, 14, 30))
