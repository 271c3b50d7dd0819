"""The sandbox market simulation and its Black-Scholes pricing."""

import datetime as dt
import itertools
import json
import math
from decimal import Decimal

import pytest
from tastytrade import dxfeed

from sandbox.core.market.events import EVENT_FIELDS, SNAPSHOT_BEGIN, SNAPSHOT_END
from sandbox.core.market.state import RISK_FREE_RATE, candle_index
from sandbox.core.market.walk import Market
from sandbox.core.pricing import bs_greeks, bs_price
from sandbox.core.symbols import parse_candle_symbol

T0 = 1_735_830_245.0  # 2025-01-02 15:04:05 UTC
EQUITIES = ["SPY", "QQQ", "AAPL", "MSFT", "NVDA", "TSLA", "SPX", "VIX", "ZZZQ", "BRK/B"]
FUTURES = ["/ESZ26:XCME", "/CLF26:XNYM"]
CALL = ".SPY250221C590"
PUT = ".SPY250221P590"
OPTIONS = [
    CALL,
    PUT,
    ".SPY250221C700",  # deep OTM
    ".SPY250221P400",  # deep OTM
    ".SPY250103C500",  # deep ITM, expires tomorrow
    ".AAPL250321P240",
    ".SPXW250221C5900",
    ".VIX250219C20",
    ".TSLA250117P12.5",
]
CANDLES = ["SPY{=5m,tho=true}", "SPY{=1d}", "AAPL{=1m}", "/ESZ26:XCME{=15s}"]


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make_market(seed=7, symbols=(), clock=None):
    m = Market(seed=seed, clock=clock or FakeClock())
    for s in symbols:
        assert m.ensure(s), s
    return m


ALL = EQUITIES + FUTURES + OPTIONS + CANDLES
EVENT_TYPES = ["Quote", "Trade", "Summary", "Profile", "Greeks", "TheoPrice", "Candle"]


def snapshot(m):
    """Every event of every registered symbol (None where a type does not apply)."""
    return {(t, s): m.event(t, s) for s in sorted(m.symbols) for t in EVENT_TYPES}


def run_script(m, clock):
    out = []
    for i in range(50):
        out.append(sorted(m.tick(7 + i)))
        clock.advance(0.25)
        out.append(snapshot(m))
    out.append(m.candles("SPY{=5m,tho=true}", int(T0 * 1000) - 3_600_000))
    return out


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_calls_same_outputs():
    c1, c2 = FakeClock(), FakeClock()
    m1, m2 = make_market(11, ALL, c1), make_market(11, ALL, c2)
    assert run_script(m1, c1) == run_script(m2, c2)


def test_registration_order_does_not_matter():
    c1, c2 = FakeClock(), FakeClock()
    m1 = make_market(3, ALL, c1)
    m2 = make_market(3, list(reversed(ALL)), c2)
    assert m1.symbols == m2.symbols
    assert run_script(m1, c1) == run_script(m2, c2)


def test_path_of_a_symbol_does_not_depend_on_other_symbols():
    m1 = make_market(5, ["SPY"])
    m2 = make_market(5, ["SPY", "AAPL", "ZZZQ"])
    for _ in range(200):
        m1.tick(1)
        m2.tick(3)  # round-robin: SPY gets exactly one tick per 3
        assert m1.quote("SPY") == m2.quote("SPY")
        assert m1.trade("SPY") == m2.trade("SPY")


def test_different_seeds_differ():
    m1, m2 = make_market(1, EQUITIES), make_market(2, EQUITIES)
    m1.tick(5000)
    m2.tick(5000)
    assert [m1.quote(s) for s in EQUITIES] != [m2.quote(s) for s in EQUITIES]
    assert sum(m1.mid(s) != m2.mid(s) for s in EQUITIES) >= len(EQUITIES) - 1


def test_start_prices():
    m = make_market(7, ["SPY", "QQQ", "AAPL", "SPX", "VIX", "/ESZ26:XCME", "ZZZQ", "QWERT"])
    for symbol, price in [("SPY", 590), ("QQQ", 510), ("AAPL", 243), ("SPX", 5900), ("VIX", 16)]:
        assert m.mid(symbol) == pytest.approx(price, rel=0.01)
    assert m.mid("/ESZ26:XCME") == pytest.approx(5900, rel=0.01)
    for symbol in ("ZZZQ", "QWERT"):
        assert 5 * 0.99 <= m.mid(symbol) <= 500 * 1.01
    assert make_market(99, ["ZZZQ"]).mid("ZZZQ") == pytest.approx(m.mid("ZZZQ"), rel=0.01)


# ------------------------------------------------------------------------------ ticking


def test_tick_round_robin_and_changed_symbols():
    m = make_market(7, ["AAPL", "SPY", "QQQ", CALL, "SPY{=5m}", ".QQQ250221C500"])
    seq = {s: m.quote(s)["sequence"] for s in ("AAPL", "SPY", "QQQ")}
    changed = m.tick(300)
    for s in ("AAPL", "SPY", "QQQ"):
        assert m.quote(s)["sequence"] == seq[s] + 100  # fair share
    assert changed == m.symbols
    # one tick touches one underlying and only its dependents
    changed = m.tick(1)
    assert len(changed & {"AAPL", "SPY", "QQQ"}) == 1
    if "SPY" in changed:
        assert changed == {"SPY", CALL, "SPY{=5m}"}
    if "QQQ" in changed:
        assert changed == {"QQQ", ".QQQ250221C500"}
    assert m.tick(0) == set()
    assert Market(clock=FakeClock()).tick(10) == set()


def test_spreads_never_negative_over_10000_ticks():
    clock = FakeClock()
    m = make_market(7, EQUITIES + FUTURES + OPTIONS, clock)
    for i in range(10_000):
        changed = m.tick(1)
        if i % 50 == 0:
            clock.advance(1)
        for s in changed:
            q = m.quote(s)
            bid, ask = q["bidPrice"], q["askPrice"]
            assert bid < ask, q
            assert ask - bid >= 0.01 - 1e-9, q
            assert bid >= 0, q
            assert round(bid, 2) == bid and round(ask, 2) == ask, q
            assert isinstance(q["bidSize"], int) and isinstance(q["askSize"], int)
            assert q["bidSize"] > 0 and q["askSize"] > 0
            if s.startswith("."):
                assert 1 <= q["bidSize"] <= 200
                if bid >= 3.0:
                    assert round(bid * 20) == pytest.approx(bid * 20)  # 0.05 grid
            else:
                assert bid >= 0.01
                if not s.startswith("/"):
                    assert q["bidSize"] % 100 == 0 and 100 <= q["askSize"] <= 2000
                # 1-3 bp of price, at least a cent
                assert ask - bid <= max(0.01, 3.1e-4 * bid) + 0.01, q


def test_equity_spread_is_basis_points():
    m = make_market(7, ["SPY", "SPX"])
    for _ in range(200):
        m.tick(1)
        for s in ("SPY", "SPX"):
            q = m.quote(s)
            mid = (q["bidPrice"] + q["askPrice"]) / 2
            assert 0.5e-4 * mid <= q["askPrice"] - q["bidPrice"] <= 3.5e-4 * mid


def test_quote_times_and_sequence_follow_the_clock():
    clock = FakeClock()
    m = make_market(7, ["SPY"], clock)
    clock.advance(2.5)
    m.tick(1)
    q = m.quote("SPY")
    assert q["bidTime"] == q["askTime"] == int((T0 + 2.5) * 1000)
    assert q["sequence"] == 1
    m.tick(1)
    assert m.quote("SPY")["sequence"] == 2


def test_prices_stay_positive_and_move():
    m = make_market(7, ["VIX", "/NG"])
    start = m.mid("VIX")
    m.tick(20_000)
    assert m.mid("VIX") > 0 and m.mid("/NG") > 0
    assert m.mid("VIX") != start


# ------------------------------------------------------------------------------- trades


def test_trades_and_summary_consistent():
    m = make_market(7, ["SPY", "AAPL", "/ESZ26:XCME", CALL])
    prev = {s: m.trade(s) for s in m.symbols}
    directions = set()
    for _ in range(3000):
        for s in m.tick(1):
            t, summ = m.trade(s), m.summary(s)
            p = prev[s]
            assert t["dayVolume"] >= p["dayVolume"]
            if t["sequence"] != p["sequence"]:  # a new trade
                assert t["size"] > 0
                assert t["dayVolume"] == p["dayVolume"] + t["size"]
                if t["price"] > p["price"]:
                    assert t["tickDirection"] == "UP"
                elif t["price"] < p["price"]:
                    assert t["tickDirection"] == "DOWN"
                else:
                    assert t["tickDirection"] in ("ZERO_UP", "ZERO_DOWN", "UNDEFINED")
                directions.add(t["tickDirection"])
                if not s.startswith("."):
                    q = m.quote(s)
                    assert t["price"] in (q["bidPrice"], q["askPrice"])
            assert t["change"] == pytest.approx(t["price"] - summ["prevDayClosePrice"])
            assert summ["dayClosePrice"] == t["price"] == m.last(s)
            lo, hi = summ["dayLowPrice"], summ["dayHighPrice"]
            assert lo <= summ["dayOpenPrice"] <= hi
            assert lo <= t["price"] <= hi
            assert summ["openInterest"] == (summ["openInterest"] if s == CALL else 0)
            assert summ["prevDayId"] < summ["dayId"] == t["dayId"] == int(T0 // 86400)
            prev[s] = t
    assert {"UP", "DOWN"} <= directions
    assert isinstance(m.summary(CALL)["openInterest"], int)
    assert m.summary(CALL)["openInterest"] > 0


def test_day_rollover():
    clock = FakeClock()
    m = make_market(7, ["SPY"], clock)
    m.tick(500)
    last, volume = m.last("SPY"), m.trade("SPY")["dayVolume"]
    clock.advance(86_400)
    m.tick(1)
    s = m.summary("SPY")
    assert s["dayId"] == int(T0 // 86400) + 1
    assert s["prevDayClosePrice"] == last
    assert s["prevDayVolume"] == volume
    assert m.trade("SPY")["dayVolume"] < volume


# ------------------------------------------------------------------------------ options


def test_option_greeks_in_range():
    clock = FakeClock()
    m = make_market(7, OPTIONS, clock)
    for _ in range(20):
        m.tick(50)
        clock.advance(30)
        for s in OPTIONS:
            g = m.greeks(s)
            assert g["volatility"] > 0
            assert g["gamma"] >= 0 and g["vega"] >= 0
            assert g["price"] >= 0
            if s[len(s.rstrip("0123456789.")) - 1] == "C":
                assert 0 <= g["delta"] <= 1
                assert g["rho"] >= 0
            else:
                assert -1 <= g["delta"] <= 0
                assert g["rho"] <= 0
            q = m.quote(s)
            assert q["bidPrice"] <= g["price"] + 1e-4 and g["price"] <= q["askPrice"] + 1e-4
    deep_otm = m.quote(".SPY250221C700")
    assert deep_otm["bidPrice"] >= 0 and deep_otm["askPrice"] >= 0.01
    assert m.greeks(".SPY250103C500")["delta"] > 0.95


def test_option_greeks_move_with_underlying():
    m = make_market(7, [CALL, PUT])
    before_s = m.mid("SPY")
    before_c, before_p = m.greeks(CALL), m.greeks(PUT)
    ups = downs = 0
    for _ in range(300):
        s0, c0, p0 = m.mid("SPY"), m.greeks(CALL)["price"], m.greeks(PUT)["price"]
        m.tick(1)
        s1, c1, p1 = m.mid("SPY"), m.greeks(CALL)["price"], m.greeks(PUT)["price"]
        if s1 > s0:
            assert c1 > c0 and p1 < p0
            ups += 1
        elif s1 < s0:
            assert c1 < c0 and p1 > p0
            downs += 1
    assert ups > 10 and downs > 10
    assert m.mid("SPY") != before_s
    after_c = m.greeks(CALL)
    assert after_c["delta"] != before_c["delta"] and after_c["gamma"] != before_c["gamma"]
    assert m.greeks(PUT)["price"] != before_p["price"]
    theo = m.theo_price(CALL)
    assert theo["underlyingPrice"] == pytest.approx(m.mid("SPY"))
    assert theo["price"] == m.greeks(CALL)["price"]


def test_market_put_call_parity():
    clock = FakeClock()
    m = make_market(7, [CALL, PUT], clock)
    m.tick(100)
    expiry = dt.datetime(2025, 2, 21, 21, 0, tzinfo=dt.UTC).timestamp()  # 16:00 New York
    t_years = (expiry - clock()) / (365 * 86_400)
    spot = m.mid("SPY")
    call, put = m.theo_price(CALL)["price"], m.theo_price(PUT)["price"]
    assert call - put == pytest.approx(spot - 590 * math.exp(-RISK_FREE_RATE * t_years), abs=1e-3)


def test_expired_option_is_intrinsic():
    clock = FakeClock(T0 + 90 * 86_400)  # well after 2025-02-21
    m = make_market(7, [CALL, PUT, ".SPY250221C400", ".SPY250221P700"], clock)
    spot = m.mid("SPY")
    for s, strike, call in [(CALL, 590, True), (PUT, 590, False)]:
        g = m.greeks(s)
        assert g["price"] == pytest.approx(max(spot - strike, 0) if call else max(strike - spot, 0))
        assert g["gamma"] == g["vega"] == g["theta"] == 0
    assert m.greeks(".SPY250221C400")["delta"] == 1
    assert m.greeks(".SPY250221P700")["delta"] == -1
    assert m.greeks(".SPY250221C400")["price"] == pytest.approx(spot - 400)
    q = m.quote(".SPY250221C400")
    assert q["bidPrice"] <= spot - 400 <= q["askPrice"]


def test_options_register_their_underlying():
    m = make_market(7, [".SPXW250221C5900", CALL])
    assert m.symbols == {".SPXW250221C5900", "SPX", CALL, "SPY"}
    assert m.greeks(".SPXW250221C5900")["price"] > 0


# ------------------------------------------------------------------------------ pricing


@pytest.mark.parametrize("spot", [50.0, 95.0, 100.0, 105.0, 250.0])
@pytest.mark.parametrize("t_years", [1 / 365, 0.1, 1.0, 3.0])
@pytest.mark.parametrize("sigma", [0.05, 0.2, 0.8])
def test_bs_put_call_parity(spot, t_years, sigma):
    strike, r = 100.0, 0.045
    call = bs_price(spot, strike, t_years, r, sigma, "C")
    put = bs_price(spot, strike, t_years, r, sigma, "P")
    assert call - put == pytest.approx(spot - strike * math.exp(-r * t_years), abs=1e-9)


def test_bs_greeks_match_finite_differences():
    s, k, t, r, v = 100.0, 105.0, 0.5, 0.04, 0.3
    for right in ("C", "P"):
        g = bs_greeks(s, k, t, r, v, right)
        h = 1e-3
        up, dn = bs_price(s + h, k, t, r, v, right), bs_price(s - h, k, t, r, v, right)
        assert g.delta == pytest.approx((up - dn) / (2 * h), rel=1e-5)
        assert g.gamma == pytest.approx((up - 2 * g.price + dn) / h**2, rel=1e-3)
        assert g.vega == pytest.approx(
            (bs_price(s, k, t, r, v + 1e-4, right) - bs_price(s, k, t, r, v - 1e-4, right))
            / 2e-4
            / 100,
            rel=1e-5,
        )
        assert g.rho == pytest.approx(
            (bs_price(s, k, t, r + 1e-4, v, right) - bs_price(s, k, t, r - 1e-4, v, right))
            / 2e-4
            / 100,
            rel=1e-5,
        )
        # theta is per calendar day: minus the change in value as expiry comes closer
        d_value_d_t = (
            bs_price(s, k, t + 1e-4, r, v, right) - bs_price(s, k, t - 1e-4, r, v, right)
        ) / 2e-4
        assert g.theta == pytest.approx(-d_value_d_t / 365, rel=1e-4)


def test_bs_known_value():
    # Hull's textbook example: S=42, K=40, r=10%, sigma=20%, T=0.5 -> c=4.76, p=0.81
    assert bs_price(42, 40, 0.5, 0.1, 0.2, "C") == pytest.approx(4.7594, abs=1e-4)
    assert bs_price(42, 40, 0.5, 0.1, 0.2, "P") == pytest.approx(0.8086, abs=1e-4)


def test_bs_edge_cases():
    expired = bs_greeks(110, 100, 0, 0.05, 0.2, "C")
    assert expired == (10, 1, 0, 0, 0, 0)
    assert bs_greeks(90, 100, -1, 0.05, 0.2, "C") == (0, 0, 0, 0, 0, 0)
    assert bs_greeks(90, 100, 0, 0.05, 0.2, "P") == (10, -1, 0, 0, 0, 0)
    flat = bs_greeks(110, 100, 1.0, 0.05, 0.0, "C")
    assert flat.price == pytest.approx(110 - 100 * math.exp(-0.05))
    assert flat.delta == 1 and flat.gamma == 0 and flat.vega == 0
    assert bs_greeks(90, 100, 1.0, 0.05, -0.1, "C").price == 0
    with pytest.raises(ValueError):
        bs_price(100, 100, 1, 0.05, 0.2, "X")
    with pytest.raises(ValueError):
        bs_price(0, 100, 1, 0.05, 0.2, "C")


# -------------------------------------------------------------------------- SDK parsing

MODELS = {
    "Quote": dxfeed.Quote,
    "Trade": dxfeed.Trade,
    "Summary": dxfeed.Summary,
    "Profile": dxfeed.Profile,
    "Greeks": dxfeed.Greeks,
    "TheoPrice": dxfeed.TheoPrice,
    "Candle": dxfeed.Candle,
}


def flatten(event, fields):
    """The COMPACT row the server would send, through JSON like on the wire."""
    row = ["NaN" if event[f] is None else event[f] for f in fields]
    return json.loads(json.dumps(row))


@pytest.mark.parametrize("event_type", list(MODELS))
def test_events_parse_with_the_sdk(event_type):
    model = MODELS[event_type]
    fields = list(model.model_json_schema()["properties"])
    assert tuple(fields) == EVENT_FIELDS[event_type]  # the order the SDK requests
    clock = FakeClock()
    m = make_market(7, ALL, clock)
    m.tick(1000)
    events = [e for s in sorted(m.symbols) if (e := m.event(event_type, s)) is not None]
    if event_type == "Candle":
        events += m.candles("SPY{=5m,tho=true}", int(T0 * 1000) - 7_200_000)
    assert events
    for e in events:
        assert set(e) == set(fields)
    flat = [v for e in events for v in flatten(e, fields)]
    parsed = model.from_stream(flat)
    assert len(parsed) == len(events)  # from_stream silently drops invalid events
    for p, e in zip(parsed, events, strict=True):
        assert p.event_symbol == e["eventSymbol"]
        if "price" in e:
            assert p.price == Decimal(str(e["price"]))
        if event_type == "Quote":
            assert p.bid_price < p.ask_price
            assert p.bid_size == e["bidSize"]


def test_event_applicability():
    m = make_market(7, ["SPY", CALL, "SPY{=5m}"])
    assert m.event("Greeks", "SPY") is None
    assert m.event("TheoPrice", "SPY") is None
    assert m.event("Candle", "SPY") is None
    assert m.event("Quote", "SPY{=5m}") is None
    assert m.event("Candle", CALL) is None
    assert m.event("TimeAndSale", "SPY") is None
    assert m.event("Quote", "AAPL") is None  # not registered
    assert m.event("Greeks", CALL)["eventSymbol"] == CALL
    assert m.event("Candle", "SPY{=5m}")["eventSymbol"] == "SPY{=5m}"
    for event_type in ("Quote", "Trade", "Summary", "Profile"):
        assert m.event(event_type, CALL)["eventSymbol"] == CALL
        assert m.event(event_type, "SPY")["eventSymbol"] == "SPY"
    with pytest.raises(KeyError):
        m.greeks("SPY")
    with pytest.raises(KeyError):
        m.theo_price("SPY{=5m}")
    with pytest.raises(KeyError):
        m.quote("AAPL")
    with pytest.raises(KeyError):
        m.candle("SPY")


def test_greeks_index_and_types():
    clock = FakeClock(T0 + 0.123)
    m = make_market(7, [CALL], clock)
    m.tick(5)
    g = m.greeks(CALL)
    assert g["time"] == int((T0 + 0.123) * 1000)
    assert g["index"] == candle_index(g["time"], g["sequence"])
    assert g["index"] >> 32 == g["time"] // 1000
    assert (g["index"] >> 22) & 0x3FF == g["time"] % 1000
    assert g["index"] & 0x3FFFFF == g["sequence"] == 5
    p = m.profile("SPY")
    assert p["shortSaleRestriction"] == "INACTIVE" and p["tradingStatus"] == "ACTIVE"
    assert p["low52WeekPrice"] <= m.last("SPY") <= p["high52WeekPrice"]
    t = m.trade("SPY")
    assert isinstance(t["extendedTradingHours"], bool)
    assert isinstance(t["dayId"], int) and len(t["exchangeCode"]) == 1


# ------------------------------------------------------------------------------ candles


def lot_of(symbol: str) -> int:
    """The sandbox's trading unit (a trade's size is a multiple of it): one contract of a
    future, a round lot of 100 shares of anything else."""
    return 1 if symbol.startswith("/") else 100


def check_snapshot(candles, width, symbol):
    lot = lot_of(symbol)
    assert candles[0]["eventFlags"] & SNAPSHOT_BEGIN
    assert candles[-1]["eventFlags"] & SNAPSHOT_END
    if len(candles) > 1:
        assert candles[0]["eventFlags"] == SNAPSHOT_BEGIN
        assert candles[-1]["eventFlags"] == SNAPSHOT_END
        assert all(c["eventFlags"] == 0 for c in candles[1:-1])
    for newer, older in itertools.pairwise(candles):
        assert newer["time"] - older["time"] == width
    for c in candles:
        assert c["eventSymbol"] == symbol
        assert c["time"] % width == 0
        assert c["index"] == candle_index(c["time"], c["sequence"])
        assert c["low"] <= min(c["open"], c["close"]) <= max(c["open"], c["close"]) <= c["high"]
        assert c["low"] > 0
        assert type(c["volume"]) is int and type(c["count"]) is int
        assert min(c["bidVolume"], c["askVolume"]) >= 0
        assert c["bidVolume"] + c["askVolume"] == c["volume"]
        # a trade is at least one lot (a made-up candle's trades average two), and a
        # candle has volume exactly when it has trades
        assert c["count"] * lot <= c["volume"], c
        assert (c["count"] == 0) == (c["volume"] == 0), c
        if c["volume"]:
            assert c["low"] - 1e-9 <= c["vwap"] <= c["high"] + 1e-9
        else:  # nothing traded: the price stood still
            assert c["open"] == c["high"] == c["low"] == c["close"] == c["vwap"], c


@pytest.mark.parametrize("symbol", [*CANDLES, "SPY{=1w}", "SPY{=mo}", "SPY{=1h,tho=true}"])
def test_candle_snapshot(symbol):
    clock = FakeClock()
    m = make_market(7, [symbol], clock)
    spec = parse_candle_symbol(symbol)
    width = spec.width_ms
    before = m.candle(symbol)
    m.keep_sales(spec.base)
    first_sale = m.last_sale_sequence(spec.base)
    m.tick(200)  # the clock stands still: every trade lands in the live candle
    sales = m.sales_since(spec.base, first_sale)
    now_ms = int(clock() * 1000)
    from_ms = now_ms - now_ms % width - 40 * width
    candles = m.candles(symbol, from_ms)
    assert len(candles) == 41
    # the live candle grew by exactly the trades made, each on its side
    assert len(sales) > 0
    live = candles[0]
    assert live["count"] - before["count"] == len(sales), "one count per trade"
    assert live["volume"] - before["volume"] == sum(s["size"] for s in sales), "their sizes"
    bought = sum(s["size"] for s in sales if s["aggressorSide"] == "BUY")
    assert live["askVolume"] - before["askVolume"] == bought
    assert live["bidVolume"] - before["bidVolume"] == sum(s["size"] for s in sales) - bought
    # a market that trades all day: every candle of the range has trades
    idle = [(c["time"], c["count"], c["volume"]) for c in candles if not c["count"] > 0]
    assert idle == [], "candles without trades (time, count, volume)"
    assert candles[-1]["time"] == from_ms  # ttcli waits for the fromTime candle
    assert candles[0]["time"] == now_ms - now_ms % width
    assert candles[0]["close"] == m.last(symbol.split("{")[0])
    check_snapshot(candles, width, symbol)
    # unaligned fromTime: the candle containing it is the oldest
    assert m.candles(symbol, from_ms + width // 2)[-1]["time"] == from_ms
    # the default SDK fromTime (1e9 ms) is capped by limit
    capped = m.candles(symbol, 1_000_000_000, limit=300)
    assert len(capped) == min(
        300, (candles[0]["time"] - 1_000_000_000 // width * width) // width + 1
    )
    check_snapshot(capped, width, symbol)
    # same candles whatever the range
    assert [dict(c, eventFlags=0) for c in capped[:41]] == [dict(c, eventFlags=0) for c in candles]
    single = m.candles(symbol, now_ms + 10 * width)
    assert len(single) == 1 and single[0]["eventFlags"] == SNAPSHOT_BEGIN | SNAPSHOT_END
    assert m.candles(symbol, from_ms, limit=0) == []


def test_live_candle_follows_trades_and_rolls():
    clock = FakeClock(T0 - T0 % 60)  # at the start of a minute
    symbol = "AAPL{=1m}"
    m = make_market(7, [symbol], clock)
    first = m.candle(symbol)
    assert first["eventFlags"] == 0
    highs, lows = [], []
    for _ in range(40):
        m.tick(20)
        clock.advance(1)
        c = m.candle(symbol)
        assert c["close"] == m.last("AAPL")
        assert c["time"] == first["time"]
        highs.append(c["high"])
        lows.append(c["low"])
    assert highs == sorted(highs) and lows == sorted(lows, reverse=True)
    assert c["volume"] > first["volume"] and c["count"] > first["count"]
    closed = m.candle(symbol)
    clock.advance(30)  # into the next minute, no ticks yet
    live = m.candle(symbol)
    assert live["time"] == first["time"] + 60_000
    assert live["open"] == live["high"] == live["low"] == live["close"] == m.last("AAPL")
    assert live["volume"] == 0
    snap = m.candles(symbol, first["time"])
    assert [c["time"] for c in snap] == [live["time"], first["time"]]
    recorded = dict(snap[1], eventFlags=0)
    assert recorded == closed  # the closed candle is remembered exactly
    m.tick(50)
    assert m.candle(symbol)["close"] == m.last("AAPL")
    # an idle gap is filled with flat candles
    clock.advance(600)
    snap = m.candles(symbol, first["time"])
    assert len(snap) == 12
    check_snapshot(snap, 60_000, symbol)
    assert all(c["volume"] == 0 for c in snap[:-2])


# ------------------------------------------------------------------------------ symbols


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "spy",
        "SPY ",
        "1ABC",
        "TOOLONGSYMBOL",
        ".SPY251321C590",
        ".SPY250221X590",
        "SPY{=5x}",
        "SPY{tho=true}",
        "SPY   250221C00590000",  # OCC: a REST symbol, not a feed one
        "$SPX",
        None,
        123,
    ],
)
def test_invalid_symbols_rejected(bad):
    m = make_market(7, ["SPY"])
    assert m.ensure(bad) is False
    assert m.symbols == {"SPY"}


def test_ensure_is_idempotent():
    m = make_market(7, [CALL])
    m.tick(10)
    q = m.quote("SPY")
    assert m.ensure("SPY") and m.ensure(CALL)
    assert m.quote("SPY") == q
    assert m.symbols == {"SPY", CALL}
