"""Which instrument a user means by a symbol they send to a chart or an alert: what they
hold first, then what its spelling names (docs/streaming-contract.md, "Instruments").

Most spellings name one instrument whoever sends them (`BTC/USD`, `/ESZ6`, an OCC
option: `instrument.parse`). A few mean what the user holds: `BTCUSD` is the coin where
Alpaca holds it for the user and a ticker elsewhere, and a symbol no rule reads (a
future of a product no rule lists) may be a held instrument's feed symbol. Only for those
is the user's stream asked for its holdings (the snapshot's accounts, read into an
`InstrumentBook`): a sparkline of SPY costs no snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from streaming.instruments.instrument import Instrument, parse
from streaming.instruments.kinds import Kind
from streaming.instruments.resolve import book_of, clean
from streaming.instruments.symbols import CRYPTO_USD_RE
from streaming.portfolio.owner import stream_snapshot

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents

#: How long the holdings are awaited (s) when a spelling needs them: a stream starting.
HOLDINGS_WAIT = 3.0


def needs_holdings(text: str, spelled: Instrument | None) -> bool:
    """Whether what `text` names depends on what the user holds: no rule reads it, or it
    reads as a ticker that a broker may hold as a coin (`BTCUSD`)."""
    if spelled is None:
        return True
    return spelled.kind is Kind.EQUITY and CRYPTO_USD_RE.match(text) is not None


async def user_instrument(
    agents: Agents, user_id: int, raw: object, accounts: Iterable[Mapping[str, Any]] | None = None
) -> Instrument | None:
    """The instrument `raw` names for the user (None: not a symbol). `accounts`: the
    snapshot's accounts when the caller has them; else the stream is asked, only when the
    spelling needs them (an unanswered ask: the spelling alone)."""
    text = clean(raw)
    if text is None:
        return None
    spelled = parse(text)
    if not needs_holdings(text, spelled):
        return spelled
    if accounts is None:
        snapshot = await stream_snapshot(agents, user_id, [], within=HOLDINGS_WAIT)
        accounts = (snapshot or {}).get("accounts") or []
    return book_of(accounts).resolve(text)
