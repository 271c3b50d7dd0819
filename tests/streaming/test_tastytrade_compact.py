"""DXLink COMPACT rows decoded without a model per event give exactly the values of the
SDK's models + tastytrade_events (streaming/brokers/tastytrade_compact.py)."""

from __future__ import annotations

import random

import orjson
import pytest
from tastytrade import Account, DXLinkStreamer
from tastytrade.dxfeed import Greeks, Quote, Summary, Trade

from streaming.brokers import tastytrade_compact as compact
from streaming.brokers import tastytrade_events as events
from streaming.brokers.symbols import streamer_symbol_for
from streaming.sandbox.core.config import SandboxConfig
from tests.support.sdk import sdk_session

MODEL_PATH = {
    "Quote": (Quote, events.quote_fields),
    "Trade": (Trade, events.trade_fields),
    "Summary": (Summary, events.summary_fields),
    "Greeks": (Greeks, events.greeks_fields),
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
    assert compact.supported()
    assert compact.STREAMER is compact.CompactDXLinkStreamer


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
    for streamer in (compact.CompactDXLinkStreamer, DXLinkStreamer):
        got: dict = {}
        async with sdk_session(sandbox, refresh_token) as session, streamer(session) as dx:
            for kind, (cls, _) in MODEL_PATH.items():
                wanted = options[:3] if kind == "Greeks" else symbols
                await dx.subscribe(cls, wanted)
                while len([k for k in got if k[0] == kind]) < len(wanted):
                    event = await dx.get_event(cls)
                    got[(kind, event.event_symbol)] = compact.fields_of(event, MODEL_PATH[kind][1])
                    if streamer is compact.CompactDXLinkStreamer:
                        assert type(event) is compact.Row
        seen[streamer.__name__] = got
    assert seen["CompactDXLinkStreamer"] == seen["DXLinkStreamer"]
    assert len(seen["DXLinkStreamer"]) == 3 * len(symbols) + len(options[:3])
