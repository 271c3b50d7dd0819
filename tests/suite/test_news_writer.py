"""The news writer (tests/support/news_writer.py) that ended fails the call that used it
with its cause — its exit status and the end of its stderr — not a bare broken pipe, so
the one test it belonged to says why (tests/e2e/test_news_stream.py gives each test a
writer of its own)."""

from __future__ import annotations

import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.live import app_env
from tests.support.news_writer import NewsWriter


def writer_over_an_empty_database(tmp_path: Path) -> NewsWriter:
    """A writer whose database (a new SQLite file) has no tables: its first store fails
    inside it."""
    env = app_env("http://127.0.0.1:9", tmp_path)
    env.pop("DATABASE_URL", None)
    return NewsWriter(SimpleNamespace(env=env))


def test_a_writer_that_fails_says_why(tmp_path):
    writer = writer_over_an_empty_database(tmp_path)
    try:
        with pytest.raises(RuntimeError) as ended:
            writer.store({"id": "a", "symbols": ["SPY"]}, announce=False)
        assert "the news writer process ended (exit status 1)" in str(ended.value)
        assert "no such table" in str(ended.value)
        # and the next call says the same, not a broken pipe
        with pytest.raises(RuntimeError, match="news writer process ended"):
            writer.store({"id": "b", "symbols": ["SPY"]}, announce=False)
    finally:
        writer.close()


def test_a_writer_that_was_killed_says_so(tmp_path):
    writer = writer_over_an_empty_database(tmp_path)
    try:
        writer._proc.send_signal(signal.SIGKILL)
        writer._proc.wait(timeout=10)
        with pytest.raises(RuntimeError, match=r"exit status -9"):
            writer.user("someone", "pw")
    finally:
        writer.close()
