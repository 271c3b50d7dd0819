"""The page's layout choices, read from their cookies so the server renders the page as
the trader left it (no layout jump when the script starts). static/js/stream/layout-choice.js
keeps the same choices and writes the cookies.

    {% load layout %}{% layout_choice "view" as view %}
"""

from __future__ import annotations

from django import template
from django.http import HttpRequest

register = template.Library()

#: choice -> (cookie, values; the first is the default)
CHOICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "view": ("sd_view", ("positions", "watchlist", "orders")),
    "pos-cols": ("sd_pos_cols", ("prices", "greeks")),
    "chain-side": ("sd_chain_side", ("call", "put")),
    "chain-cols": ("sd_chain_cols", ("prices", "greeks")),
}


def choice_value(cookies: dict[str, str], key: str) -> str:
    """The kept value of choice `key` if it is one of its values, else its default."""
    cookie, values = CHOICES[key]
    value = cookies.get(cookie)
    return value if value in values else values[0]


@register.simple_tag(takes_context=True)
def layout_choice(context: template.Context, key: str) -> str:
    request: HttpRequest | None = context.get("request")
    return choice_value(request.COOKIES if request is not None else {}, key)
