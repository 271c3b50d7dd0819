"""The module graph a live page preloads (operations/module_graph.py): every module its
entry imports statically, none it loads on demand, each by its static URL."""

from __future__ import annotations

from pathlib import Path

from django.template import Context, Template

from operations.module_graph import module_graph

STATIC = Path(__file__).resolve().parents[2] / "static"


def modules(folder: str) -> set[str]:
    """The static paths of the modules under `folder` (e.g. "js/stream"), subfolders too."""
    return {p.relative_to(STATIC).as_posix() for p in (STATIC / folder).rglob("*.js")}


#: Loaded with `import()` by the chart page only (the chart, its band, its formats).
ON_DEMAND = {
    "js/stream/render/chart.js",
    "js/stream/render/chart-band.js",
    "js/stream/chart-format.js",
}
#: The order ticket the live pages open (static/js/trading/): every module but the
#: /trading page's own (page.js, words.js) and the header's kill switch,
#: which every page loads by itself.
TICKET = modules("js/trading") - {
    "js/trading/page.js",
    "js/trading/words.js",
    "js/trading/kill-switch.js",
}


def test_the_graph_is_every_static_import_and_no_dynamic_one():
    graph = module_graph("js/stream/main.js") + module_graph("js/stream/pages/layout-switch.js")
    assert set(graph) == (modules("js/stream") - ON_DEMAND) | TICKET
    assert graph[0] == "js/stream/main.js"  # the entry first, then breadth first
    assert len(set(module_graph("js/stream/main.js"))) == len(module_graph("js/stream/main.js"))


def test_the_page_names_each_module_as_a_modulepreload():
    html = Template("{% load live_modules %}{% module_preloads 'js/stream/main.js' %}").render(
        Context()
    )
    links = [line for line in html.splitlines() if line]
    assert len(links) == len(module_graph("js/stream/main.js"))
    assert links[0] == '<link rel="modulepreload" href="/static/js/stream/main.js">'
    assert all(
        link.startswith(
            (
                '<link rel="modulepreload" href="/static/js/stream/',
                '<link rel="modulepreload" href="/static/js/trading/',
            )
        )
        for link in links
    )
