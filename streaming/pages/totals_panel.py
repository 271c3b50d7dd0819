"""The dashboard's totals panel: the portfolio totals with each cell's label, title and
digits, as static/js/stream/render/totals.js draws them, for the page before its script runs."""

from __future__ import annotations

from typing import Any, TypedDict

from streaming.portfolio.totals import (
    Total,
    TotalField,
    TotalsGroup,
    Uncounted,
    portfolio_totals,
)

#: The panel's labels and titles (as render/totals.js), and digits shown before the script runs.
PANEL: dict[TotalField, tuple[str, str, str]] = {
    "net_liq": ("Net liq", "Net liquidating value, all accounts", "2g"),
    "day_pnl": ("Day P&L", "Day P&L from the live marks, all positions", "2g"),
    "open_pnl": ("Open P&L", "Open P&L from the live marks, all positions", "2g"),
    "buying_power": ("Buying power", "Equity buying power, all accounts", "2g"),
    "delta_shares": ("Δ shares", "Portfolio delta in shares", "1g"),
    "delta_dollars": ("Δ $", "Dollar delta: share delta times the underlying's live price", "2g"),
    "theta": ("Θ $/day", "Theta per day in money", "2g"),
}


class Cell(Total):
    """One total as the panel shows it."""

    field: str
    label: str
    title: str
    digits: str
    signed: bool


class PanelGroup(TotalsGroup):
    cells: list[Cell]


class PanelTotals(TypedDict):
    groups: list[PanelGroup]
    uncounted: list[Uncounted]


def totals_panel(snapshot: dict[str, Any]) -> PanelTotals:
    """`portfolio_totals` with each group's `cells` in the panel's order, for the template."""
    totals = portfolio_totals(snapshot)
    groups: list[PanelGroup] = [
        {
            **group,
            "cells": [
                {
                    **group[field],
                    "field": field,
                    "label": label,
                    "title": title,
                    "digits": digits,
                    "signed": field not in ("net_liq", "buying_power"),
                }
                for field, (label, title, digits) in PANEL.items()
            ],
        }
        for group in totals["groups"]
    ]
    return {"groups": groups, "uncounted": totals["uncounted"]}
