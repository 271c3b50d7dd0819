"""streaming/alerts/rules.py: the evaluation of price alerts on quotes (pure: no I/O, no clock)."""

from __future__ import annotations

from decimal import Decimal

from streaming.alerts.rules import AlertBook, Rule, message, price_of

NOW = 1_800_000_000_000


def rule(id=1, symbol="AAPL", condition="above", level="200", rearm=False, armed=True, **kw):
    return Rule(id, symbol, condition, Decimal(level), rearm, armed, **kw)


def q(last=None, bid=None, ask=None, prev_close=None, t=NOW):
    return {"last": last, "bid": bid, "ask": ask, "prev_close": prev_close, "t": t}


def kinds(changes):
    return [(c.kind, c.rule.id) for c in changes]


def test_price_basis_is_the_last_trade_else_the_mid():
    assert price_of(q(last=201.3, bid=100, ask=102)) == 201.3
    assert price_of(q(bid=100, ask=102)) == 101.0
    assert price_of(q(bid=100)) is None
    assert price_of(q(last=0, bid=None, ask=None)) is None


def test_above_fires_once_on_the_crossing_and_a_once_alert_leaves_the_book():
    book = AlertBook([rule()])
    assert book.check("AAPL", q(last=199.99), NOW) == []
    (change,) = book.check("AAPL", q(last=201.3, t=NOW + 5), NOW + 9)
    assert (change.kind, change.price, change.at) == ("trigger", 201.3, NOW + 5)
    assert book.check("AAPL", q(last=202), NOW) == []
    assert book.check("AAPL", q(last=150), NOW) == []
    assert book.check("AAPL", q(last=250), NOW) == []
    assert book.symbols() == set()


def test_a_condition_that_already_holds_fires_on_the_first_quote():
    book = AlertBook([rule(condition="below", level="300")])
    assert kinds(book.check("AAPL", q(last=201), NOW)) == [("trigger", 1)]


def test_other_symbols_cost_nothing_and_no_price_means_no_evaluation():
    book = AlertBook([rule()])
    assert book.check("MSFT", q(last=999), NOW) == []
    assert book.check("AAPL", q(bid=300), NOW) == []  # half a quote: no price


def test_a_rearming_alert_rearms_only_past_the_hysteresis_then_fires_again():
    book = AlertBook([rule(rearm=True)])
    assert kinds(book.check("AAPL", q(last=200), NOW)) == [("trigger", 1)]  # at the level: holds
    assert book.check("AAPL", q(last=199.81), NOW) == []  # back by < 0.1 %: still disarmed
    assert book.check("AAPL", q(last=200.5), NOW) == []  # no re-arm, no second trigger
    assert kinds(book.check("AAPL", q(last=199.79), NOW)) == [("rearm", 1)]  # past 0.1 %
    assert book.check("AAPL", q(last=199.5), NOW) == []
    assert kinds(book.check("AAPL", q(last=200.01), NOW)) == [("trigger", 1)]
    assert book.symbols() == {"AAPL"}


def test_below_rearms_above_the_level_plus_hysteresis():
    book = AlertBook([rule(condition="below", level="100", rearm=True)])
    assert kinds(book.check("AAPL", q(last=99.5), NOW)) == [("trigger", 1)]
    assert book.check("AAPL", q(last=100.09), NOW) == []
    assert kinds(book.check("AAPL", q(last=100.11), NOW)) == [("rearm", 1)]


def test_percent_moves_from_the_previous_close():
    up = rule(1, condition="move_up", level="5", rearm=True)
    down = rule(2, condition="move_down", level="3")
    book = AlertBook([up, down])
    assert book.check("AAPL", q(last=104.9, prev_close=100), NOW) == []
    (change,) = book.check("AAPL", q(last=105, prev_close=100), NOW)
    assert (change.kind, change.rule.id, round(change.pct, 6)) == ("trigger", 1, 5.0)
    assert book.check("AAPL", q(last=104.95, prev_close=100), NOW) == []  # within 0.1 pt
    assert kinds(book.check("AAPL", q(last=104.85, prev_close=100), NOW)) == [("rearm", 1)]
    assert kinds(book.check("AAPL", q(last=96.9, prev_close=100), NOW)) == [("trigger", 2)]
    # no previous close: a % alert cannot tell, and does nothing
    book = AlertBook([rule(3, condition="move_down", level="1")])
    assert book.check("AAPL", q(last=1), NOW) == []


def test_an_expired_alert_never_fires_and_leaves_the_book():
    book = AlertBook([rule(expires_at_ms=NOW)])
    assert kinds(book.check("AAPL", q(last=500), NOW)) == [("expire", 1)]
    assert book.check("AAPL", q(last=500), NOW) == []
    assert book.symbols() == set()


def test_messages_say_what_happened():
    assert (
        message("AAPL", "above", Decimal("200"), 201.3, None) == "AAPL rose to 201.30, above 200.00"
    )
    assert message("F", "below", 0.5, 0.4812, None) == "F fell to 0.4812, below 0.5000"
    assert (
        message("SPY", "move_down", Decimal("3"), 582.1, -3.25)
        == "SPY fell 3.25% from the previous close to 582.10, down 3.00% or more"
    )
