"""Times in a server-rendered page as the page's script writes them (accounts/times.py,
static/js/stream/times.js): in the trader's zone, New York's until they choose another,
named. templates/base.html puts the zone on the page (`<html data-time-zone>`), which the
script starts from.

    {% load times %}{% page_time_zone as time_zone %}
    {% zoned token.created_at "full-hm" %}   {# Mar 3, 2026, 14:02 EST #}
    {% zone_name %}                          {# America/New_York (EST) #}
"""

from __future__ import annotations

import datetime as dt
import time

from django import template

from accounts.display_preferences import display_preferences_get
from accounts.times import MARKET_ZONE, label, text, zone_of

register = template.Library()


@register.simple_tag(takes_context=True)
def page_time_zone(context: template.Context) -> str:
    """The zone this page shows times in: the view's (a live page's context has it), else
    the trader's preference (read once per request), New York's for a visitor not logged
    in."""
    if context.get("time_zone"):
        return str(context["time_zone"])
    request = context.get("request")
    kept = getattr(request, "streamdesk_time_zone", None)
    if kept:
        return str(kept)
    user = context.get("user")
    zone = MARKET_ZONE
    if user is not None and user.is_authenticated:
        zone = display_preferences_get(user_id=user.pk)["time_zone"]
    if request is not None:
        request.streamdesk_time_zone = zone
    return zone


@register.simple_tag(takes_context=True)
def zoned(context: template.Context, value: dt.datetime | float | None, kind: str) -> str:
    """`value` (aware, or epoch ms) in the page's zone, named; "" for None."""
    return text(value, zone_of(page_time_zone(context)), kind)


@register.simple_tag(takes_context=True)
def zone_name(context: template.Context) -> str:
    """The page's zone and its name now: "America/New_York (EST)"."""
    name = page_time_zone(context)
    return f"{name} ({label(time.time() * 1000, zone_of(name))})"
