"""The server writes every time as the browser does (docs/streaming-contract.md "Times: one
named zone"): accounts/times.py against static/js/stream/times.js under node, over every
IANA zone the Display settings offer, in winter, in summer and in the hours around the
clocks' changes — the wall time, the date, the weekday and the zone's name alike."""

from __future__ import annotations

import datetime as dt

from accounts.times import MARKET_ZONE, known_zones, text, when, zone_label, zone_of
from tests.support.node import node_tool

#: Winter and summer in both hemispheres, a second before midnight, and the hours around
#: Europe's (29 Mar) and America's (1 Nov) clock changes.
INSTANTS = [
    int(dt.datetime(2026, m, d, h, mi, s, tzinfo=dt.UTC).timestamp() * 1000)
    for m, d, h, mi, s in [
        (1, 15, 12, 0, 5),
        (7, 15, 23, 59, 59),
        (3, 29, 1, 30, 0),
        (11, 1, 6, 30, 0),
    ]
]
KINDS = ("time", "hm", "day", "day-hm", "full", "full-hm", "stamp")


def test_every_zone_reads_the_same_on_the_server_and_in_the_browser():
    cases = [
        {"zone": zone, "ms": ms, "kind": kind}
        for zone in sorted(known_zones())
        for ms in INSTANTS
        for kind in ("full", "stamp")
    ]
    browser = node_tool("times.mjs", cases)
    differ = [
        f"{c['zone']} {c['ms']} {c['kind']}: server {mine!r}, browser {theirs!r}"
        for c, theirs in zip(cases, browser, strict=True)
        if (mine := text(c["ms"], zone_of(c["zone"]), c["kind"])) != theirs
    ]
    assert len(cases) > 2000 and not differ, "\n".join(differ[:20])


def test_each_kind_and_the_names_a_trader_reads():
    t = INSTANTS[0]  # 2026-01-15 12:00:05 UTC
    zones = [MARKET_ZONE, "Europe/London", "Asia/Kolkata", "UTC", "America/Chicago"]
    cases = [{"zone": z, "ms": ms, "kind": k} for z in zones for ms in INSTANTS for k in KINDS]
    assert [text(c["ms"], zone_of(c["zone"]), c["kind"]) for c in cases] == node_tool(
        "times.mjs", cases
    )
    ny = zone_of(MARKET_ZONE)
    assert text(t, ny, "time") == "07:00:05 EST"
    assert text(INSTANTS[1], ny, "full") == "Jul 15, 2026, 19:59:59 EDT"
    assert text(t, zone_of("Europe/London"), "day") == "Jan 15, 12:00:05 GMT"
    assert text(INSTANTS[1], zone_of("Europe/London"), "hm") == "00:59 GMT+1"
    assert text(t, zone_of("Asia/Kolkata"), "hm") == "17:30 GMT+5:30"
    assert text(t, zone_of("UTC"), "hm") == "12:00 UTC"
    assert text(None, ny, "time") == ""
    # no zone, or one nobody knows: New York's
    assert zone_of("").key == zone_of("Mars/Olympus").key == zone_of(None).key == MARKET_ZONE
    assert zone_label(dt.datetime(2026, 7, 1, tzinfo=ny)) == "EDT"


def test_when_is_the_time_alone_on_the_same_day_in_the_zone_shown():
    ny = zone_of(MARKET_ZONE)
    t = INSTANTS[0]  # 07:00:05 EST
    assert when(t, ny, t + 3_600_000) == "07:00:05 EST"
    assert when(t, ny, t + 86_400_000) == "Jan 15, 07:00:05 EST"
    assert when(t, ny, t + 3_600_000, minutes=True) == "07:00 EST"
    assert when(t, ny, t - 86_400_000, minutes=True) == "Jan 15, 07:00 EST"
    assert when(None, ny, t) == ""
