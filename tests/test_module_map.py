"""docs/streaming.md opens with where a change goes, then the map of streaming/; this keeps
the map true (the change guide's paths: tests/test_change_guide.py).

Every module listed exists, every module is listed, and each has its one-line role.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "streaming.md"
ROW = re.compile(r"^\| `(?P<path>streaming/[\w/]+\.py)` \| (?P<role>[^|]*\S[^|]*) \|$")


def map_section(text: str) -> str:
    start = text.index("\n## The map\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def listed_modules(text: str) -> dict[str, str]:
    rows = {}
    for line in map_section(text).splitlines():
        if not line.startswith("| `streaming/"):
            continue
        match = ROW.match(line)
        assert match, f"not a `module` | role row: {line!r}"
        assert match["path"] not in rows, f"{match['path']} is listed twice"
        rows[match["path"]] = match["role"].strip()
    return rows


def real_modules() -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for path in (ROOT / "streaming").rglob("*.py")
        if path.name != "__init__.py" and "migrations" not in path.parts
    }


def test_where_a_change_goes_comes_first_and_the_map_next() -> None:
    """A newcomer reads which files a change touches, then where those files sit."""
    text = DOC.read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:2] == ["## Where a change goes", "## The map"]


def test_every_module_listed_exists_and_every_module_is_listed() -> None:
    listed = set(listed_modules(DOC.read_text()))
    real = real_modules()
    assert sorted(listed - real) == [], "listed in docs/streaming.md but not in streaming/"
    assert sorted(real - listed) == [], "in streaming/ but not in docs/streaming.md's map"


def test_every_role_is_one_sentence_of_words() -> None:
    short = {
        path: role
        for path, role in listed_modules(DOC.read_text()).items()
        if len(role.split()) < 3
    }
    assert short == {}


def test_the_check_reads_rows_and_refuses_a_row_without_a_role() -> None:
    good = "\n## The map\n| `streaming/a/b.py` | does one thing well |\n"
    assert listed_modules(good) == {"streaming/a/b.py": "does one thing well"}
    with pytest.raises(AssertionError, match=re.escape("not a `module` | role row")):
        listed_modules(good + "| `streaming/c.py` | |\n")
