"""`{% load live_modules %}{% module_preloads "js/stream/main.js" … %}`: a
`<link rel="modulepreload">` for each entry module and everything it imports (once)
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


def _modules(entries: tuple[str, ...]) -> list[str]:
    """The modules of every entry's graph, each once, in order."""
    return list(dict.fromkeys(path for entry in entries for path in module_graph(entry)))


@register.simple_tag
def module_preloads(*entries: str) -> SafeString:
    links = format_html_join(
        "\n", '<link rel="modulepreload" href="{}">', ((static(p),) for p in _modules(entries))
    )
    return format_html("{}", links)


@register.simple_tag
def module_prefetches(*entries: str) -> SafeString:
    links = format_html_join(
        "\n",
        '<link rel="prefetch" href="{}" as="script" crossorigin>',
        ((static(p),) for p in _modules(entries)),
    )
    return format_html("{}", links)
