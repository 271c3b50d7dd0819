"""DXLink COMPACT rows decoded without a model per event give exactly the values of the
SDK's models + tastytrade_wire (streaming/brokers/tastytrade/compact.py)."""

from __future__ import annotations

import asyncio
import random

import orjson
import pytest
from tastytrade import Account, DXLinkStreamer
from tastytrade.dxfeed import Candle, Greeks, Quote, Summary, Trade
from tastytrade.utils import TastytradeError

from sandbox.core.config import SandboxConfig
from streaming.brokers.tastytrade import compact, streamers, wire
from streaming.instruments.symbols import streamer_symbol_for
from tests.support.sdk import sdk_session

MODEL_PATH = {
    "Quote": (Quote, wire.quote_fields),
    "Trade": (Trade, wire.trade_fields),
    "Summary": (Summary, wire.summary_fields),
    "Greeks": (Greeks, wire.greeks_fields),
}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=0.0)  # a still market: two sessions see the same values


def model_path(kind: str, data: list) -> bytes:
    cls, to_fields = MODEL_PATH[kind]
    return orjson.dumps([(e.event_symbol, to_fields(e)) for e in cls.from_stream(data)])


def compact_path(kind: str, data: list) -> bytes:
    rows = compact.DECODERS[kind].rows(data)
    return orjson.dumps([(r.event_symbol, r.fields) for r in rows])


ODD = ["NaN", "Infinity", "-Infinity", None, True, "5", "x", 0, -1.5, 2.0, 1e20, 3]


def random_row(kind: str, rng: random.Random, odd: float) -> list:
    """A row in the model's field order: plausible values, some replaced by odd ones."""
    cls, _ = MODEL_PATH[kind]
    row = []
    for name, info in cls.model_fields.items():
        annotation = str(info.annotation)
        if name == "event_symbol":
            value = rng.choice(["SPY", ".SPY270115C590", "/ESZ26:XCME"])
        elif "str" in annotation:
            value = rng.choice(["Q", "UP", "REGULAR", "C"])
        elif "bool" in annotation:
            value = rng.choice([True, False])
        elif "int" in annotation and "Decimal" not in annotation:
            value = rng.choice([0, 1_795_510_000_000 + rng.randrange(10**6), 7])
        else:
            value = rng.choice([round(rng.uniform(-50, 500), rng.choice([0, 2, 4])), 100, 0.1])
        if rng.random() < odd:
            value = rng.choice(ODD)
        row.append(value)
    return row


@pytest.mark.parametrize("kind", sorted(MODEL_PATH))
def test_rows_decode_to_the_model_paths_values(kind):
    """Thousands of rows per type, clean and with NaN, infinities, nulls, bools, strings
    and whole floats where numbers belong: the same events (the SDK skips a row whose
    required number is NaN: so does the compact path) with the same values, down to
    int vs float in the JSON (100.0 is 100, as `values.num` makes a whole Decimal)."""
    rng = random.Random(15)
    for odd in (0.0, 0.05, 0.3):
        data = [v for _ in range(2000) for v in random_row(kind, rng, odd)]
        expected = model_path(kind, data)
        assert compact_path(kind, data) == expected
        if odd == 0.0:
            assert len(orjson.loads(expected)) == 2000  # every clean row is an event


def test_a_payload_that_is_not_whole_rows_is_left_to_the_sdk():
    assert compact.DECODERS["Quote"].rows(["SPY", 1, 2]) is None


def test_the_adapter_opens_dxlink_with_the_compact_streamer():
    assert streamers.supported()
    assert streamers.STREAMER is streamers.CompactDXLinkStreamer


async def test_a_sandbox_session_gives_the_same_fields_either_way(sandbox, refresh_token):
    """The real SDK over a real socket: one session queues Rows, one models; in a still
    market every symbol's Quote, Trade, Summary and Greeks fields are identical."""
    session = sdk_session(sandbox, refresh_token)
    async with session:
        accounts = await Account.get(session)
        positions = await accounts[0].get_positions(session)
    options = sorted(
        {
            streamer_symbol_for(p.symbol, str(p.instrument_type.value))
            for p in positions
            if "Option" in str(p.instrument_type.value)
        }
    )
    symbols = ["SPY", "QQQ", "AAPL", *options[:3]]
    assert options, "the sandbox customer holds options (their greeks are compared)"
    seen: dict[str, dict] = {}
    for streamer in (streamers.CompactDXLinkStreamer, DXLinkStreamer):
        got: dict = {}
        async with sdk_session(sandbox, refresh_token) as session, streamer(session) as dx:
            for kind, (cls, _) in MODEL_PATH.items():
                wanted = options[:3] if kind == "Greeks" else symbols
                await dx.subscribe(cls, wanted)
                while len([k for k in got if k[0] == kind]) < len(wanted):
                    if streamer is streamers.CompactDXLinkStreamer:  # one queue, all types
                        await dx.events.wait(10)
                        for event in dx.events.take(100):
                            assert type(event) is compact.Row
                            got[(event.kind, event.event_symbol)] = event.fields
                        continue
                    event = await dx.get_event(cls)
                    got[(kind, event.event_symbol)] = compact.fields_of(event, MODEL_PATH[kind][1])
        seen[streamer.__name__] = got
    assert seen["CompactDXLinkStreamer"] == seen["DXLinkStreamer"]
    assert len(seen["DXLinkStreamer"]) == 3 * len(symbols) + len(options[:3])


def row_of(kind: str, symbol: str, **values) -> list:
    """One COMPACT row of `kind` in the model's field order: `values` by field name, the
    rest plausible defaults."""
    cls = QUEUED_TYPES[kind]
    row = []
    for name, info in cls.model_fields.items():
        annotation = str(info.annotation)
        if name == "event_symbol":
            default = symbol
        elif "str" in annotation:
            default = "Q"
        elif "bool" in annotation:
            default = False
        elif "int" in annotation and "Decimal" not in annotation:
            default = 0
        else:
            default = 1.0
        row.append(values.get(name, default))
    return row


QUEUED_TYPES = {**{k: cls for k, (cls, _) in MODEL_PATH.items()}, "Candle": Candle}


def feed(dx: DXLinkStreamer, kind: str, *rows: list) -> None:
    """One FEED_DATA message as the SDK's reader hands it to `_map_message` (COMPACT)."""
    dx._map_message([kind, [v for row in rows for v in row]], dx._channels[kind])


def test_every_quote_type_and_candles_go_on_one_queue_in_dxlink_order():
    """A tick is several DXLink messages (one per type): their events are queued on the
    streamer's one queue in the order they came, not on a queue per type."""
    dx = streamers.CompactDXLinkStreamer(None)
    feed(dx, "Quote", row_of("Quote", "SPY", bid_price=1.5, ask_price=1.75, bid_time=9))
    feed(dx, "Trade", row_of("Trade", "SPY", price=1.625, time=8))
    feed(dx, "Candle", row_of("Candle", "SPY{=1m,tho=true}", time=60_000, close=1.5))
    feed(dx, "Summary", row_of("Summary", "SPY", day_high_price=2.5), row_of("Summary", "QQQ"))
    feed(dx, "Greeks", row_of("Greeks", ".SPY270115C590", delta=0.5, time=7))
    items = dx.events.take(100)
    kinds = [(getattr(i, "kind", type(i).__name__), i.event_symbol) for i in items]
    assert kinds == [
        ("Quote", "SPY"),
        ("Trade", "SPY"),
        ("Candle", "SPY{=1m,tho=true}"),
        ("Summary", "SPY"),
        ("Summary", "QQQ"),
        ("Greeks", ".SPY270115C590"),
    ]
    assert items[0].fields == {"bid": 1.5, "ask": 1.75, "bid_size": 1, "ask_size": 1, "t": 9}
    assert items[1].fields["last"] == 1.625 and items[1].fields["t"] == 8
    assert type(items[2]) is Candle and items[2].close == 1.5
    assert items[3].fields["day_high"] == 2.5
    assert items[5].fields["delta"] == 0.5
    for kind in ("Quote", "Trade", "Summary", "Greeks", "Candle"):  # no SDK queue of these
        assert kind not in dx._send and QUEUED_TYPES[kind] not in dx._recv
    assert len(dx.events) == 0


def test_a_full_format_message_joins_the_one_queue_with_the_models_values():
    """The SDK parses what the fast path does not take (here the FULL format); its models
    move at once to the one queue, as Rows with the model path's fields."""
    dx = streamers.CompactDXLinkStreamer(None)
    model = Quote.from_stream(row_of("Quote", "SPY", bid_price=2.5, ask_price=3.0))[0]
    feed(dx, "Trade", row_of("Trade", "SPY", price=2.75))
    dx._map_message([model.model_dump(by_alias=True)], dx._channels["Quote"])
    trade, quote = dx.events.take(10)
    assert (trade.kind, quote.kind) == ("Trade", "Quote")
    assert quote == compact.Row("SPY", wire.quote_fields(model), "Quote")


def test_a_payload_that_is_not_whole_rows_fails_the_reader_as_the_sdk_does():
    """The SDK raises for a COMPACT payload that is not whole rows (its reader, and so the
    connection, ends); through the one queue it still does, and queues nothing."""
    dx = streamers.CompactDXLinkStreamer(None)
    with pytest.raises(TastytradeError):
        dx._map_message(["Quote", ["SPY", 1, 2]], dx._channels["Quote"])
    plain = DXLinkStreamer(None)
    with pytest.raises(TastytradeError):
        plain._map_message(["Quote", ["SPY", 1, 2]], plain._channels["Quote"])
    assert len(dx.events) == 0


async def test_the_queue_wakes_its_reader_and_times_out_when_quiet():
    queue = streamers.EventQueue()
    assert await queue.wait(0.01) is False
    waiting = asyncio.create_task(queue.wait(10))
    await asyncio.sleep(0)
    queue.put(compact.Row("SPY", {}, "Quote"))
    assert await asyncio.wait_for(waiting, 5) is True
    assert queue.take(10) == [compact.Row("SPY", {}, "Quote")]


async def test_a_busy_queue_arms_one_timer_per_period_not_one_per_wait():
    """The pump waits once per DXLink message (hundreds a second per daphne under load):
    a timer armed and cancelled for each wait was 3-4 % of a loaded daphne's CPU
    (docs/performance.md, "Where a daphne's CPU goes")."""
    loop = asyncio.get_running_loop()
    armed = 0
    call_at, call_later = loop.call_at, loop.call_later

    def counting_at(*args, **kwargs):
        nonlocal armed
        armed += 1
        return call_at(*args, **kwargs)

    def counting_later(*args, **kwargs):
        nonlocal armed
        armed += 1
        return call_later(*args, **kwargs)

    queue = streamers.EventQueue()

    async def produce() -> None:
        for _ in range(100):
            await asyncio.sleep(0)
            queue.put(compact.Row("SPY", {}, "Quote"))

    loop.call_at, loop.call_later = counting_at, counting_later
    try:
        started = loop.time()
        producer = asyncio.create_task(produce())
        taken = 0
        while taken < 100:
            await queue.wait(1.0)  # False only if a period passed first (a slow box)
            taken += len(queue.take(10))
        await producer
        elapsed = loop.time() - started
    finally:
        loop.call_at, loop.call_later = call_at, call_later
    # one timer, and one more for each period that passed (a slow box)
    assert armed <= 1 + int(elapsed / 1.0), (armed, elapsed)


async def test_a_shorter_wait_is_not_held_by_a_longer_one_before_it():
    queue = streamers.EventQueue()
    queue.put(compact.Row("SPY", {}, "Quote"))
    waiting = asyncio.create_task(queue.wait(10))
    assert await waiting is True
    queue.take(10)
    longer = asyncio.create_task(queue.wait(10))
    await asyncio.sleep(0)
    queue.put(compact.Row("SPY", {}, "Quote"))
    assert await longer is True  # a timer for +10 s may be armed now
    queue.take(10)
    # nothing queued: returns on its own period, not the earlier wait's
    assert await asyncio.wait_for(queue.wait(0.01), 5) is False
