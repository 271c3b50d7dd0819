"""The watchlist's services: a user's list written, with its version."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import F

from streaming.models.watchlist import DEFAULT_WATCHLIST, Watchlist
from streaming.validation import MAX_SYMBOLS_PER_LIST, clean_symbol_list


class WatchlistError(ValueError):
    """A watchlist change that cannot be saved, with a message for the user."""


def _clean(field: str, raw: Any) -> list[str]:
    """The normalized symbols of one request field (order kept, duplicates dropped)."""
    return clean_symbol_list(
        raw, field=field, limit=MAX_SYMBOLS_PER_LIST, holder="a watchlist", error=WatchlistError
    )


def _take_write_lock(user_id: int) -> None:
    """On SQLite, take the database's write lock before reading.

    SQLite ignores `SELECT … FOR UPDATE`, and a transaction that reads first cannot wait
    to upgrade to a write while another one writes: it fails at once with "database is
    locked" (two tabs saving together). A write as the first statement waits for the
    lock (the busy timeout) like any writer. Elsewhere the row lock does the job.
    """
    if connection.vendor == "sqlite":
        Watchlist.objects.filter(user_id=user_id).update(version=F("version"))


def watchlist_apply(
    *,
    user_id: int,
    add: list[str] | None = None,
    remove: list[str] | None = None,
    symbols: list[str] | None = None,
) -> tuple[list[str], int]:
    """Apply one change to a user's watchlist and return `(symbols, version)`.

    Exactly one of `add` (append the symbols not yet listed), `remove` or `symbols`
    (replace the list). Every symbol is validated and normalized (OCC → streamer form);
    order is kept and duplicates dropped; the list holds at most
    `MAX_SYMBOLS_PER_LIST`. The read-modify-write runs in one transaction with the row
    locked (`select_for_update`; on SQLite, which ignores it, the database's write lock
    is taken first), so concurrent changes from two tabs never lose one another and
    never fail for the lock; `version` grows by one per change (a change that changes
    nothing keeps it).
    Raises WatchlistError, with a message naming the problem, and stores nothing then.
    """
    given = {
        name: value
        for name, value in (("add", add), ("remove", remove), ("symbols", symbols))
        if value is not None
    }
    if len(given) != 1:
        raise WatchlistError("give exactly one of 'add', 'remove' or 'symbols'")
    ((field, raw),) = given.items()
    change = _clean(field, raw)
    with transaction.atomic():
        _take_write_lock(user_id)
        # get_or_create: two first saves racing both end up locking the one row (the
        # loser's insert fails on the one-to-one key and it reads the winner's row).
        row, _ = Watchlist.objects.select_for_update().get_or_create(
            user_id=user_id, defaults={"symbols": list(DEFAULT_WATCHLIST), "version": 0}
        )
        current, version = list(row.symbols), row.version
        if field == "add":
            updated = [*current, *(s for s in change if s not in current)]
        elif field == "remove":
            updated = [s for s in current if s not in change]
        else:
            updated = change
        if len(updated) > MAX_SYMBOLS_PER_LIST:
            raise WatchlistError(
                f"a watchlist holds at most {MAX_SYMBOLS_PER_LIST} symbols"
                f" (this change would make it {len(updated)})"
            )
        if updated == current:
            return current, version
        row.symbols = updated
        row.version = version = version + 1
        row.save(update_fields=["symbols", "version", "updated_at"])
    return updated, version


def watchlist_set(*, user_id: int, symbols: list[str]) -> list[str]:
    """Replace a user's watchlist (validated, normalized, order kept, duplicates dropped)."""
    return watchlist_apply(user_id=user_id, symbols=symbols)[0]
