"""Numbers in a server-rendered page as the page's script writes them (format.js), so the
first paint and the live updates agree."""

from __future__ import annotations

from typing import Any

from django import template

from streaming.order_terms import quantity_text

register = template.Library()


@register.filter
def quantity(value: Any) -> str:
    """A position's quantity with every place it has (`fmt.qty`); "" when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return quantity_text(float(value))
