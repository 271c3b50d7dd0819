"""Database-backed replay checkpoints for adapters (the `Checkpoint` protocol).

Cursors are compared as strings: Alpaca's ULIDs sort by time, so a save never moves a
cursor backwards even if an old owner of the user, fenced off a moment late, still writes.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.db import IntegrityError, transaction

from streaming.models import StreamCheckpoint


def checkpoint_read(*, link_id: int, stream: str) -> str | None:
    row = StreamCheckpoint.objects.filter(link_id=link_id, stream=stream).only("cursor").first()
    return row.cursor if row is not None else None


def checkpoint_advance(*, link_id: int, stream: str, cursor: str) -> bool:
    """Move the cursor forward to `cursor`; False if it already was at or past it."""
    rows = StreamCheckpoint.objects.filter(link_id=link_id, stream=stream)
    if rows.filter(cursor__lt=cursor).update(cursor=cursor):
        return True
    if rows.exists():
        return False
    try:
        with transaction.atomic():
            StreamCheckpoint.objects.create(link_id=link_id, stream=stream, cursor=cursor)
    except IntegrityError:  # created concurrently: advance that one instead
        return bool(rows.filter(cursor__lt=cursor).update(cursor=cursor))
    return True


class DatabaseCheckpoint:
    """One link's cursor for one stream, read and written through the ORM."""

    def __init__(self, link_id: int, stream: str) -> None:
        self.link_id = link_id
        self.stream = stream

    async def load(self) -> str | None:
        return await database_sync_to_async(checkpoint_read)(
            link_id=self.link_id, stream=self.stream
        )

    async def save(self, cursor: str) -> None:
        await database_sync_to_async(checkpoint_advance)(
            link_id=self.link_id, stream=self.stream, cursor=cursor
        )
