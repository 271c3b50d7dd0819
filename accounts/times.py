"""Every time a trader reads, as the server writes it (docs/streaming-contract.md "Times:
one named zone"): in one zone — the trader's `time_zone` display preference, New York's (the
market's clock) until they choose another — and named: EST/EDT for New York (the US zones
by their abbreviations, as Intl names them), otherwise by the offset at that instant
(`GMT+1`, `GMT+5:30`), UTC as `UTC`. A server-rendered time reads exactly as
static/js/stream/times.js writes it on the live page (tests/streaming/test_times_agree.py
compares the two over every IANA zone).

    text(ms, zone_of("Europe/London"), "time")  # "19:02:11 GMT"
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache

#: The market's clock: every time's zone until the trader chooses another.
MARKET_ZONE = "America/New_York"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: The zones named by their abbreviation (minutes east of UTC -> the name): the US zones a
#: trader at a US broker reads daily, as Intl names them in en-US. Every other zone is named
#: by its offset (`GMT+1`, `GMT-3`, `GMT+5:30`: Intl's own way for a zone it has no short
#: name for), UTC as `UTC`. static/js/stream/times.js holds the same table, so the browser
#: and the server name every zone alike (tzdata's own abbreviations and CLDR's differ:
#: tzdata says BST and CET, Intl GMT+1).
EASTERN = {-300: "EST", -240: "EDT"}
CENTRAL = {-360: "CST", -300: "CDT"}
MOUNTAIN = {-420: "MST", -360: "MDT"}
PACIFIC = {-480: "PST", -420: "PDT"}
ALASKA = {-540: "AKST", -480: "AKDT"}
HAWAII = {-600: "HST"}
NAMED_ZONES: dict[str, dict[int, str]] = {
    "America/New_York": EASTERN,
    "US/Eastern": EASTERN,
    "America/Chicago": CENTRAL,
    "US/Central": CENTRAL,
    "America/Denver": MOUNTAIN,
    "US/Mountain": MOUNTAIN,
    "America/Phoenix": {-420: "MST"},
    "US/Arizona": {-420: "MST"},
    "America/Los_Angeles": PACIFIC,
    "US/Pacific": PACIFIC,
    "America/Anchorage": ALASKA,
    "US/Alaska": ALASKA,
    "Pacific/Honolulu": HAWAII,
    "US/Hawaii": HAWAII,
}
#: The zones named `UTC` (no offset, no other name).
UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu"}
)


#: tzdata's names that are no place's zone (Intl knows neither: a browser would show New
#: York's time under them).
NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@cache
def known_zones() -> frozenset[str]:
    """The IANA zones this server knows (the choices of the Display settings page)."""
    return frozenset(zoneinfo.available_timezones()) - NOT_ZONES


def zone_of(name: str | None) -> zoneinfo.ZoneInfo:
    """`name`'s zone; New York's when it is empty or unknown (as the browser does)."""
    if name and name in known_zones():
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo(MARKET_ZONE)


def zone_label(at: dt.datetime) -> str:
    """The name of `at`'s zone (an aware time in it): `NAMED_ZONES`' abbreviation, `UTC`,
    else its offset as `GMT+1`, `GMT-3`, `GMT+5:30` (`GMT` with none)."""
    zone = at.tzinfo
    key = getattr(zone, "key", None) or str(zone)
    minutes = int((at.utcoffset() or dt.timedelta(0)).total_seconds() // 60)
    named = NAMED_ZONES.get(key, {}).get(minutes)
    if named:
        return named
    if key in UTC_NAMES and minutes == 0:
        return "UTC"
    if minutes == 0:
        return "GMT"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def label(value: dt.datetime | float | int, zone: dt.tzinfo) -> str:
    """`zone`'s name at a time (aware, or epoch ms): "EST", "GMT+1"."""
    return zone_label(wall(value, zone))


def wall(value: dt.datetime | float | int, zone: dt.tzinfo) -> dt.datetime:
    """A time (aware, or epoch ms) as the wall time in `zone`."""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone)
    return dt.datetime.fromtimestamp(float(value) / 1000, dt.UTC).astimezone(zone)


def text(value: dt.datetime | float | int | None, zone: dt.tzinfo, kind: str) -> str:
    """A time (aware, or epoch ms) in `zone`, named, as times.js `zoned` writes it: `time`
    "14:02:11 EST", `hm` "14:02 EST", `day` "Mar 3, 14:02:11 EST", `day-hm` "Mar 3, 14:02
    EST", `full` "Mar 3, 2026, 14:02:11 EST", `full-hm` "Mar 3, 2026, 14:02 EST", `stamp`
    "Tue Mar 3, 14:02 EST"; "" for None."""
    if value is None:
        return ""
    local = wall(value, zone)
    hm = f"{local.hour:02d}:{local.minute:02d}"
    hms = f"{hm}:{local.second:02d}"
    date = f"{MONTHS[local.month - 1]} {local.day}"
    words = {
        "time": hms,
        "hm": hm,
        "day": f"{date}, {hms}",
        "day-hm": f"{date}, {hm}",
        "full": f"{date}, {local.year}, {hms}",
        "full-hm": f"{date}, {local.year}, {hm}",
        "stamp": f"{WEEKDAYS[local.weekday()]} {date}, {hm}",
    }[kind]
    return f"{words} {zone_label(local)}"


def when(
    value: dt.datetime | float | int | None,
    zone: dt.tzinfo,
    now_ms: float,
    *,
    minutes: bool = False,
) -> str:
    """As format.js `fmt.when` (`whenHm` with `minutes`): the time alone on `now_ms`'s day
    in `zone`, else with its date."""
    if value is None:
        return ""
    local = wall(value, zone)
    same_day = local.date() == wall(now_ms, zone).date()
    kind = ("hm" if minutes else "time") if same_day else ("day-hm" if minutes else "day")
    return text(local, zone, kind)
