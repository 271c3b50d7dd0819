"""The server's symbol rules agree with the browser's on shared cases (the browser's
copy: static/js/stream/contract.js, checked by tests/js/symbols.test.mjs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streaming.validation import normalize_symbol

CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "symbols.json").read_text())


@pytest.mark.parametrize(("raw", "canonical"), sorted(CASES["valid"].items()))
def test_valid_symbols_take_their_canonical_form(raw: str, canonical: str) -> None:
    assert normalize_symbol(raw) == canonical


@pytest.mark.parametrize("raw", CASES["invalid"])
def test_invalid_symbols_are_refused(raw: str) -> None:
    assert normalize_symbol(raw) is None
