"""docs/streaming.md's "Where a change goes" names real files: every backticked repository
path in it exists, so the guide a newcomer follows does not send them to a moved module.

A path is a backticked token with a `/` in it (not a URL path: those start with `/`). One
with `<broker>` in it stands for each broker's package and is checked for every broker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "streaming.md"
HEADING = "## Where a change goes"
#: The brokers a `<broker>` path stands for (the packages of streaming/brokers/ with an adapter).
BROKERS = ("tastytrade", "tradier", "alpaca")
TOKEN = re.compile(r"`([^`\s]+)`")


def guide_section(text: str) -> str:
    start = text.index(f"\n{HEADING}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def guide_paths(section: str) -> list[str]:
    """The repository paths the section names, each once, in order."""
    found = []
    for token in TOKEN.findall(section):
        if "/" in token and not token.startswith(("/", "http")) and token not in found:
            found.append(token)
    return found


def missing_paths(
    paths: Iterable[str],
    exists: Callable[[str], bool] = lambda path: (ROOT / path).exists(),
    brokers: Iterable[str] = BROKERS,
) -> list[str]:
    """The paths (a `<broker>` path once per broker) that are not in the repository."""
    missing = []
    for path in paths:
        for concrete in (
            [path.replace("<broker>", b) for b in brokers] if "<broker>" in path else [path]
        ):
            if not exists(concrete):
                missing.append(concrete)
    return missing


def test_every_path_in_where_a_change_goes_exists() -> None:
    paths = guide_paths(guide_section(DOC.read_text()))
    assert len(paths) > 40, "the guide names the files of five changes"
    assert missing_paths(paths) == []


def test_the_brokers_are_the_packages_with_an_adapter() -> None:
    """`<broker>` stands for every broker: the list is the tree's, not a guess."""
    packages = {p.parent.name for p in (ROOT / "streaming" / "brokers").glob("*/adapter.py")}
    assert packages == set(BROKERS)


def test_the_check_names_a_made_up_path_and_a_broker_missing_its_module() -> None:
    """On a made-up section, only the path that is not there (and the one broker without the
    module) is named; a URL path and a word without a slash are not paths."""
    text = (
        "# Title\n\n## Where a change goes\n"
        "1. `streaming/brokers/catalog.py` (`make_adapter`), `GET /api/x` and `/api/x`.\n"
        "2. `streaming/brokers/<broker>/quotes.py`, `streaming/brokers/catalogue.py`.\n"
        "## The map\n`streaming/elsewhere.py`\n"
    )
    paths = guide_paths(guide_section(text))
    assert paths == [
        "streaming/brokers/catalog.py",
        "streaming/brokers/<broker>/quotes.py",
        "streaming/brokers/catalogue.py",
    ]
    tree = {
        "streaming/brokers/catalog.py",
        "streaming/brokers/tastytrade/quotes.py",
        "streaming/brokers/tradier/quotes.py",
    }
    assert missing_paths(paths, exists=tree.__contains__) == [
        "streaming/brokers/alpaca/quotes.py",
        "streaming/brokers/catalogue.py",
    ]
