"""bench/stages.py: a py-spy stack goes to the innermost stage of the quote path it passes
through, and a table says each stage's CPU per quote event and per delivered frame."""

from __future__ import annotations

from collections import Counter

from bench.stages import StageTable, read_raw, stage_of

LOOP = ["run (twisted/internet/asyncioreactor.py:255)", "_run (asyncio/events.py:80)"]


def stack(*frames: str) -> list[str]:
    return [*LOOP, *frames]


def test_a_stack_is_its_innermost_stage():
    reader = "_connect (tastytrade/streamer.py:700)"
    assert stage_of(stack(reader, "receive (httpx_ws/_api.py:400)")) == "dxlink read"
    assert stage_of(stack(reader, "rows (streaming/brokers/tastytrade/compact.py:90)")) == (
        "compact mapping"
    )
    quote = "quote (streaming/stream/quote_feed.py:240)"
    assert stage_of(stack(reader, quote)) == "manager, state"
    assert stage_of(stack(reader, quote, "on_quote (streaming/alerts/runner.py:70)")) == (
        "listeners"
    )
    account = "_account (streaming/stream/manager.py:390)"
    assert stage_of(stack("run (streaming/brokers/supervised.py:290)", account)) == (
        "account events"
    )
    send = "send (streaming/tabs/session.py:300)"
    assert stage_of(stack("run (streaming/stream/outbox.py:90)", send)) == "tab frames"
    deflate = "compress_message_data (autobahn/websocket/compress_deflate.py:500)"
    assert stage_of(stack(send, "sendMessage (autobahn/websocket/protocol.py:1)", deflate)) == (
        "deflate"
    )
    write = "writeSomeData (twisted/internet/tcp.py:250)"
    assert stage_of(stack(send, "sendMessage (autobahn/websocket/protocol.py:1)", write)) == (
        "socket write"
    )
    group = "group_send (channels_redis/core.py:600)"
    assert stage_of(stack("publish (streaming/cluster/fanout.py:80)", group)) == "fan-out"
    # asyncio inside a stage is that stage's; the loop alone is the event loop's
    assert stage_of(stack(quote, "call_soon (asyncio/base_events.py:760)")) == "manager, state"
    assert stage_of(stack("select (selectors.py:468)")) == "event loop"
    assert stage_of(["<module> (manage.py:22)"]) == "other"
    # the recorder's work is its own, the gzip under its writer included
    put = "put (streaming/stream/recording.py:110)"
    assert stage_of(stack(reader, "quote (streaming/stream/sink.py:60)", put)) == "recording"
    writer = "_run (streaming/stream/recording.py:125)"
    gzip = "compress (gzip.py:600)"
    assert stage_of(stack(writer, "append (streaming/stream/day_file.py:80)", gzip)) == (
        "recording"
    )


def test_raw_samples_become_a_table_per_event_and_per_frame():
    lines = [
        ";".join(stack("_connect (tastytrade/streamer.py:700)")) + " 30",
        ";".join(stack("send (streaming/tabs/session.py:300)")) + " 50",
        ";".join(stack("select (selectors.py:468)")) + " 20",
        "not a sample line",
    ]
    samples = read_raw(lines)
    assert samples == Counter({"dxlink read": 30, "tab frames": 50, "event loop": 20})
    table = StageTable(samples, cpu_seconds=2.0, quote_events=10_000, frames_out=1_000)
    rows = {
        name: (share, per_event, per_frame) for name, share, per_event, per_frame in table.rows()
    }
    assert rows["dxlink read"] == (30.0, 60.0, 600.0)  # 0.6 s over 10,000 events, 1,000 frames
    assert rows["tab frames"] == (50.0, 100.0, 1000.0)
    assert rows["deflate"] == (0.0, 0.0, 0.0)
    markdown = table.markdown()
    assert "| dxlink read | 30.0 % | 60.0 | 600.0 |" in markdown
    assert markdown.splitlines()[-1] == "| **all** | 100 % | 200.0 | 2000.0 |"
