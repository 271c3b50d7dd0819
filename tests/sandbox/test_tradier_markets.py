"""Tradier's market reference endpoints over real sockets, called with httpx as Tradier's
documentation shows them: expirations and their flags, strikes, option look-up, clock,
calendar, symbol look-up, history and time and sales (bars agree with the quotes)."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest

from sandbox.core.symbols import parse_occ_symbol
from tests.support.tradier import tradier_client

NEW_YORK = ZoneInfo("America/New_York")
# NYSE's published full-day holidays and 13:00 early closes (independent of the code).
HOLIDAYS = {
    dt.date(2026, 1, 1), dt.date(2026, 1, 19), dt.date(2026, 2, 16), dt.date(2026, 4, 3),
    dt.date(2026, 5, 25), dt.date(2026, 6, 19), dt.date(2026, 7, 3), dt.date(2026, 9, 7),
    dt.date(2026, 11, 26), dt.date(2026, 12, 25), dt.date(2027, 1, 1), dt.date(2027, 1, 18),
    dt.date(2027, 2, 15), dt.date(2027, 3, 26), dt.date(2027, 5, 31), dt.date(2027, 6, 18),
    dt.date(2027, 7, 5), dt.date(2027, 9, 6), dt.date(2027, 11, 25), dt.date(2027, 12, 24),
}  # fmt: skip
EARLY_CLOSES = {dt.date(2026, 11, 27), dt.date(2026, 12, 24), dt.date(2027, 11, 26)}


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with tradier_client(sandbox) as client:
        yield client


@pytest.fixture
def frozen(control) -> None:
    """No ticks: quotes and bars are compared at one market state."""
    control.configure(tick_rate=0.0)


def third_friday(day: dt.date) -> bool:
    """The monthly expiration: the third Friday, or the Thursday before it when that Friday
    is a holiday (Juneteenth 2026-06-19 -> 2026-06-18), which stays "standard"."""
    friday = day + dt.timedelta(days=1) if day.weekday() == 3 else day
    holiday_moved = day.weekday() == 3 and friday in HOLIDAYS
    return friday.weekday() == 4 and 15 <= friday.day <= 21 and (day == friday) != holiday_moved


def as_list(value: list | dict) -> list:
    """Tradier's one-element collapse undone."""
    return value if isinstance(value, list) else [value]


def is_trading_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def test_expirations_plain_and_with_every_flag(api):
    """Plain: a list of dates. strikes/contractSize/expirationType: one object per date
    with the strike grid the chain lists, 100, and standard/weeklys by the third Friday."""
    plain = api.get("/v1/markets/options/expirations", params={"symbol": "SPY"}).json()
    dates = plain["expirations"]["date"]
    assert isinstance(dates, list) and len(dates) > 3
    full = api.get(
        "/v1/markets/options/expirations",
        params={"symbol": "SPY", "includeAllRoots": "true", "strikes": "true",
                "contractSize": "true", "expirationType": "true"},
    ).json()["expirations"]["expiration"]  # fmt: skip
    assert [e["date"] for e in full] == dates
    for entry in full:
        day = dt.date.fromisoformat(entry["date"])
        assert set(entry) == {"date", "contract_size", "expiration_type", "strikes"}
        assert entry["contract_size"] == 100
        assert entry["expiration_type"] == ("standard" if third_friday(day) else "weeklys")
        assert all(isinstance(k, float) for k in entry["strikes"]["strike"])
    assert {e["expiration_type"] for e in full} == {"standard", "weeklys"}
    chain = api.get(
        "/v1/markets/options/chains", params={"symbol": "SPY", "expiration": dates[0]}
    ).json()["options"]["option"]
    assert sorted({row["strike"] for row in chain}) == full[0]["strikes"]["strike"]
    only_type = api.get(
        "/v1/markets/options/expirations", params={"symbol": "SPY", "expirationType": "true"}
    ).json()["expirations"]["expiration"]
    assert set(only_type[0]) == {"date", "expiration_type"}
    unknown = api.get("/v1/markets/options/expirations", params={"symbol": "ZZZZ$"})
    assert unknown.json() == {"expirations": None}


def test_index_weeklies_need_include_all_roots(api):
    """SPX lists its standard (SPX root) dates; includeAllRoots adds the SPXW weeklies."""
    own = api.get("/v1/markets/options/expirations", params={"symbol": "SPX"}).json()
    own_dates = own["expirations"]["date"]
    own_dates = own_dates if isinstance(own_dates, list) else [own_dates]
    assert own_dates and all(third_friday(dt.date.fromisoformat(d)) for d in own_dates)
    every = api.get(
        "/v1/markets/options/expirations", params={"symbol": "SPX", "includeAllRoots": "true"}
    ).json()["expirations"]["date"]
    assert set(own_dates) < set(every)
    roots = api.get("/v1/markets/options/lookup", params={"underlying": "SPX"}).json()
    assert [r["rootSymbol"] for r in roots["symbols"]] == ["SPX", "SPXW"]


def test_strikes_match_the_chain_and_refuse_bad_dates(api):
    dates = api.get("/v1/markets/options/expirations", params={"symbol": "AAPL"}).json()
    expiry = dates["expirations"]["date"][-1]
    strikes = api.get(
        "/v1/markets/options/strikes", params={"symbol": "AAPL", "expiration": expiry}
    ).json()["strikes"]["strike"]
    chain = api.get(
        "/v1/markets/options/chains", params={"symbol": "AAPL", "expiration": expiry}
    ).json()["options"]["option"]
    assert strikes == sorted({row["strike"] for row in chain})
    assert strikes == sorted(strikes) and len(strikes) > 10
    missing = api.get(
        "/v1/markets/options/strikes", params={"symbol": "AAPL", "expiration": "2001-01-05"}
    )
    assert missing.status_code == 200 and missing.json() == {"strikes": None}
    bad = api.get("/v1/markets/options/strikes", params={"symbol": "AAPL", "expiration": "soon"})
    assert bad.status_code == 400 and bad.json()["errors"]["error"]


def test_options_lookup_lists_every_chain_symbol(api):
    answer = api.get("/v1/markets/options/lookup", params={"underlying": "SPY"}).json()
    (root,) = answer["symbols"]
    assert root["rootSymbol"] == "SPY"
    assert all(parse_occ_symbol(s) is not None and " " not in s for s in root["options"])
    dates = api.get("/v1/markets/options/expirations", params={"symbol": "SPY"}).json()
    chain = api.get(
        "/v1/markets/options/chains",
        params={"symbol": "SPY", "expiration": dates["expirations"]["date"][0]},
    ).json()["options"]["option"]
    assert {row["symbol"] for row in chain} <= set(root["options"])
    assert api.get("/v1/markets/options/lookup", params={"underlying": "ZZZZ$"}).json() == {
        "symbols": None
    }


def test_clock_is_the_new_york_session_at_its_timestamp(api):
    """state/description/next_change/next_state follow the real clock in New York time."""
    before = time.time()
    answer = api.get("/v1/markets/clock")
    clock = answer.json()["clock"]
    assert before - 1 <= clock["timestamp"] <= time.time() + 1
    assert int(answer.headers["x-ratelimit-allowed"]) == 120  # the market group
    now = dt.datetime.fromtimestamp(clock["timestamp"], NEW_YORK)
    assert clock["date"] == now.date().isoformat()
    hhmm = now.strftime("%H:%M")
    close = "13:00" if now.date() in EARLY_CLOSES else "16:00"
    post_end = "17:00" if now.date() in EARLY_CLOSES else "20:00"
    if not is_trading_day(now.date()) or hhmm >= post_end or hhmm < "07:00":
        expected = ("closed", "Market is closed", "07:00", "premarket")
    elif hhmm < "09:30":
        expected = ("premarket", "Market is in premarket hours from 07:00 to 09:24", "09:30",
                    "open")  # fmt: skip
    elif hhmm < close:
        expected = ("open", f"Market is open from 09:30 to {close}", close, "postmarket")
    else:
        expected = ("postmarket", f"Market is in postmarket hours from {close} to {post_end}",
                    post_end, "closed")  # fmt: skip
    got = (clock["state"], clock["description"], clock["next_change"], clock["next_state"])
    assert got == expected


def test_calendar_month_with_holidays_and_early_close(api):
    days = api.get("/v1/markets/calendar", params={"month": "11", "year": "2026"}).json()
    calendar = days["calendar"]
    assert (calendar["month"], calendar["year"]) == (11, 2026)
    rows = {d["date"]: d for d in calendar["days"]["day"]}
    assert len(rows) == 30
    assert rows["2026-11-26"]["status"] == "closed"  # Thanksgiving
    assert rows["2026-11-28"]["status"] == "closed"  # a Saturday
    assert "premarket" not in rows["2026-11-28"]
    regular = rows["2026-11-24"]
    assert regular == {
        "date": "2026-11-24", "status": "open", "description": "Market is open",
        "premarket": {"start": "07:00", "end": "09:24"},
        "open": {"start": "09:30", "end": "16:00"},
        "postmarket": {"start": "16:00", "end": "20:00"},
    }  # fmt: skip
    assert rows["2026-11-27"]["open"] == {"start": "09:30", "end": "13:00"}
    april = api.get("/v1/markets/calendar", params={"month": "03", "year": "2027"}).json()
    closed = {d["date"] for d in april["calendar"]["days"]["day"] if d["status"] == "closed"}
    assert "2027-03-26" in closed  # Good Friday 2027
    this_month = api.get("/v1/markets/calendar").json()["calendar"]
    today = dt.datetime.now(NEW_YORK).date()
    assert (this_month["month"], this_month["year"]) == (today.month, today.year)
    bad = api.get("/v1/markets/calendar", params={"month": "13"})
    assert bad.status_code == 400 and bad.json()["errors"]["error"]


def test_symbol_lookup(api):
    found = api.get("/v1/markets/lookup", params={"q": "goog"}).json()["securities"]["security"]
    assert {s["symbol"] for s in found} == {"GOOG", "GOOGL"}
    assert set(found[0]) == {"symbol", "exchange", "type", "description"}
    one = api.get("/v1/markets/lookup", params={"q": "nvda"}).json()["securities"]["security"]
    assert isinstance(one, dict) and one["type"] == "stock"
    etfs = api.get("/v1/markets/lookup", params={"q": "s", "types": "etf"}).json()
    assert {s["type"] for s in etfs["securities"]["security"]} == {"etf"}
    index = api.get("/v1/markets/lookup", params={"q": "spx", "types": "index"}).json()
    assert [(s["symbol"], s["type"]) for s in index["securities"]["security"]] == [
        ("SPX", "index"), ("XSP", "index"),  # XSP by its name, "Mini-SPX Index"
    ]  # fmt: skip
    assert api.get("/v1/markets/lookup", params={"q": "qwertyuiop"}).json() == {"securities": None}


def test_quotes_and_lookup_agree_on_the_security_type(api):
    """One truth about what a symbol is: a quote's `type` is the look-up's (`index` for
    SPX, `etf` for SPY, `stock` for AAPL), and an option's is `option`."""
    chain = api.get("/v1/markets/options/lookup", params={"underlying": "SPY"}).json()["symbols"][
        0
    ]["options"]
    symbols = ["SPX", "SPY", "AAPL", chain[0]]
    quotes = api.get("/v1/markets/quotes", params={"symbols": ",".join(symbols)}).json()
    types = {q["symbol"]: q["type"] for q in quotes["quotes"]["quote"]}
    assert types == {"SPX": "index", "SPY": "etf", "AAPL": "stock", chain[0]: "option"}
    for symbol in symbols[:3]:
        found = api.get("/v1/markets/lookup", params={"q": symbol}).json()["securities"]
        first = as_list(found["security"])[0]
        assert (first["symbol"], first["type"]) == (symbol, types[symbol])


def test_daily_history_ends_at_the_quote(api, frozen):
    """The live day's bar is the quote's open/high/low/last/volume; the day before closes
    at prevclose; only trading days; weekly and monthly bars end the same way."""
    quote = api.get("/v1/markets/quotes", params={"symbols": "SPY"}).json()["quotes"]["quote"]
    start = (dt.date.today() - dt.timedelta(days=60)).isoformat()
    days = api.get(
        "/v1/markets/history", params={"symbol": "SPY", "interval": "daily", "start": start}
    ).json()["history"]["day"]
    last, before = days[-1], days[-2]
    assert (last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        quote["open"], quote["high"], quote["low"], quote["last"], quote["volume"],
    )  # fmt: skip
    assert before["close"] == quote["prevclose"]
    dates = [dt.date.fromisoformat(d["date"]) for d in days]
    assert dates == sorted(set(dates)) and all(is_trading_day(d) for d in dates)
    assert len(dates) >= 38
    assert all(d["low"] <= min(d["open"], d["close"]) <= max(d["open"], d["close"]) <= d["high"]
               for d in days)  # fmt: skip
    again = api.get(
        "/v1/markets/history", params={"symbol": "SPY", "interval": "daily", "start": start}
    ).json()["history"]["day"]
    assert again == days  # deterministic
    short = api.get(
        "/v1/markets/history",
        params={"symbol": "SPY", "start": days[-10]["date"], "end": days[-3]["date"]},
    ).json()["history"]["day"]
    assert short == days[-10:-2]  # the range does not change a day's bar
    weeks = api.get(
        "/v1/markets/history", params={"symbol": "SPY", "interval": "weekly", "start": start}
    ).json()["history"]["day"]
    this_week = [d for d in days if d["date"] >= weeks[-1]["date"]]
    assert weeks[-1]["close"] == quote["last"] and weeks[-1]["date"] == this_week[0]["date"]
    assert weeks[-1]["high"] == max(d["high"] for d in this_week)
    assert weeks[-1]["volume"] == sum(d["volume"] for d in this_week)
    months = api.get(
        "/v1/markets/history", params={"symbol": "SPY", "interval": "monthly", "start": start}
    ).json()["history"]["day"]
    assert months[-1]["close"] == quote["last"] and months[-1]["date"][:7] == last["date"][:7]


def test_option_history_ends_at_the_option_quote(api, frozen):
    dates = api.get("/v1/markets/options/expirations", params={"symbol": "SPY"}).json()
    chain = api.get(
        "/v1/markets/options/chains",
        params={"symbol": "SPY", "expiration": dates["expirations"]["date"][-1]},
    ).json()["options"]["option"]
    occ = chain[len(chain) // 2]["symbol"]
    quote = api.get("/v1/markets/quotes", params={"symbols": occ}).json()["quotes"]["quote"]
    days = api.get("/v1/markets/history", params={"symbol": occ}).json()["history"]["day"]
    assert days[-1]["close"] == quote["last"] and days[-2]["close"] == quote["prevclose"]


def test_timesales_bars_make_up_the_live_day(api, frozen):
    """By default the live day's bars: the first opens at the day's open, the last closes at
    the quote's last, extremes and volume are the day's; 5/15min merge the same bars."""
    quote = api.get("/v1/markets/quotes", params={"symbols": "AAPL"}).json()["quotes"]["quote"]
    series = {}
    for interval in ("1min", "5min", "15min"):
        answer = api.get("/v1/markets/timesales", params={"symbol": "AAPL", "interval": interval})
        series[interval] = as_list(answer.json()["series"]["data"])
    for interval, width in (("1min", 1), ("5min", 5), ("15min", 15)):
        bars = series[interval]
        assert bars[0]["time"].endswith("T09:30:00") and bars[0]["open"] == quote["open"]
        assert bars[-1]["close"] == quote["last"]
        assert max(b["high"] for b in bars) == quote["high"]
        assert min(b["low"] for b in bars) == quote["low"]
        assert sum(b["volume"] for b in bars) == quote["volume"]
        starts = [dt.datetime.fromisoformat(b["time"]) for b in bars]
        assert all((b - a) == dt.timedelta(minutes=width) for a, b in itertools.pairwise(starts))
        first = bars[0]
        moment = dt.datetime.fromisoformat(first["time"]).replace(tzinfo=NEW_YORK)
        assert first["timestamp"] == int(moment.timestamp())
        assert set(first) == {"time", "timestamp", "price", "open", "high", "low", "close",
                              "volume", "vwap"}  # fmt: skip
    day = series["1min"][0]["time"][:10]
    assert is_trading_day(dt.date.fromisoformat(day))

    # the live day's bars are re-drawn as its minutes pass: compare within one minute
    # (a full series before and after the window, both the same)
    def full() -> list[dict]:
        answer = api.get("/v1/markets/timesales", params={"symbol": "AAPL", "interval": "1min"})
        return as_list(answer.json()["series"]["data"])

    for _ in range(5):
        before = full()
        window = api.get(
            "/v1/markets/timesales",
            params={"symbol": "AAPL", "interval": "1min", "start": f"{day} 09:30",
                    "end": f"{day} 09:34"},
        ).json()["series"]["data"]  # fmt: skip
        window = as_list(window)
        if full() == before:
            break
    assert window == before[:5]


def test_refusals_are_tradier_errors_and_xml_when_not_json(api):
    bad_interval = api.get("/v1/markets/history", params={"symbol": "SPY", "interval": "hourly"})
    assert bad_interval.status_code == 400 and bad_interval.json()["errors"]["error"]
    tick = api.get("/v1/markets/timesales", params={"symbol": "SPY", "interval": "tick"})
    assert tick.status_code == 400 and tick.json()["errors"]["error"]
    bad_date = api.get("/v1/markets/history", params={"symbol": "SPY", "start": "May 4"})
    assert bad_date.status_code == 400 and bad_date.json()["errors"]["error"]
    unknown = api.get("/v1/markets/history", params={"symbol": "ZZZZ$"})
    assert unknown.json() == {"history": None}
    assert api.get(
        "/v1/markets/timesales", params={"symbol": "ZZZZ$", "interval": "1min"}
    ).json() == {"series": None}
    xml = api.get("/v1/markets/history", params={"symbol": "SPY"}, headers={"Accept": "*/*"})
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.text.startswith("<?xml") and "<history><day><date>" in xml.text
    bare = httpx.get(str(api.base_url).rstrip("/") + "/v1/markets/clock")
    assert bare.status_code == 401 and bare.text == "Invalid Access Token"


def test_market_endpoints_count_in_the_market_group(api, control):
    control.configure(tradier_rate_limit_market=2)
    answers = [api.get("/v1/markets/clock"), api.get("/v1/markets/calendar"),
               api.get("/v1/markets/lookup", params={"q": "a"})]  # fmt: skip
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json() == {"errors": {"error": ["Rate limit exceeded"]}}
    assert api.get("/v1/watchlists").status_code == 200  # standard group, its own count
