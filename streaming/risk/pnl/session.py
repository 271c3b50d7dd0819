"""When "P&L all day" keeps a user's stream sampling with no page open: the US markets'
regular session, Monday to Friday 09:30 to 16:00 New York (docs/streaming-contract.md "Push
and e-mail"). Holidays are not known: on one, the stream runs with nothing moving."""

from __future__ import annotations

import datetime as dt

from streaming.instruments.symbols import NEW_YORK

SESSION_OPENS = dt.time(9, 30)
SESSION_CLOSES = dt.time(16, 0)


def in_trading_session(epoch_s: float) -> bool:
    """Whether `epoch_s` falls in a weekday's regular session, New York time."""
    local = dt.datetime.fromtimestamp(epoch_s, NEW_YORK)
    return local.weekday() < 5 and SESSION_OPENS <= local.time() < SESSION_CLOSES
