"""Balances and margin: what an account is worth now and what its positions require.

A margin account keeps 25 % of long and 30 % of short equity value plus the full value of
options (Reg T initial: 50 % of equity) plus a share of its futures' notional (marked to
the market: `futures_margin.py`); a cash account requires nothing and can spend its cash.
The per-underlying report uses the same rates, so it adds up to the balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sandbox.core import futures_margin
from sandbox.core.account_state import ZERO, Account, cents
from sandbox.core.marks import Marks
from sandbox.core.records import EQUITY, BalanceFigures, MarginReport, MarginRequirement

__all__ = ["Excess", "figures", "margin_report"]


@dataclass(frozen=True)
class Excess:
    """Balance figures plus the unfloored excess the buying-power check needs."""

    figures: BalanceFigures
    excess: Decimal


def _maintenance(long_eq: Decimal, short_eq: Decimal, derivatives: Decimal) -> Decimal:
    return cents(Decimal("0.25") * long_eq + Decimal("0.30") * short_eq + derivatives)


def _reg_t(long_eq: Decimal, short_eq: Decimal, derivatives: Decimal) -> Decimal:
    return cents(Decimal("0.5") * (long_eq + short_eq) + derivatives)


def figures(acct: Account, marks: Marks, now: float) -> Excess:
    """Balance figures from cash and positions marked now; net-liq = cash + long - short."""
    long_eq = short_eq = long_der = short_der = long_fut = short_fut = open_pnl = ZERO
    for pos in acct.positions.values():
        value = marks.position_value(pos)
        if futures_margin.marked_to_market(pos.instrument):
            open_pnl += futures_margin.open_pnl(pos, marks)
            if pos.quantity > 0:
                long_fut += value
            else:
                short_fut += value
        elif pos.instrument.instrument_type == EQUITY:
            if pos.quantity > 0:
                long_eq += value
            else:
                short_eq += value
        elif pos.quantity > 0:
            long_der += value
        else:
            short_der += value
    cash = cents(acct.cash)
    net_liq = cash + long_eq + long_der - short_eq - short_der + open_pnl
    futures = futures_margin.requirement(long_fut + short_fut) if acct.margin else ZERO
    values = {
        "account_number": acct.number,
        "cash_balance": cash,
        "long_equity_value": long_eq,
        "short_equity_value": short_eq,
        "long_derivative_value": long_der,
        "short_derivative_value": short_der,
        "net_liquidating_value": net_liq,
        "margin_equity": net_liq,
        "as_of": now,
        "long_futures_value": long_fut,
        "short_futures_value": short_fut,
        "futures_margin_requirement": futures,
    }
    if acct.margin:
        maintenance = _maintenance(long_eq, short_eq, long_der + short_der) + futures
        reg_t = _reg_t(long_eq, short_eq, long_der + short_der) + futures
        excess = net_liq - maintenance
        free = max(excess, ZERO)
        balance = BalanceFigures(
            **values,
            long_margineable_value=long_eq,
            short_margineable_value=short_eq,
            equity_buying_power=2 * free,
            derivative_buying_power=free,
            day_trading_buying_power=4 * free if net_liq >= 25_000 else ZERO,
            available_trading_funds=free,
            cash_available_to_withdraw=max(min(cash, excess), ZERO),
            maintenance_requirement=maintenance,
            maintenance_call_value=max(-excess, ZERO),
            maintenance_excess=free,
            reg_t_margin_requirement=reg_t,
            used_derivative_buying_power=long_der + short_der,
            day_trade_excess=free,
        )
        return Excess(balance, excess)
    free = max(cash, ZERO)
    balance = BalanceFigures(
        **values,
        long_margineable_value=ZERO,
        short_margineable_value=ZERO,
        equity_buying_power=free,
        derivative_buying_power=free,
        day_trading_buying_power=ZERO,
        available_trading_funds=free,
        cash_available_to_withdraw=free,
        maintenance_requirement=ZERO,
        maintenance_call_value=ZERO,
        maintenance_excess=free,
        reg_t_margin_requirement=ZERO,
        used_derivative_buying_power=ZERO,
        day_trade_excess=ZERO,
    )
    return Excess(balance, cash)


def margin_report(acct: Account, marks: Marks, balance: BalanceFigures) -> MarginReport:
    """Maintenance requirement per underlying, with the same rates as the balance, so the
    entries add up to the balance's `maintenance_requirement`."""
    # underlying -> [long eq, short eq, long der, short der, futures notional]
    groups: dict[str, list[Decimal]] = {}
    for pos in acct.positions.values():
        value = marks.position_value(pos)
        slot = groups.setdefault(pos.instrument.underlying, [ZERO] * 5)
        if futures_margin.marked_to_market(pos.instrument):
            slot[4] += value
            continue
        option = pos.instrument.instrument_type != EQUITY
        slot[(2 if option else 0) + (0 if pos.quantity > 0 else 1)] += value
    entries = []
    for underlying in sorted(groups):
        long_eq, short_eq, long_der, short_der, notional = groups[underlying]
        if acct.margin:
            futures = futures_margin.requirement(notional)
            maintenance = _maintenance(long_eq, short_eq, long_der + short_der) + futures
            initial = _reg_t(long_eq, short_eq, long_der + short_der) + futures
        else:
            maintenance = initial = ZERO
        entries.append(
            MarginRequirement(
                underlying_symbol=underlying,
                description=underlying,
                long_equity_value=long_eq,
                short_equity_value=short_eq,
                long_derivative_value=long_der,
                short_derivative_value=short_der,
                maintenance_requirement=maintenance,
                initial_requirement=initial,
                buying_power=maintenance,
            )
        )
    # per-underlying rounding may leave a cent: the balance is the truth, adjust the largest
    total = sum((e.maintenance_requirement for e in entries), ZERO)
    drift = balance.maintenance_requirement - total
    if drift and entries:
        big = max(range(len(entries)), key=lambda i: entries[i].maintenance_requirement)
        e = entries[big]
        entries[big] = MarginRequirement(
            **{
                **e.__dict__,
                "maintenance_requirement": e.maintenance_requirement + drift,
                "buying_power": e.buying_power + drift,
            }
        )
    return MarginReport(
        account_number=acct.number,
        margin=acct.margin,
        entries=tuple(entries),
        maintenance_requirement=balance.maintenance_requirement,
        initial_requirement=balance.reg_t_margin_requirement,
        net_liquidating_value=balance.net_liquidating_value,
        excess=balance.maintenance_excess,
    )
