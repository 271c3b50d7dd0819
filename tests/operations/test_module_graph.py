"""The module graph a live page preloads (operations/module_graph.py): every module its
entry imports statically, none it loads on demand, each by its static URL."""

from __future__ import annotations

from pathlib import Path

from django.template import Context, Template

from operations.module_graph import module_graph

STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"
STREAM = STATIC_JS / "stream"
#: Loaded with `import()` by the chart page only.
ON_DEMAND = {"render-chart.js", "chart-format.js"}
#: The order ticket the live pages open (static/js/trading/): every module but the
#: /trading page's own (trading-page.js, trading-words.js) and the header's kill switch,
#: which every page loads by itself.
TICKET = {p.name for p in (STATIC_JS / "trading").glob("*.js")} - {
    "trading-page.js",
    "trading-words.js",
    "kill-switch.js",
}


def test_the_graph_is_every_static_import_and_no_dynamic_one():
    graph = module_graph("js/stream/main.js") + module_graph("js/stream/layout-switch.js")
    names = {path.rsplit("/", 1)[1] for path in graph}
    assert names == ({p.name for p in STREAM.glob("*.js")} - ON_DEMAND) | TICKET
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
