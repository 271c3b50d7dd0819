"""The health of a user's broker links, per data kind, and which link feeds the quotes.

A link's adapter reports each data kind's state (quotes, account); the manager's sweep
marks data that stopped arriving stale even if the adapter says live, against what the
link usually delivers (`QuoteCadence`: a ticking link is stale after a couple of seconds
of silence, a quiet one only after the configured ceiling); the link's status object
(docs/streaming-contract.md "link status") is rendered from it; and one link, not one per
broker, is the user's quote source, failing over when its market data is down and back
to the preferred link once a standby probe shows that link delivering again for long
enough (doubling with each failover, so a flapping link does not flap the quotes).
Pure bookkeeping: the manager decides when to send a status frame. How long each wait is
comes in as `QuoteWaits` (the composition root reads the `STREAM_*` settings).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, TypedDict

from streaming.contract.frames import KindStatus, LinkStatus
from streaming.runtime.clock import SYSTEM, Clock
from streaming.stream.state import LinkInfo

log = logging.getLogger(__name__)

#: The data kinds whose state is reported separately: one failing never hides the other.
KINDS = ("quotes", "account")
# The waits below in seconds are `QuoteWaits`' defaults (production's): the settings
# STREAM_QUOTE_STALE_AFTER, STREAM_QUOTE_STALE_FLOOR, STREAM_FAILOVER_AFTER,
# STREAM_FIRST_CONNECT_GRACE, STREAM_FAILBACK_AFTER and STREAM_FAILBACK_CAP set them.
#: Market data is stale after this long without a quote while subscribed (seconds): the
#: ceiling; a link that was ticking is judged by its own cadence (`QuoteCadence`).
QUOTE_STALE_AFTER = 10.0
#: ...after this many of its usual gaps between events...
SILENCE_GAPS = 20
#: ...but never sooner than this (seconds): one slow batch is not an outage.
QUOTE_STALE_FLOOR = 2.0
#: Account data is stale after this many of its adapter's confirmation intervals.
STALE_FACTOR = 2.5
#: The quote source hands over after its market data failed (or went stale) this long...
FAILOVER_AFTER = 3.0
#: ...or has not come up at all for this long after the link started (seconds).
FIRST_CONNECT_GRACE = 10.0
#: ...to a link that has not failed as a source in this long.
FAILOVER_COOLDOWN = 60.0
#: Quotes go back to the preferred link once its standby probe has delivered for this
#: long (seconds), doubled for every failover in the last FLAP_WINDOW, up to FAILBACK_CAP.
FAILBACK_AFTER = 10.0
FAILBACK_CAP = 300.0
FLAP_WINDOW = 600.0
#: A standby probe that delivered nothing for this long starts its clock again (seconds).
PROBE_GAP = 5.0
#: Which link feeds the quotes when several can: the richest market data first
#: (tastytrade's DXLink carries greeks and candles; Tradier's stream quotes only).
QUOTE_PREFERENCE = {"tastytrade": 0, "tradier": 1}
#: The worst state of a link's kinds is the link's state.
_SEVERITY = {"error": 5, "reconnecting": 4, "stale": 3, "connecting": 2, "live": 1, "stopped": 0}
#: The states that mean a kind's data is not flowing: their reason is kept as the last error.
TROUBLE = ("error", "reconnecting", "stale")
#: Adapter status extras that are shown on the link (others are ignored).
STATUS_EXTRA = ("reconnects", "token_expires_at", "retry_in")


class StatusExtra(TypedDict, total=False):
    """What of an adapter's status report the link status carries (`STATUS_EXTRA`)."""

    reconnects: int
    #: epoch seconds
    token_expires_at: float | None
    retry_in: float | None


@dataclass(frozen=True)
class QuoteWaits:
    """How long the quote feed waits before each verdict (seconds): handed in by the
    composition root from the settings (docs/streaming.md, "What a trader sees when
    something fails"); the defaults are production's."""

    #: The longest silence of the source's market data before it is stale (the ceiling).
    stale_after: float = QUOTE_STALE_AFTER
    #: The shortest: a source ticking fast is stale after this (`QuoteCadence`).
    stale_floor: float = QUOTE_STALE_FLOOR
    #: A source whose market data is down this long hands the quotes over...
    failover_after: float = FAILOVER_AFTER
    #: ...or whose market data has not come up this long after the link started.
    first_connect_grace: float = FIRST_CONNECT_GRACE
    #: The preferred link's probe delivers this long before the quotes go back to it,
    #: doubled for every failover in the last FLAP_WINDOW, up to `failback_cap`.
    failback_after: float = FAILBACK_AFTER
    failback_cap: float = FAILBACK_CAP

    def __post_init__(self) -> None:
        if not 0 < self.stale_floor <= self.stale_after:
            raise ValueError("the quote stale floor must be > 0 and not above the ceiling")
        if not 0 < self.failback_after <= self.failback_cap:
            raise ValueError("the failback wait must be > 0 and not above its cap")
        if self.failover_after <= 0 or self.first_connect_grace <= 0:
            raise ValueError("the failover waits must be > 0")


#: Production's waits (what a manager gets unless the composition root hands in others).
DEFAULT_QUOTE_WAITS = QuoteWaits()


@dataclass
class KindHealth:
    """One data kind of one link: what its adapter said, and whether data is overdue."""

    state: str = "stopped"
    #: The stream's clock (a replay's runs on the replayed day's time).
    clock: Clock = field(default=SYSTEM, repr=False, compare=False)
    reason: str = ""
    #: When the state shown last changed (ms; when made, if not given).
    since: int = -1
    #: When data of this kind was last confirmed current (ms), None if never.
    last_ok: int | None = None
    #: Set by the staleness sweep: the adapter says live, but data stopped arriving.
    stale: bool = False
    stale_reason: str = ""
    #: When the data last stopped being live (ms; the start while it never was): a
    #: connect that hangs after a drop counts as down as much as `reconnecting` does.
    down_since: int = -1
    was_live: bool = False
    #: How often this kind's adapter reported `reconnecting` (one report per attempt).
    reconnects: int = 0
    #: The reason of the last trouble (error, reconnecting, stale) and when (ms): kept
    #: after the kind healed, for the staff's stream-health view.
    last_error: str = ""
    last_error_at: int | None = None

    def __post_init__(self) -> None:
        if self.since < 0:
            self.since = self.clock.now_ms()
        if self.down_since < 0:
            self.down_since = self.since

    def _trouble(self, state: str, reason: str) -> None:
        if state == "reconnecting":
            self.reconnects += 1
        if state in TROUBLE and reason:
            self.last_error, self.last_error_at = reason, self.clock.now_ms()

    def set(self, state: str, reason: str) -> None:
        self._trouble(state, reason)
        if (state, reason) != (self.state, self.reason) or self.stale:
            self.since = self.clock.now_ms()
        if state != "live" and self.state == "live" and not self.stale:
            self.down_since = self.clock.now_ms()
        self.was_live = self.was_live or state == "live"
        self.state, self.reason, self.stale = state, reason, False

    def mark_stale(self, stale: bool, reason: str = "", *, last_data_ms: int = 0) -> None:
        """The staleness sweep's verdict on a kind its adapter says is live; the data has
        been down since it last arrived."""
        self.stale, self.since = stale, self.clock.now_ms()
        if stale:
            self.stale_reason = reason
            self._trouble("stale", reason)
            self.down_since = last_data_ms or self.since

    def check_overdue(self, overdue: bool, reason: str, last_data: float) -> bool:
        """The staleness sweep's verdict (data last arrived at `last_data`, epoch s);
        True if it changed what is shown."""
        if overdue == self.stale:
            return False
        self.mark_stale(overdue, reason, last_data_ms=int(last_data * 1000))
        return True

    @property
    def shown(self) -> tuple[str, str]:
        if self.stale and self.state == "live":
            return "stale", self.stale_reason
        return self.state, self.reason


@dataclass
class LinkHealth:
    #: The stream's clock (a replay's runs on the replayed day's time).
    clock: Clock = field(default=SYSTEM, repr=False, compare=False)
    #: Per kind (KINDS): made on the link's clock when not given.
    kinds: dict[str, KindHealth] = field(default_factory=dict)
    extra: StatusExtra = field(default_factory=lambda: StatusExtra())
    #: Per kind: how often the adapter promised to confirm the data (seconds).
    expect_every: dict[str, float] = field(default_factory=dict)
    delayed: bool = False
    delay_ms: int | None = None
    #: When this link last stopped being the quote source because it failed (monotonic).
    failed_at: float = -1e9
    #: When it failed as a source (monotonic), the last FLAP_WINDOW's: the failback's
    #: hysteresis doubles with each.
    failures: list[float] = field(default_factory=list)
    #: The standby probe (one symbol streamed while this preferred link is not the
    #: source): when it started delivering without a gap of PROBE_GAP, and last delivered.
    probe_since: float | None = None
    probe_last: float | None = None
    waits: QuoteWaits = DEFAULT_QUOTE_WAITS

    def __post_init__(self) -> None:
        if not self.kinds:
            self.kinds = {k: KindHealth(clock=self.clock) for k in KINDS}

    def stale_after(self, name: str, quote_silence: float) -> float | None:
        """How long data of kind `name` may stop before the sweep calls it stale (seconds):
        the quote source's `quote_silence` (its cadence's), or STALE_FACTOR of the
        interval the adapter promised to confirm account data in (None: none promised)."""
        if name == "quotes":
            return quote_silence
        every = self.expect_every.get(name)
        return STALE_FACTOR * every if every else None

    def view(self, name: str, *, quotes_used: bool, quote_silence: float) -> KindStatus:
        """One kind as the status shows it (`quotes_used`: the link's market data is in
        use, as the quote source or the coin feed; else its quotes kind is `idle`)."""
        entry = self.kinds[name]
        stale_after = self.stale_after(name, quote_silence)
        if name == "quotes" and not quotes_used:
            state, reason, stale_after = "idle", "", None
        else:
            state, reason = entry.shown
        return {
            "state": state,
            "reason": reason,
            "since": entry.since,
            "last_ok": entry.last_ok,
            "stale_after_ms": None if stale_after is None else int(stale_after * 1000),
        }

    def overall(self, *, quotes_used: bool) -> tuple[str, str]:
        """The worst state of the kinds in use (idle ones do not count)."""
        shown = []
        for name in KINDS:
            entry = self.kinds[name]
            if name == "quotes" and not quotes_used:
                continue  # idle
            shown.append(entry.shown)
        return max(shown, key=lambda s: _SEVERITY.get(s[0], 0), default=("stopped", ""))

    def failing_quotes(self, now: float) -> bool:
        """Whether this link's market data has been down long enough to fail over: in
        error, or not live (stale, reconnecting, a connect that hangs) for
        `waits.failover_after` — `waits.first_connect_grace` while it never came up.
        An `idle` link streams no quotes because none are asked of it (another link is
        the source): nothing of it is down, however long ago it started."""
        quotes = self.kinds["quotes"]
        state, _ = quotes.shown
        if state == "error":
            return True
        if state in ("live", "stopped", "idle"):
            return False
        waits = self.waits
        grace = waits.failover_after if quotes.was_live else waits.first_connect_grace
        return self.clock.now_ms() - quotes.down_since >= grace * 1000

    def failed_as_source(self, now: float) -> None:
        """This link stopped being the quote source because its market data failed."""
        self.failed_at = now
        self.failures = [t for t in self.failures if now - t < FLAP_WINDOW] + [now]
        self.probe_since = self.probe_last = None

    def failback_after(self, now: float) -> float:
        """How long the standby probe must deliver before quotes come back (seconds)."""
        recent = sum(1 for t in self.failures if now - t < FLAP_WINDOW)
        waits = self.waits
        return min(waits.failback_cap, waits.failback_after * 2 ** max(0, recent - 1))

    def probe_tick(self, now: float) -> None:
        """The standby probe delivered market data."""
        if self.probe_last is None or now - self.probe_last > PROBE_GAP:
            self.probe_since = now
        self.probe_last = now

    def ready_to_fail_back(self, now: float) -> bool:
        """Whether this (preferred, standby) link has shown working market data long
        enough to take the quotes back: its probe delivered for `failback_after` without
        a gap, up to now, and the link is not reconnecting or rejected."""
        if self.kinds["quotes"].state in ("error", "reconnecting", "connecting"):
            return False
        if self.probe_since is None or self.probe_last is None:
            return False
        if now - self.probe_last > PROBE_GAP:
            return False
        wait = self.failback_after(now)
        return now - self.probe_since >= wait and now - self.failed_at >= wait

    def took_quotes(self) -> None:
        """This link became the quote source: its probe is over and whatever the sweep
        said of its idle feed no longer applies (the grace period starts over)."""
        self.probe_since = self.probe_last = None
        quotes = self.kinds["quotes"]
        if quotes.stale:
            quotes.stale = False
            quotes.since = self.clock.now_ms()


class QuoteCadence:
    """How often the quote source delivers (events per second, smoothed), so that its
    silence is judged against what it usually does: a link ticking many times a second is
    stale after a couple of seconds without data, a quiet one (a thin overnight market)
    only after the configured ceiling. Only windows that had events update the rate, each
    over the time since the previous such window, so a silence never lowers the rate that
    judges it."""

    ALPHA = 0.3

    def __init__(self) -> None:
        self.rate: float | None = None
        self._since: float | None = None

    def observe(self, events: int, now: float) -> None:
        """`events` arrived since the last call (monotonic `now`)."""
        if events <= 0:
            if self._since is None:
                self._since = now
            return
        if self._since is not None and now > self._since:
            sample = events / (now - self._since)
            self.rate = (
                sample if self.rate is None else self.rate + self.ALPHA * (sample - self.rate)
            )
        self._since = now

    def reset(self) -> None:
        """A new source: its cadence is learnt again."""
        self.rate = None
        self._since = None

    def threshold(self, ceiling: float, floor: float = QUOTE_STALE_FLOOR) -> float:
        """Seconds of silence after which the source's data is stale."""
        if not self.rate:
            return ceiling
        return max(floor, min(ceiling, SILENCE_GAPS / self.rate))


def render_status(
    info: LinkInfo,
    health: LinkHealth,
    *,
    quote_source: bool,
    last_event_at: float | None,
    quote_feed: str | None = None,
    quote_silence: float = QUOTE_STALE_AFTER,
    coin_feed: bool = False,
) -> LinkStatus:
    """The contract's link status object (`quote_silence`: how long the link's quote feed
    may be silent before it is stale now, seconds; `coin_feed`: the link feeds the coins
    the source cannot quote, and `quote_feed` is that feed)."""
    quotes_used = (info.streams_quotes and quote_source) or coin_feed
    state, reason = health.overall(quotes_used=quotes_used)
    clock = health.clock
    age = int((clock.time() - last_event_at) * 1000) if last_event_at else None
    since = max((k.since for k in health.kinds.values()), default=clock.now_ms())
    return {
        "id": info.id,
        "broker": info.broker,
        "label": info.label,
        "state": state,
        "reason": reason,
        "since": since,
        "kinds": {
            name: health.view(name, quotes_used=quotes_used, quote_silence=quote_silence)
            for name in KINDS
        },
        "quote_source": quote_source,
        "coin_feed": coin_feed,
        "quote_feed": quote_feed if quote_source or coin_feed else None,
        "delayed": health.delayed,
        "delay_ms": health.delay_ms,
        "last_event_age_ms": age,
        "reconnects": health.extra.get("reconnects", 0),
        "token_expires_at": health.extra.get("token_expires_at"),
        "retry_in": health.extra.get("retry_in"),
        "simulated": info.simulated,
    }


def _whole_seconds(ms: int | None) -> int | None:
    return None if ms is None else round(ms / 1000)


def visible(status: LinkStatus) -> tuple[Any, ...]:
    """What a status frame is sent for (not the ages, which change all the time; a kind's
    `stale_after_ms` only when it moves by whole seconds, not with every sweep's rate)."""
    kinds = tuple(
        (name, k["state"], k["reason"], _whole_seconds(k.get("stale_after_ms")))
        for name, k in sorted(status["kinds"].items())
    )
    return (
        status["state"],
        status["reason"],
        kinds,
        status["quote_source"],
        status.get("coin_feed"),
        status.get("quote_feed"),
        status["delayed"],
        status["reconnects"],
        status["retry_in"],
        status["token_expires_at"],
    )


def quote_preference(info: LinkInfo) -> tuple[int, int]:
    """The order links are asked to feed the quotes in (QUOTE_PREFERENCE, then link id)."""
    return (QUOTE_PREFERENCE.get(info.broker, len(QUOTE_PREFERENCE)), info.id)


def preferred_quote_link(links: dict[int, LinkInfo]) -> int | None:
    """The link that should feed the quotes whenever it works."""
    capable = [info for info in links.values() if info.streams_quotes]
    return min(capable, key=quote_preference).id if capable else None


def choose_quote_source(
    links: dict[int, LinkInfo],
    health: dict[int, LinkHealth],
    current: int | None,
    user_id: int,
    now: float,
) -> int | None:
    """One source, not one per broker: the same symbol from two feeds would interleave
    two different markets (and cost a second upstream subscription). The current
    source stays while it works; a source whose market data failed or went stale for
    `QuoteWaits.failover_after` hands over to the first capable link (in `quote_preference` order)
    that is not failing (and did not fail recently), and a credential error hands over at
    once. While another link feeds the quotes, the preferred one is watched through a
    standby probe; once it delivered for its `failback_after`, the quotes go back to it.
    `now`: the stream's monotonic time."""
    capable = sorted(
        (i for i, info in links.items() if info.streams_quotes),
        key=lambda i: quote_preference(links[i]),
    )
    if not capable:
        return None
    if current in capable and not health[current].failing_quotes(now):
        preferred = capable[0]
        if preferred != current and health[preferred].ready_to_fail_back(now):
            log.warning(
                "user %s: quotes fail back from link %s to link %s", user_id, current, preferred
            )
            return preferred
        return current

    def healthy(link_id: int) -> bool:
        recent = now - health[link_id].failed_at < FAILOVER_COOLDOWN
        return not recent and health[link_id].kinds["quotes"].state not in ("error", "reconnecting")

    for link_id in capable:
        if link_id != current and healthy(link_id):
            if current is not None:
                health[current].failed_as_source(now)
                log.warning(
                    "user %s: quotes fail over from link %s to link %s", user_id, current, link_id
                )
            return link_id
    if current in capable:
        return current  # nothing better: keep trying the one we have
    for link_id in capable:
        if health[link_id].kinds["quotes"].state != "error":
            return link_id
    return capable[0]
