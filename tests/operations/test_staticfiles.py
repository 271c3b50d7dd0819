"""Static files in development: WhiteNoise serves the source tree, async under ASGI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAIN_JS = "/static/js/stream/main.js"


async def test_served_async_from_the_source_tree(async_client):
    """Django's ASGI path: the file as it is on disk, not cached, streamed by an async
    iterator (no "must consume synchronous iterators" warning, no sync thread hop)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = await async_client.get(MAIN_JS, HTTP_ACCEPT_ENCODING="identity")
        assert response.status_code == 200
        assert response.is_async
        body = b"".join([chunk async for chunk in response.streaming_content])
    assert body == (ROOT / "static/js/stream/main.js").read_bytes()
    assert response["Cache-Control"] == "max-age=0, public"
    assert response["Content-Type"].startswith("text/javascript")
    # sockets an earlier test of this worker left to the collector may be reported meanwhile
    # (ResourceWarning "unclosed <socket…>"): not this response's
    said = [str(w.message) for w in caught if not issubclass(w.category, ResourceWarning)]
    assert said == []


async def test_missing_file_falls_through_to_django(async_client):
    response = await async_client.get("/static/js/stream/missing.js")
    assert response.status_code == 404


@pytest.mark.django_db
def test_served_by_the_sync_handler_too(client):
    response = client.get(MAIN_JS)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (ROOT / "static/js/stream/main.js").read_bytes()


def test_production_collects_modules_imported_ten_deep(settings, tmp_path):
    """`collectstatic` rewrites each module's imports to hashed names, one level of the
    import chain per pass: main.js → the ticket's entry.js → … is ten modules deep, past
    Django's five passes ("Max post-process passes exceeded" stopped every production
    start: tests/deploy/test_production.py). The collected main.js imports the ticket's
    entry by its hashed name, and that name is of the entry as collected."""
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "operations.staticfiles.HashedModuleStorage"},
    }
    call_command("collectstatic", "--no-input", "-v", "0")
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    main = (tmp_path / manifest["js/stream/main.js"]).read_text()
    entry = manifest["js/trading/ticket/entry.js"].rsplit("/", 1)[1]
    assert f'from "../trading/ticket/{entry}";' in main
