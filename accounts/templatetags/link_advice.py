"""`{% load link_advice %}{{ link|link_advice }}`: what to do about a link in `error`, as
of the time the page is rendered (accounts/link_advice.py); "" for a link that is fine."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django import template

from accounts.link_advice import link_advice as advice

register = template.Library()


@register.filter(name="link_advice")
def link_advice(link: Mapping[str, Any] | None) -> str:
    return advice(link, time.time() * 1000)
