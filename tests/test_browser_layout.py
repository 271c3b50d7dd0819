"""The browser modules' layout, kept true (static/js/, docs/streaming.md "The map"): a folder
per page or concern, one concept per module. Three rules, each a function of a listing so a
made-up listing shows it failing:
- no module over 500 lines (third-party files excepted: a minified `.min.` build, `vendor/`);
- no file name repeats its folder's name (`risk/risk-page.js` is `risk/page.js`);
- no folder keeps three or more files told apart by a shared first word (`render-accounts.js`,
  `render-chain.js`, `render-news.js` are `render/accounts.js`, …).

A name's first word is what comes before its first `-` or `.`; a folder's name and a first word
match also when one is the other's plural (`alerts/alert-api.js` repeats too, and `alert-api.js`,
`alerts.js`, `alerts-page.js` are three of one word).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
#: The browser's modules, and their unit tests (which mirror them).
TREES = ("static/js", "tests/js")
MODULE_SUFFIXES = (".js", ".mjs")
MAX_LINES = 500
#: This many files of one folder with one first word are a folder waiting to happen.
CLUSTER_LIMIT = 3


def third_party(path: str) -> bool:
    """A vendored library: a minified build or anything under a `vendor/` folder."""
    parts = PurePosixPath(path).parts
    return ".min." in parts[-1] or "vendor" in parts[:-1]


def listing(trees: Iterable[str] = TREES) -> dict[str, int]:
    """Every module under `trees` (repo-relative posix path) with its line count."""
    found = {}
    for tree in trees:
        for path in sorted((ROOT / tree).rglob("*")):
            if path.is_file() and path.suffix in MODULE_SUFFIXES:
                rel = path.relative_to(ROOT).as_posix()
                if not third_party(rel):
                    found[rel] = len(path.read_text(encoding="utf-8").splitlines())
    return found


def first_word(name: str) -> str:
    return re.split(r"[-.]", name, maxsplit=1)[0]


def singular(word: str) -> str:
    return word[:-1] if word.endswith("s") else word


def same_word(a: str, b: str) -> bool:
    return singular(a) == singular(b)


def oversized(lines: Mapping[str, int], limit: int = MAX_LINES) -> list[str]:
    """The modules over `limit` lines, with their size."""
    return [f"{path}: {n} lines" for path, n in sorted(lines.items()) if n > limit]


def repeating_names(paths: Iterable[str]) -> list[str]:
    """The files whose first word is their folder's name."""
    out = []
    for path in sorted(paths):
        p = PurePosixPath(path)
        if len(p.parts) > 1 and same_word(first_word(p.name), p.parent.name):
            out.append(path)
    return out


def prefix_clusters(paths: Iterable[str], limit: int = CLUSTER_LIMIT) -> list[str]:
    """The folders holding `limit` or more files that share a first word."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in paths:
        p = PurePosixPath(path)
        groups[(str(p.parent), singular(first_word(p.name)))].append(p.name)
    return [
        f"{folder}/: {len(names)} files named {word}…: {', '.join(sorted(names))}"
        for (folder, word), names in sorted(groups.items())
        if len(names) >= limit
    ]


# ------------------------------------------------------------------ the tree


def test_no_browser_module_over_500_lines():
    """Every module of static/js/ is at most 500 lines (its tests are not held to it)."""
    assert oversized(listing(("static/js",))) == []


def test_no_file_name_repeats_its_folder():
    """A folder names the concern; its files do not say it again."""
    assert repeating_names(listing()) == []


def test_no_folder_keeps_three_files_with_one_prefix():
    """Three files told apart by a shared first word are a folder waiting to happen."""
    assert prefix_clusters(listing()) == []


def test_the_listing_sees_the_modules_and_skips_vendored_builds():
    """The rules read the real tree: the entry module is there, a vendored build is not."""
    found = listing()
    assert "static/js/stream/main.js" in found
    assert "tests/js/state.test.mjs" in found
    assert third_party("static/vendor/lightweight-charts/x.standalone.production.mjs")
    assert third_party("static/js/lib/axe.min.js")
    assert not third_party("static/js/stream/render/page.js")


# ------------------------------------------------------------------ each rule fails when it should


def test_oversized_names_a_module_over_the_limit():
    """A 501-line module is named with its size; 500 lines pass."""
    lines = {"static/js/stream/main.js": 603, "static/js/stream/state.js": 500}
    assert oversized(lines) == ["static/js/stream/main.js: 603 lines"]


def test_repeating_names_finds_a_folder_said_again():
    """`risk/risk-page.js`, `ticket/ticket.js` and `alerts/alert-api.js` repeat; others do not."""
    paths = [
        "static/js/risk/risk-page.js",
        "static/js/trading/ticket/ticket.js",
        "static/js/stream/alerts/alert-api.js",
        "static/js/risk/page.js",
        "static/js/stream/render/renderer.js",
        "static/js/site-menu.js",
    ]
    assert repeating_names(paths) == [
        "static/js/risk/risk-page.js",
        "static/js/stream/alerts/alert-api.js",
        "static/js/trading/ticket/ticket.js",
    ]


def test_prefix_clusters_finds_three_siblings_with_one_first_word():
    """render.js, render-chain.js and render-news.js are three, alert-api.js, alert-menu.js and
    alerts.js too; two `layout-` files are not."""
    paths = [
        "static/js/stream/alert-api.js",
        "static/js/stream/alert-menu.js",
        "static/js/stream/alerts.js",
        "static/js/stream/render.js",
        "static/js/stream/render-chain.js",
        "static/js/stream/render-news.js",
        "static/js/stream/layout-choice.js",
        "static/js/stream/layout-switch.js",
        "static/js/stream/render/chain.js",
        "static/js/stream/render/news.js",
        "static/js/stream/render/page.js",
    ]
    assert prefix_clusters(paths) == [
        "static/js/stream/: 3 files named alert…: alert-api.js, alert-menu.js, alerts.js",
        "static/js/stream/: 3 files named render…: render-chain.js, render-news.js, render.js",
    ]
