"""The helpers every adapter shares (streaming/brokers/values.py, errors.py, symbols.py):
pure functions, no broker."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from httpx2.websockets import WebSocketDisconnect
from tastytrade.utils import TastytradeError

from streaming.brokers.errors import (
    BrokerHTTPError,
    CredentialRejected,
    StreamEnded,
    StreamSilent,
    describe,
    error_codes,
    is_rejection,
    retry_after,
    retry_after_header,
)
from streaming.brokers.values import (
    ORDER_STATUSES,
    decimal,
    num,
    order_status,
    quantity_text,
    time_ms,
    without,
)
from streaming.instruments.symbols import occ_parts, option_expiry_ms, streamer_symbol_for


# -- numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        (2.5, 2.5),
        ("5", 5),
        ("5.0", 5.0),  # a number in a string keeps its spelling
        ("-0.25", -0.25),
        (" 7 ", 7),
        (Decimal("5.00"), 5),
        (Decimal("28.01"), 28.01),
        (Decimal(2**60), float(2**60)),  # not exact in a double: a float
        (None, None),
        (True, None),
        ("", None),
        ("n/a", None),
        (float("nan"), None),
        ("inf", None),
        (Decimal("NaN"), None),
        ([1], None),
    ],
)
def test_num_makes_a_json_number_or_none(value, expected):
    result = num(value)
    assert result == expected and type(result) is type(expected)


def test_decimal_is_exact_and_refuses_what_is_not_a_number():
    assert decimal("0.1") + decimal("0.2") == Decimal("0.3")
    assert decimal(300) == Decimal(300)
    assert [decimal(v) for v in (None, False, "abc", "NaN", "Infinity")] == [None] * 5


def test_one_quantity_one_spelling():
    """Fill ids are built from quantities: `300`, `300.0` and Decimal("300.00") are one."""
    assert {quantity_text(v) for v in (300, 300.0, Decimal("300.00"), "300")} == {"300"}
    assert quantity_text(2.5) == quantity_text(Decimal("2.50")) == "2.5"
    assert quantity_text(Decimal("-0")) == "0"


def test_without_drops_volatile_fields_of_one_payload_or_a_list():
    assert without({"a": 1, "updated_at": 2}, "updated_at") == {"a": 1}
    rows = [{"s": "SPY", "mark_price": 1}, {"s": "QQQ", "mark_price": 2}]
    assert without(rows, "mark_price") == [{"s": "SPY"}, {"s": "QQQ"}]


# -- times -------------------------------------------------------------------------------------
NOON_UTC_MS = 1_735_819_200_000  # 2025-01-02T12:00:00Z


@pytest.mark.parametrize(
    "value",
    [
        NOON_UTC_MS,
        str(NOON_UTC_MS),
        NOON_UTC_MS // 1000,  # epoch seconds
        f"{NOON_UTC_MS // 1000}",
        float(NOON_UTC_MS),
        "2025-01-02T12:00:00Z",
        "2025-01-02T12:00:00.000Z",
        "2025-01-02T12:00:00.000000000Z",  # Alpaca's nanoseconds
        "2025-01-02T07:00:00-05:00",
        "2025-01-02T17:30:00+0530",
        "2025-01-02T12:00:00",  # no zone: UTC
        dt.datetime(2025, 1, 2, 12, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 2, 13, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    ],
)
def test_every_spelling_of_one_moment_is_the_same_ms(value):
    assert time_ms(value) == NOON_UTC_MS


def test_times_keep_their_milliseconds_and_a_zone_can_be_named():
    assert time_ms("2018-06-06T20:16:17.342Z") == 1_528_316_177_342
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert time_ms("2025-01-02 07:00:00", zone=new_york) == NOON_UTC_MS  # Tradier's greeks


@pytest.mark.parametrize("value", [None, True, 0, "0", -5, "", "  ", "yesterday", "2025-13-01"])
def test_no_time_is_none(value):
    assert time_ms(value) is None


# -- order statuses ----------------------------------------------------------------------------
def test_broker_statuses_map_to_the_contract_and_contract_ones_pass():
    assert order_status("filled") == "Filled"
    assert order_status("partially_filled") == "Partially Filled"
    assert order_status("pending_new") == order_status("pending") == "Received"
    assert order_status("Cancel Requested") == "Cancel Requested"  # tastytrade's, as is
    assert order_status("Live") == "Live"
    assert order_status("some_new_state") == "Some New State"
    assert order_status(None) == order_status("") == "Unknown"


def test_mapping_a_status_twice_changes_nothing():
    """The manager maps what adapters emit: a status already in the contract's vocabulary
    stays what it is."""
    for raw in [*ORDER_STATUSES, "Received", "Partially Filled", "odd_one"]:
        once = order_status(raw)
        assert order_status(once) == once


# -- symbols -----------------------------------------------------------------------------------
def test_occ_parts_of_padded_and_unpadded_symbols():
    assert occ_parts("SPY   250221C00590000") == ("SPY", "2025-02-21")
    assert occ_parts("SPY250221C00590000") == ("SPY", "2025-02-21")
    assert occ_parts("SPY250230C00590000") is None  # February 30
    assert occ_parts("SPY") is None


def test_options_expire_at_the_new_york_close_in_winter_and_summer():
    winter = option_expiry_ms("SPY250221C00590000")
    summer = option_expiry_ms("SPY250718C00590000")
    assert winter == time_ms("2025-02-21T21:00:00Z")  # EST
    assert summer == time_ms("2025-07-18T20:00:00Z")  # EDT
    assert option_expiry_ms("SPY") is None


def test_streamer_symbol_of_a_position():
    assert streamer_symbol_for("SPY   250221C00590000", "Equity Option") == ".SPY250221C590"
    assert streamer_symbol_for("SPY", "Equity") == "SPY"
    assert streamer_symbol_for("garbage", "Equity Option") == "garbage"


# -- the credential-rejection rule -------------------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "rejected"),
    [
        # Tradier's and Alpaca's clients raise this for 401/403 (the credential itself)
        (CredentialRejected("HTTP 401: request is not authorized"), True),
        # tastytrade's OAuth token endpoint refusing the refresh token or the secret
        (TastytradeError("invalid_grant: Refresh token is invalid or has been revoked\n"), True),
        (TastytradeError("invalid_client: Client authentication failed\n"), True),
        (TastytradeError("unauthorized_client: not allowed\n"), True),
        # an access token refused by a data call: a fresh token heals it
        (TastytradeError("invalid_token: This token is invalid or has expired\n"), False),
        (TastytradeError("token_expired: This token is invalid or has expired\n"), False),
        (TastytradeError("unauthorized: Unauthorized\n"), False),
        # transient: never a credential problem
        (TastytradeError("rate_limit_exceeded: Too many requests, slow down\n"), False),
        (TastytradeError("service_unavailable: Service temporarily unavailable\n"), False),
        (BrokerHTTPError(503, "unavailable"), False),
        (BrokerHTTPError(429, "slow down", retry_after=2), False),
        (StreamSilent("no market data for 61 s (watchdog)"), False),
        (TimeoutError(), False),
        # a code only mentioned in a message is not the error's code
        (TastytradeError("not_found: no grant named invalid_grant\n"), False),
    ],
)
def test_one_rule_tells_a_rejected_credential(exc, rejected):
    assert is_rejection(exc) is rejected
    assert is_rejection(ExceptionGroup("nested", [ExceptionGroup("g", [exc])])) is rejected


def test_error_codes_of_an_sdk_error_with_several_errors():
    error = TastytradeError("validation_error: bad\ninvalid_grant: revoked\n")
    assert error_codes(error) == {"validation_error", "invalid_grant"}
    assert is_rejection(error)


# -- describing failures -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (CredentialRejected("HTTP 401: nope"), "credential rejected: HTTP 401: nope"),
        (StreamSilent("no market data for 61 s (watchdog)"), "no market data for 61 s (watchdog)"),
        (StreamEnded("broker closed the market stream"), "broker closed the market stream"),
        (WebSocketDisconnect(1011, "bye"), "broker closed the stream (code 1011)"),
        (BrokerHTTPError(503, "unavailable"), "broker error: HTTP 503: unavailable"),
        (TastytradeError("rate_limit_exceeded: slow\n"), "broker error: rate_limit_exceeded: slow"),
        (TimeoutError(), "broker did not answer in time"),
        (ConnectionRefusedError(), "cannot reach broker: ConnectionRefusedError"),
        (KeyError("id"), "unexpected error: KeyError: 'id'"),
    ],
)
def test_describe_says_what_happened(exc, reason):
    assert describe(exc) == reason


def test_describe_finds_the_known_failure_inside_groups():
    group = ExceptionGroup("g", [KeyError("x"), ExceptionGroup("h", [StreamSilent("quiet")])])
    assert describe(group) == "quiet"


# -- Retry-After -------------------------------------------------------------------------------
def test_the_longest_retry_after_of_a_failure_counts():
    group = ExceptionGroup(
        "g",
        [BrokerHTTPError(429, "a", retry_after=1.5), BrokerHTTPError(429, "b", retry_after=4)],
    )
    assert retry_after(group) == 4
    assert retry_after(BrokerHTTPError(503, "no header")) == 0
    assert retry_after(TimeoutError()) == 0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("soon", None), ("inf", None), (None, None)],
)
def test_retry_after_header(header, seconds):
    headers = {} if header is None else {"retry-after": header}
    assert retry_after_header(headers) == seconds
