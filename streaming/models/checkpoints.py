"""Where a link's replayable event stream was last applied, kept across restarts and
owners (the `Checkpoint` protocol's table: streaming/checkpoints.py)."""

from __future__ import annotations

from django.db import models


class StreamCheckpoint(models.Model):
    """Where a link's replayable event stream was last applied (e.g. Alpaca's event ULID).

    Kept in the database, not in memory, so that a restarted process or a new owner of
    the user replays exactly what it missed. Cursors only move forward.
    """

    link = models.ForeignKey(
        "accounts.BrokerLink", on_delete=models.CASCADE, related_name="stream_checkpoints"
    )
    stream = models.CharField(max_length=64)
    cursor = models.CharField(max_length=128)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "stream"], name="one_checkpoint_per_stream")
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.stream} of link {self.link_id}"
