"""Where a user's account stream is: (epoch, seq) positions, and the fence that ends a run.

A position is the stream's concept (the state numbers every account event with one; a
tab resumes from one); the event log (streaming/cluster/eventlog.py) stores frames by it.
The seq counts a user's account events, the epoch names the run of seqs it belongs to: a
seq is never compared with one of another epoch (docs/streaming-contract.md "Positions").
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

_POSITION = re.compile(r"([A-Za-z0-9]{1,32}):([0-9]{1,15})", re.ASCII)


@dataclass(frozen=True)
class Position:
    """Where a client is in a user's account stream: after seq `seq` of epoch `epoch`."""

    epoch: str
    seq: int

    def __str__(self) -> str:
        return f"{self.epoch}:{self.seq}"

    @classmethod
    def parse(cls, raw: str | None) -> Position | None:
        """`<epoch>:<seq>` from a query string or a Last-Event-ID; None if malformed."""
        if not raw or len(raw) > 64:
            return None
        match = _POSITION.fullmatch(raw.strip())
        return cls(match[1], int(match[2])) if match else None


def new_epoch() -> str:
    """A fresh epoch name: unique, and roughly ordered by time for whoever reads logs."""
    return f"{int(time.time()):x}{secrets.token_hex(3)}"


class Fenced(Exception):
    """This process no longer owns the user: it must stop writing (and streaming)."""
