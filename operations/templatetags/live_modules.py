"""`{% load live_modules %}{% module_preloads "js/stream/main.js" %}`: a
`<link rel="modulepreload">` for the entry module and everything it imports
(operations/module_graph.py), each by its static (hashed, where collected) URL;
`{% module_prefetches … %}` the same as low-priority `prefetch` hints (the login page:
the dashboard's modules are in the cache by the time the trader is in)."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from operations.module_graph import module_graph

register = template.Library()


@register.simple_tag
def module_preloads(entry: str) -> SafeString:
    links = format_html_join(
        "\n", '<link rel="modulepreload" href="{}">', ((static(p),) for p in module_graph(entry))
    )
    return format_html("{}", links)


@register.simple_tag
def module_prefetches(entry: str) -> SafeString:
    links = format_html_join(
        "\n",
        '<link rel="prefetch" href="{}" as="script" crossorigin>',
        ((static(p),) for p in module_graph(entry)),
    )
    return format_html("{}", links)
