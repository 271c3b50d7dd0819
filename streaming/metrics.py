"""The stream's Prometheus metrics, defined once; the streaming core records into them.

Exposed at `/metrics` by the operations app (operations/metrics.py), which also sets up
prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR: every daphne process
writes its own files, any process's `/metrics` adds them all up). The catalogue, with
what each metric means, is docs/operations.md, "Metrics".

Cost: in multiprocess mode an increment is a locked write into a memory-mapped file
(about a microsecond, see docs/performance.md, "Metrics overhead"), so the per-tick and
per-frame paths never touch a metric: they add to plain ints that are flushed once per
flush interval (quote events), per tab heartbeat (frames and bytes out), or once per
delivered frame per process, not per tab (latency). Labels are bounded sets (transport,
broker, link state, data kind, a reason class): never a user, an account or a symbol.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

#: Broker -> browser latency buckets (seconds): a flush interval is 0.15 s.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Broker times older than this are not live events (a REST snapshot's old orders, a
#: delayed feed): they would only blur the latency histograms, so they are not observed.
LATENCY_HORIZON = 300.0

STREAMS_OPEN = Gauge(
    "streamdesk_streams_open",
    "Browser streams open now (WebSockets and SSE responses).",
    ["transport"],
    multiprocess_mode="livesum",
)
FRAMES_OUT = Counter("streamdesk_frames_out", "Frames written to browser streams.", ["transport"])
BYTES_OUT = Counter(
    "streamdesk_frame_bytes_out",
    "Bytes of frame text written to browser streams (before WebSocket/SSE framing).",
    ["transport"],
)
QUOTE_EVENTS_IN = Counter(
    "streamdesk_quote_events_in",
    "Market data events the stream managers received from the brokers' adapters.",
    ["kind"],
)
QUOTE_LATENCY = Histogram(
    "streamdesk_quote_latency_seconds",
    "Broker event time of the oldest quote in a quotes frame -> the frame's hand-over to "
    "this process's tabs (one observation per frame and process).",
    buckets=LATENCY_BUCKETS,
)
ACCOUNT_LATENCY = Histogram(
    "streamdesk_account_latency_seconds",
    "Broker time of an order or balance change (`updated_at`) -> the frame's hand-over "
    "to this process's tabs.",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
ACCOUNT_STAGE_LATENCY = Histogram(
    "streamdesk_account_stage_seconds",
    "Broker time of an order or balance change (`updated_at`) -> a stage of its owner's "
    "path before the hand-over: `numbered` (the manager applied it), `logged` (its "
    "event-log write is done).",
    ["kind", "stage"],
    buckets=LATENCY_BUCKETS,
)
ACCOUNT_EVENTS_LOGGED = Counter(
    "streamdesk_account_events_logged",
    "Account frames written to the event log (the owner's, for resuming tabs).",
)
ACCOUNT_EVENTS_REPLAYED = Counter(
    "streamdesk_account_events_replayed",
    "Account frames sent to a tab from the event log (a resume or a gap filled).",
)
RESYNCS = Counter(
    "streamdesk_resyncs",
    "Tabs that had to start over from a snapshot: `gap` (the log could not fill a gap: "
    "4409), `epoch` (the stream's numbering restarted).",
    ["reason"],
)
EPOCHS_STARTED = Counter(
    "streamdesk_epochs_started", "New epochs (the event log had no head for the user)."
)
LINKS = Gauge(
    "streamdesk_links",
    "Broker links of running stream managers, by broker and overall state.",
    ["broker", "state"],
    multiprocess_mode="livesum",
)
RECONNECTS = Counter(
    "streamdesk_broker_reconnects",
    "Adapter loops that reconnect (or wait after a rejected credential), by reason class.",
    ["broker", "kind", "reason"],  # the reason: one of brokers/reconnects.py RECONNECT_REASONS
)
TOKEN_REFRESHES = Counter(
    "streamdesk_token_refreshes",
    "OAuth access-token refreshes, by outcome (ok, rejected, failed).",
    ["broker", "outcome"],
)
RATE_LIMITED = Counter(
    "streamdesk_broker_rate_limited",
    "HTTP 429 answers from brokers that ended a request.",
    ["broker"],
)
LEASE_TAKEOVERS = Counter(
    "streamdesk_lease_takeovers",
    "Stream leases taken over after they expired (the previous owner died or stalled).",
)
RELAY_BATCHES = Counter(
    "streamdesk_relay_batches",
    "Batches of frames sent to another process's tabs (streaming/cluster/relay.py: one per "
    "receiving process and turn of the loop), by outcome: `sent`, or `full` (that "
    "process's layer queue was full: dropped, repaired from the event log).",
    ["outcome"],
)
SLOW_CLOSES = Counter(
    "streamdesk_slow_client_closes",
    "Tabs ended for being too slow to take account frames (close code 4408).",
    ["transport"],
)

# The adaptive flush (streaming/tabs/adaptive_flush.py): published by its one tick per process
QUOTE_FRAMES_MERGED = Counter(
    "streamdesk_quote_frames_merged",
    "Quotes frames merged into a later one instead of sent on arrival: `paced` by the "
    "adaptive flush, `held` for a slow socket.",
    ["reason"],
)
STREAMS_PACED = Gauge(
    "streamdesk_streams_paced",
    "Browser streams whose own quote interval is above the minimum now.",
    multiprocess_mode="livesum",
)
FLUSH_FLOOR = Gauge(
    "streamdesk_flush_floor_seconds",
    "The process's floor under every stream's quote interval (0: not saturated).",
    multiprocess_mode="livemax",
)
LOOP_LAG = Histogram(
    "streamdesk_event_loop_lag_seconds",
    "How late the event loop ran the adaptive flush's 50 ms tick.",
    buckets=(0.005, 0.015, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# The news SSE stream (streaming/news/sse/stream.py)
NEWS_STREAMS_OPEN = Gauge(
    "streamdesk_news_streams_open",
    "News SSE streams (/api/news/stream) open now.",
    multiprocess_mode="livesum",
)
NEWS_ITEMS_SENT = Counter("streamdesk_news_items_sent", "News events written to news streams.")
NEWS_STREAMS_REFUSED = Counter(
    "streamdesk_news_streams_refused",
    "News stream opens refused for a per-user limit (rate_limited, too_many_streams).",
    ["reason"],
)
# The login throttle (streaming/lockout/receivers.py)
LOGIN_LOCKOUTS = Counter(
    "streamdesk_login_lockouts",
    "Logins locked after too many failed passwords (per account or client address).",
)
NEWS_STORE_ERRORS = Counter(
    "streamdesk_news_store_errors",
    "Failed reads of the news store by news streams (each retried, the stream open).",
)


def _age(broker_t: float) -> float | None:
    """Seconds since a broker time (ms); None past the horizon (not a live event)."""
    age = time.time() - broker_t / 1000
    if age < 0:
        return 0.0  # a broker clock ahead of ours
    return None if age > LATENCY_HORIZON else age


def observe_delivery(message: Mapping[str, Any]) -> None:
    """A frame handed to this process's tabs: its broker -> here latency, if it has one
    (`broker_t`, set by fanout.frame_message)."""
    broker_t = message.get("broker_t")
    if broker_t is None:
        return
    age = _age(broker_t)
    if age is None:
        return
    if message.get("kind") == "quotes":
        QUOTE_LATENCY.observe(age)
    else:
        ACCOUNT_LATENCY.labels(message.get("kind", "")).observe(age)


def observe_account_stage(frame: Mapping[str, Any], stage: str) -> None:
    """An account frame reached `stage` in its owner: its broker -> here latency, if it has
    a broker time (an order's or balance's; see `broker_time`)."""
    broker_t = broker_time(frame)
    if broker_t is None:
        return
    age = _age(broker_t)
    if age is not None:
        ACCOUNT_STAGE_LATENCY.labels(frame["type"], stage).observe(age)


def broker_time(frame: Mapping[str, Any]) -> float | None:
    """The broker time a frame carries (ms): a quotes frame's oldest live quote or greeks
    `t`, an order's or balance's `updated_at`; None for everything else."""
    kind = frame.get("type")
    if kind == "quotes":
        oldest = None
        for table in (frame.get("quotes"), frame.get("greeks")):
            for fields in (table or {}).values():
                t = fields.get("t")
                if t is not None and not fields.get("delayed") and (oldest is None or t < oldest):
                    oldest = t
        return oldest
    if kind in ("order", "balance"):
        t = (frame.get(kind) or {}).get("updated_at")
        return t if isinstance(t, int | float) else None
    return None
