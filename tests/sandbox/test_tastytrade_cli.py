"""The tastytrade command-line client (tastyware's `tt`, tastytrade-cli) against the sandbox.

The issue's example of a trader's tool that failed: `tt pf positions` died with "Couldn't
parse response: Not Found" because the sandbox served no `Option.get`. Here the real,
unmodified console script runs as a trader runs it (config file in $HOME, answers on
stdin); only the SDK's API address is pointed at the sandbox, from a `sitecustomize`
module, the way any installed client can be re-aimed without editing it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from tastytrade import Account

from sandbox.core.config import SandboxConfig
from tests.support.sdk import SECRET, sdk_session

TT = shutil.which("tt", path=str(Path(sys.executable).parent))

#: Each `tt` run's bound (a process of its own: Python, the SDK and rich imported anew).
TT_TIMEOUT = 60
pytestmark = [
    pytest.mark.skipif(TT is None, reason="tastytrade-cli is a test dependency"),
    # a test runs `tt` up to four times: the runs' own bounds plus a minute's margin (the
    # suite's 120 s is less than that; on a busy box the niced in-process phase waits)
    pytest.mark.timeout(4 * TT_TIMEOUT + 60),
]


@pytest.fixture
def tt(sandbox, refresh_token, tmp_path):
    """Run `tt ARGS` with stdin answers; returns (exit code, output without ANSI colours)."""
    home = tmp_path / "home"
    config = home / ".config" / "ttcli" / "ttcli.cfg"
    config.parent.mkdir(parents=True)
    config.write_text(
        f"[general]\nrefresh_token = {refresh_token}\nclient_secret = {SECRET}\n"
        "[portfolio.positions]\nshow-delta = true\n"
    )
    aim = tmp_path / "aim"
    aim.mkdir()
    (aim / "sitecustomize.py").write_text(
        f"import tastytrade.session\ntastytrade.session.API_URL = {sandbox.url!r}\n"
    )
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(aim), "COLUMNS": "220"}

    def run(*args: str, answers: str = "") -> tuple[int, str]:
        done = subprocess.run(
            [TT, *args], input=answers, env=env, capture_output=True, text=True, timeout=TT_TIMEOUT
        )
        return done.returncode, re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)

    return run


async def _positions(sandbox, refresh_token) -> dict[str, list[str]]:
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        return {
            a.account_number: [p.symbol for p in await a.get_positions(session)] for a in accounts
        }


def _row(output: str, symbol: str) -> list[str]:
    """The cells of the one table row whose symbol cell is `symbol`."""
    [row] = [
        cells
        for line in output.splitlines()
        if symbol in (cells := [cell.strip() for cell in line.strip().strip("│").split("│")])
    ]
    return row


async def test_positions_of_every_account_with_greeks_and_metrics(tt, sandbox, refresh_token):
    """`tt pf positions --all`: Option.get, Equity.get, DXLink greeks, market data, metrics."""
    held = await _positions(sandbox, refresh_token)
    code, out = tt("pf", "positions", "--all", answers="n\n")
    assert code == 0, out
    assert "Couldn't parse" not in out and "Traceback" not in out
    symbols = [s for account in held.values() for s in account]
    assert any(" " in s for s in symbols), "the seeded book holds an option"
    for symbol in symbols:
        row = _row(out, symbol)
        # every row has a Day P/L, Total P/L and Net Liq in dollars
        assert len([c for c in row if re.fullmatch(r"-?\$\d+\.\d\d", c)]) == 3, row
    option = next(s for s in symbols if " " in s)
    # the option's delta came from DXLink Greeks: a number, not the zero of a missing event
    #: columns: #, Account, Symbol, Qty, Day P/L, Total P/L, IV Rank, Delta, ...
    delta = _row(out, option)[7]
    assert float(delta) != 0.0, _row(out, option)


#: What the demo's accounts hold (`--demo-holdings`: the margin account's coin, /ES call,
#: stocks and options; the IRA's ETFs), in a market that stands still between reads.
DEMO_HOLDINGS = SandboxConfig(tick_rate=0, order_step_interval=0, demo_holdings=True)


def _dollars(cell: str) -> Decimal:
    return Decimal(cell.replace("$", ""))


@pytest.mark.parametrize("sandbox_config", [DEMO_HOLDINGS])
async def test_positions_and_balance_of_every_demo_account(tt, sandbox, refresh_token):
    """`tt pf positions` and `tt pf balance` on each demo account: every holding (the
    future option, the coin, equities and options) has a row whose Day P/L is its mark
    against its previous close — the REST market data's, which must be the position's own
    market (`BTC/USD` near 95,000, not a made-up stock near 14) — and its Net Liq the
    position's value."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        books = [
            (
                await account.get_positions(session, include_marks=True),
                await account.get_balances(session),
            )
            for account in accounts
        ]
    kinds = {p.instrument_type.value for p in books[0][0]}
    assert {"Equity", "Equity Option", "Cryptocurrency", "Future Option"} <= kinds
    for index, (account, (positions, balance)) in enumerate(zip(accounts, books, strict=True), 1):
        code, out = tt("pf", "positions", answers=f"{index}\nn\n")
        assert code == 0 and "Traceback" not in out, out
        for position in positions:
            sign = 1 if position.quantity_direction == "Long" else -1
            quantity = round(position.quantity, 2) * position.multiplier * sign
            move = position.mark_price - position.close_price
            #: columns: #, Symbol, Qty, Day P/L, Total P/L, IV Rank, Delta, β Delta, Net Liq
            row = _row(out, position.symbol)
            assert abs(_dollars(row[3]) - move * quantity) <= Decimal("0.01"), row
            assert abs(_dollars(row[8]) - position.mark * sign) <= Decimal("0.01"), row
        coin = next((p for p in positions if p.symbol == "BTC/USD"), None)
        if coin is not None:
            assert 50_000 < coin.mark_price < 200_000 and 50_000 < coin.close_price < 200_000
        code, out = tt("pf", "balance", answers=f"{index}\n")
        assert code == 0 and "Traceback" not in out, out
        assert f"({account.account_number})" in out
        [net_liq] = [
            cells[1]
            for line in out.splitlines()
            if len(cells := [c.strip() for c in line.strip().strip("│").split("│")]) == 5
            and cells[1].startswith("$")
        ]
        assert _dollars(net_liq) == round(balance.net_liquidating_value, 2), out


async def test_balance_margin_history_and_orders_of_one_account(tt, sandbox, refresh_token):
    held = await _positions(sandbox, refresh_token)
    first = next(iter(held))
    code, out = tt("pf", "balance", answers="1\n")
    assert code == 0, out
    assert f"({first})" in out and "Net Liq" in out
    code, out = tt("pf", "margin", answers="1\n")
    assert code == 0, out
    assert "Margin report for account" in out
    for symbol in {s.split()[0] for s in held[first]}:
        assert f" {symbol} " in out
    code, out = tt("pf", "history", answers="1\n")
    assert code == 0, out
    assert "Opening deposit" in out
    code, out = tt("order", "history", answers="1\n")
    assert code == 0, out
    assert "Order history for account" in out


def test_option_chain_with_quotes_and_deltas(tt):
    """`tt option chain SPY`: nested chain, then DXLink quotes and greeks per strike."""
    code, out = tt("option", "chain", "SPY", answers="1\n")
    assert code == 0, out
    rows = [line for line in out.splitlines() if re.match(r"│\s+-?\d+\s+│", line)]
    assert len(rows) >= 10, out
    for row in rows:
        call_delta, call_bid, call_ask, _strike, put_bid, put_ask, put_delta = (
            cell.strip() for cell in row.strip("│").split("│")
        )
        assert float(call_bid) <= float(call_ask) and float(put_bid) <= float(put_ask), row
        assert 0 <= int(call_delta) <= 100 and -100 <= int(put_delta) <= 0, row


def test_public_and_private_watchlists(tt):
    code, out = tt("wl", "public", answers="1\n")
    assert code == 0, out
    assert "Last" in out and "IV Rank" in out
    code, out = tt("wl", "create", "Mine")
    assert code == 0, out
    code, out = tt("wl", "add", "Mine", "AAPL")
    assert code == 0, out
    code, out = tt("wl", "private")
    assert code == 0, out
    # `tt wl create` starts a list with the VIX index: market data for indices too
    assert " AAPL " in out and " VIX " in out
