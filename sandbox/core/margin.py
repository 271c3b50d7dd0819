"""Balances and margin: what an account is worth now and what its positions require.

A margin account keeps 25 % of long and 30 % of short equity value plus the full value of
options (Reg T initial: 50 % of equity) plus a share of its futures' notional (marked to
the market: `futures_margin.py`); a cash account requires nothing and can spend its cash.
Each underlying's requirement is figured (and rounded to the cent) once, in `_Group`; the
balance's requirements are the sums of its groups', and the margin report lists the same
groups, so the report adds up to the balance with no cent to reassign.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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


@dataclass
class _Group:
    """One underlying's positions, marked now (unsigned values, signed open P&L)."""

    long_eq: Decimal = ZERO
    short_eq: Decimal = ZERO
    long_der: Decimal = ZERO
    short_der: Decimal = ZERO
    long_fut: Decimal = ZERO
    short_fut: Decimal = ZERO
    open_pnl: Decimal = ZERO

    def futures(self) -> Decimal:
        """The margin of the group's futures notional, to the cent."""
        return futures_margin.requirement(self.long_fut + self.short_fut)

    def maintenance(self) -> Decimal:
        """25 % of long and 30 % of short equity, the options' value, the futures' margin."""
        equity = Decimal("0.25") * self.long_eq + Decimal("0.30") * self.short_eq
        return cents(equity + self.long_der + self.short_der) + self.futures()

    def initial(self) -> Decimal:
        """Reg T: 50 % of equity, the options' value, the futures' margin."""
        equity = Decimal("0.5") * (self.long_eq + self.short_eq)
        return cents(equity + self.long_der + self.short_der) + self.futures()


def _groups(acct: Account, marks: Marks) -> dict[str, _Group]:
    """The account's positions by underlying, in the underlyings' order."""
    groups: dict[str, _Group] = {}
    for pos in acct.positions.values():
        value = marks.position_value(pos)
        group = groups.setdefault(pos.instrument.underlying, _Group())
        long = pos.quantity > 0
        if futures_margin.marked_to_market(pos.instrument):
            group.open_pnl += futures_margin.open_pnl(pos, marks)
            if long:
                group.long_fut += value
            else:
                group.short_fut += value
        elif pos.instrument.instrument_type == EQUITY:
            if long:
                group.long_eq += value
            else:
                group.short_eq += value
        elif long:
            group.long_der += value
        else:
            group.short_der += value
    return {underlying: groups[underlying] for underlying in sorted(groups)}


def figures(acct: Account, marks: Marks, now: float) -> Excess:
    """Balance figures from cash and positions marked now; net-liq = cash + long - short."""
    groups = _groups(acct, marks).values()

    def total(field: str) -> Decimal:
        return sum((getattr(group, field) for group in groups), ZERO)

    long_eq, short_eq = total("long_eq"), total("short_eq")
    long_der, short_der = total("long_der"), total("short_der")
    long_fut, short_fut, open_pnl = total("long_fut"), total("short_fut"), total("open_pnl")
    cash = cents(acct.cash)
    net_liq = cash + long_eq + long_der - short_eq - short_der + open_pnl
    futures = sum((g.futures() for g in groups), ZERO) if acct.margin else ZERO
    values: dict[str, Any] = {
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
        maintenance = sum((g.maintenance() for g in groups), ZERO)
        reg_t = sum((g.initial() for g in groups), ZERO)
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
    """Maintenance requirement per underlying: the very groups whose requirements the
    balance sums (`figures`), so the entries add up to its `maintenance_requirement`."""
    entries = []
    for underlying, group in _groups(acct, marks).items():
        maintenance = group.maintenance() if acct.margin else ZERO
        entries.append(
            MarginRequirement(
                underlying_symbol=underlying,
                description=underlying,
                long_equity_value=group.long_eq,
                short_equity_value=group.short_eq,
                long_derivative_value=group.long_der,
                short_derivative_value=group.short_der,
                maintenance_requirement=maintenance,
                initial_requirement=group.initial() if acct.margin else ZERO,
                buying_power=maintenance,
            )
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
