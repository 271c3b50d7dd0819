"""docs/streaming-contract.md and streaming/contract/ say the same thing.

The document comes first: a frame type, a field or a close code added to one and not the
other fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_type_hints

import pytest

from streaming import validation
from streaming.contract.close_codes import CLOSE_CODES
from streaming.contract.frames import ACCOUNT_FRAME_TYPES, CLIENT_MESSAGE_TYPES, FRAMES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "streaming-contract.md").read_text()


def section(title: str) -> str:
    """The text of a `## title` / `### title` section, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#)", DOC, re.M | re.S)
    assert match, f"no section {title!r} in the contract"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def top_level_names(cell: str) -> set[str]:
    """Backticked names in a fields cell, leaving out those in parentheses (nested)."""
    depth, flat = 0, []
    for char in cell:
        depth += char == "("
        if depth == 0:
            flat.append(char)
        depth -= char == ")" and depth > 0
    return set(re.findall(r"`([a-z_]+)`", "".join(flat)))


def frame_fields(frame_type: type) -> set[str]:
    return set(get_type_hints(frame_type)) - {"type"}


def documented_frames() -> dict[str, set[str]]:
    frames = {}
    for name_cell, _, fields in table_rows(section("Frames (server → client)")):
        (name,) = re.findall(r"`([a-z_]+)`", name_cell)
        frames[name] = top_level_names(fields)
    return frames


def test_every_documented_frame_type_is_in_the_code_and_the_reverse():
    assert set(documented_frames()) == set(FRAMES)


def test_every_frame_has_exactly_the_documented_fields():
    documented = documented_frames()
    for name, frame_type in FRAMES.items():
        fields = frame_fields(frame_type)
        assert fields == documented[name], name


def test_account_frames_are_the_documented_numbered_ones():
    numbered = {
        name
        for name, fields in documented_frames().items()
        if {"epoch", "seq", "account"} <= fields
    }
    assert numbered == set(ACCOUNT_FRAME_TYPES)
    for kind in ACCOUNT_FRAME_TYPES:
        assert kind in documented_frames()[kind]  # the body is named for the type


def test_close_codes_match_the_table():
    codes = {int(row[0]) for row in table_rows(section("Close codes"))}
    assert codes == set(CLOSE_CODES)


def test_client_message_types_match_the_table():
    documented = set()
    for message, _ in table_rows(section("Client messages (client → server)")):
        documented |= set(re.findall(r'"type":"([a-z]+)"', message))
    assert documented == set(CLIENT_MESSAGE_TYPES)


def test_the_consumer_reads_the_documented_client_message_types():
    """The list the table is checked against is the one the consumer's parser reads."""
    assert validation.CLIENT_MESSAGE_TYPES is CLIENT_MESSAGE_TYPES
    for kind in CLIENT_MESSAGE_TYPES:
        try:
            validation.parse_client_message(f'{{"type":"{kind}"}}')
        except validation.MessageError as exc:
            assert exc.code != "unknown_type", kind
    with pytest.raises(validation.MessageError) as refused:
        validation.parse_client_message('{"type":"undocumented"}')
    assert refused.value.code == "unknown_type"


def test_the_snapshot_says_subscriptions_are_the_users_union():
    (row,) = [r for r in table_rows(section("Frames (server → client)")) if r[0] == "`snapshot`"]
    assert "union" in row[2] and "this socket" not in row[2]
