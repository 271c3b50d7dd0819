"""`{% load simulated %}{% page_simulated as simulated %}`: whether the page shows sandbox
data, so templates/base.html labels every page the same way — the SIMULATED banner and
`[SIMULATED]` first in the title. A live page says it from its stream (the snapshot's
`simulated`, which static/js/stream/render/page.js then keeps); any other page from the
trader's links (accounts/selectors.py `broker_link_simulated`)."""

from __future__ import annotations

from django import template

from accounts.selectors import broker_link_simulated

register = template.Library()


@register.simple_tag(takes_context=True)
def page_simulated(context: template.Context) -> bool:
    if "simulated" in context:
        return bool(context["simulated"])
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return False
    return broker_link_simulated(user_id=user.pk)
