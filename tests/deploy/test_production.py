"""Production end to end: the production settings, `collectstatic`, two daphne processes
(Redis, PostgreSQL) behind a real nginx running deploy/nginx/streamdesk.conf over TLS, and
Debian's Chromium: hashed static files, long-cached and compressed; pages with no console
error or failed request, ES modules loaded by their hashed names; the dashboard live over
wss; the SSE stream through nginx frame by frame."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import os
import posixpath
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import httpx
import pytest
import redis as redis_client
from playwright.sync_api import Browser, Page, expect

from streaming.contract.layer import user_group
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.operations.test_module_graph import ON_DEMAND
from tests.support.browsers import shared
from tests.support.cluster import Cluster, running_cluster
from tests.support.live import DEMO_USER, ROOT
from tests.support.nginx import SERVER_NAME, Nginx
from tests.support.wait import poll_until

pytestmark = [pytest.mark.redis, pytest.mark.browser]

PRODUCTION_ENV = {
    "STREAMDESK_ENV": "production",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "production-test-only-" + "k" * 40,
    "STREAMDESK_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
    "BROKER_ENV": "sandbox",  # asked for explicitly, as production requires
    "DJANGO_ALLOWED_HOSTS": f"{SERVER_NAME},127.0.0.1",  # 127.0.0.1: the test's /health probe
    "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "DJANGO_CLIENT_ADDRESS_HEADER": "HTTP_X_REAL_IP",
}
#: A name as ManifestStaticFilesStorage writes it: 12 hex digits of the content's MD5.
HASHED = re.compile(r"^/static/.+\.[0-9a-f]{12}\.(js|css|svg)$")
IMMUTABLE = "max-age=315360000, public, immutable"
STATIC = ROOT / "static"


def _modules(folder: str) -> list[str]:
    """The static paths of the modules under `folder` (subfolders too), sorted."""
    return sorted(p.relative_to(STATIC).as_posix() for p in (STATIC / folder).rglob("*.js"))


#: Loaded by the chart page only (a dynamic import in main.js: the chart library with it).
# the chart page's, loaded with `import()` (one list: the module graph's test keeps it)
LAZY_MODULES = ON_DEMAND
STREAM_MODULES = [m for m in _modules("js/stream") if m not in LAZY_MODULES]
#: The order ticket's modules the dashboard imports (static/js/trading/): all but the
#: /trading page's own and the header's kill switch (its own script on every page).
#: The modules base.html loads on every page of a logged-in user.
PAGE_MODULES = ("js/trading/kill-switch.js", "js/push/register.js", "js/site-menu.js")
TICKET_MODULES = [
    m
    for m in _modules("js/trading")
    if m not in {"js/trading/page.js", "js/trading/words.js", "js/trading/kill-switch.js"}
]
#: A relative import's specifier (`./x.js`, `../stream/x.js`).
RELATIVE_IMPORT = re.compile(r"""from\s*["'](\.{1,2}/[^"']+)["']""")


@dataclass
class Stack:
    cluster: Cluster
    nginx: Nginx
    static_root: Path
    manifest: dict[str, str]  # source name → hashed name

    def https(self) -> httpx.Client:
        """A client of the site through nginx (TLS; Host as a browser sends it)."""
        return httpx.Client(
            base_url=f"https://127.0.0.1:{self.nginx.https_port}",
            headers={"Host": f"{SERVER_NAME}:{self.nginx.https_port}"},
            verify=False,
            timeout=10,
        )


def collectstatic(static_root: Path) -> dict[str, str]:
    """`manage.py collectstatic` with the production settings; the manifest it wrote."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **PRODUCTION_ENV}
    env["STATIC_ROOT"] = str(static_root)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return json.loads((static_root / "staticfiles.json").read_text())["paths"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    static_root = tmp_path_factory.mktemp("static")
    manifest = collectstatic(static_root)
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(static_root)}
    with running_cluster(tmp_path_factory.mktemp("production"), **env) as cluster:
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), [cluster.a.port, cluster.b.port])
        nginx.start()
        try:
            yield Stack(cluster, nginx, static_root, manifest)
        finally:
            nginx.stop()


@pytest.fixture(scope="module")
def browser() -> Browser:
    """The process's Chromium (tests/support/browsers.py), resolving the site's name to
    loopback: nginx serves it there. The stack's certificate is its own, not a trusted
    one: a page's requests are told so (`ignore_https_errors`), the service worker's
    script fetch takes only the browser's flag."""
    return shared.get(
        f"--host-resolver-rules=MAP {SERVER_NAME} 127.0.0.1", "--ignore-certificate-errors"
    )


def test_nginx_accepts_the_shipped_site_file(stack: Stack):
    checked = stack.nginx.check()
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
    assert "test is successful" in checked.stderr
    assert "[warn]" not in checked.stderr
    assert "[emerg]" not in stack.nginx.error_log()


#: What the shipped nginx site sends on every https answer (deploy/nginx/streamdesk.conf).
HSTS = "max-age=31536000; includeSubDomains"


def test_nginx_sends_hsts_once_on_every_https_answer(stack: Stack):
    """Strict-Transport-Security on the app's pages and on nginx's own answers (a body
    over `client_max_body_size`: 413 from nginx, daphne never asked), exactly once: the
    app's own header (SECURE_HSTS_SECONDS) is replaced, not doubled."""
    with stack.https() as client:
        page = client.get("/login/")
        assert page.status_code == 200
        assert page.headers.get_list("strict-transport-security") == [HSTS]
        too_big = client.post("/login/", content=b"x" * (2 * 1024 * 1024))
        assert too_big.status_code == 413
        assert too_big.headers.get_list("strict-transport-security") == [HSTS]


def test_modules_import_each_other_by_hashed_name(stack: Stack):
    """Every relative import in a collected module names a hashed file that exists."""
    for path in STREAM_MODULES:
        hashed = stack.manifest[path]
        source = (stack.static_root / hashed).read_text()
        imported = RELATIVE_IMPORT.findall(source)
        expected = RELATIVE_IMPORT.findall((STATIC / path).read_text())
        assert len(imported) == len(expected), path
        for original, target in zip(expected, imported, strict=True):
            wanted = stack.manifest[
                posixpath.normpath(posixpath.join(posixpath.dirname(path), original))
            ]
            assert posixpath.normpath(posixpath.join(posixpath.dirname(hashed), target)) == wanted


def _raw(client: httpx.Client, url: str, encoding: str) -> httpx.Response:
    """The response as sent (not decoded), its bytes in `.raw`."""
    with client.stream("GET", url, headers={"Accept-Encoding": encoding}) as response:
        response.raw = b"".join(response.iter_raw())  # type: ignore[attr-defined]
    return response


def test_hashed_static_files_long_cached_and_compressed(stack: Stack):
    with stack.https() as client:
        login = client.get("/login/")
        assert login.status_code == 200
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', login.text)
        assert stylesheets == [f"/static/{stack.manifest['css/app.css']}"]
        assert HASHED.match(stylesheets[0])

        for source in ("css/app.css", "js/stream/main.js", "js/stream/state.js"):
            url = f"/static/{stack.manifest[source]}"
            original = (stack.static_root / stack.manifest[source]).read_bytes()
            for encoding, decode in (
                ("br", brotli.decompress),
                ("gzip", gzip.decompress),
                ("identity", bytes),
            ):
                response = _raw(client, url, encoding)
                assert response.status_code == 200, (url, encoding)
                assert response.headers["cache-control"] == IMMUTABLE
                assert response.headers["vary"] == "Accept-Encoding"
                assert response.headers.get("content-encoding") == (
                    None if encoding == "identity" else encoding
                )
                assert decode(response.raw) == original, (url, encoding)
                if encoding != "identity":
                    assert len(response.raw) < len(original)
            expected_type = "text/css" if source.endswith(".css") else "text/javascript"
            assert response.headers["content-type"].startswith(expected_type)

        # the unhashed name still answers (an old page mid-release), but briefly cached
        unhashed = client.get("/static/js/stream/main.js")
        assert unhashed.status_code == 200
        assert unhashed.headers["cache-control"] == "max-age=60, public"
        assert client.get("/static/js/stream/missing.js").status_code == 404


def _watch(page: Page) -> dict[str, list[str]]:
    """Everything that went wrong on the page, and every static file it asked for."""
    seen: dict[str, list[str]] = {"errors": [], "failed": [], "static": []}
    page.on("pageerror", lambda exc: seen["errors"].append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            msg.type in ("error", "warning")
            and seen["errors"].append(f"{msg.text} ({msg.location.get('url')})")
        ),
    )
    page.on(
        "requestfailed",
        lambda request: seen["failed"].append(f"{request.url}: {request.failure}"),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and seen["failed"].append(f"{response.url}: {response.status}")
        ),
    )
    page.on(
        "request",
        lambda request: (
            "/static/" in request.url and seen["static"].append(urlsplit(request.url).path)
        ),
    )
    return seen


def test_login_and_dashboard_in_chromium_through_nginx(stack: Stack, browser: Browser):
    """Log in and see the dashboard go live over wss through nginx: no console error, no
    failed request, every static file by its hashed name, each module asked for once by
    the dashboard (preloaded), and the login page prefetching the same ones."""
    base = stack.nginx.url
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    seen = _watch(page)
    try:
        page.goto(f"{base}/login/")
        page.wait_for_load_state("networkidle")  # the prefetches are done
        prefetched = sorted(url for url in seen["static"] if url.endswith(".js"))
        page.fill("input[name=username]", DEMO_USER[0])
        page.fill("input[name=password]", DEMO_USER[1])
        seen["static"].clear()
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
        bid = page.locator('tr[data-quote="SPY"] [data-field=bid]')
        first = bid.inner_text()
        expect(bid).not_to_have_text(first, timeout=10_000)  # quotes arrive over the socket

        state = page.evaluate("window.streamdesk.state()")
        assert state["socketUrl"].startswith(f"wss://{SERVER_NAME}:{stack.nginx.https_port}/ws/")
        assert state["connection"] == "live"
        assert state["fallback"] == "off"
        assert state["connects"] == 1
        assert page.evaluate("window.isSecureContext") is True
    finally:
        context.close()

    assert seen["failed"] == []
    assert seen["errors"] == []
    assert [url for url in seen["static"] if not HASHED.match(url)] == []
    modules = sorted(url for url in seen["static"] if url.endswith(".js"))
    wanted = sorted(
        [f"/static/{stack.manifest[m]}" for m in STREAM_MODULES]
        + [f"/static/{stack.manifest[m]}" for m in TICKET_MODULES]
    )
    # every page's own: the kill switch, the service worker's registration, the phone's menu
    own = [f"/static/{stack.manifest[m]}" for m in PAGE_MODULES]
    assert modules == sorted([*wanted, *own])
    assert prefetched == wanted


def log_in(client: httpx.Client, port: int) -> None:
    """Log the demo user in through nginx (the session cookie stays in `client`)."""
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    login = client.post(
        "/login/",
        data={"username": DEMO_USER[0], "password": DEMO_USER[1], "csrfmiddlewaretoken": token},
        headers={"Referer": f"https://{SERVER_NAME}:{port}/login/"},
    )
    assert login.status_code == 302, login.text[:300]


def test_sse_through_nginx_frame_by_frame(stack: Stack):
    """The SSE fallback through nginx: the first bytes (the `retry:` hint, sent before
    anything else) arrive on their own, and frames keep arriving as they are sent."""
    port = stack.nginx.https_port
    with stack.https() as client:
        log_in(client, port)
        headers = {"Origin": f"https://{SERVER_NAME}:{port}", "Accept": "text/event-stream"}
        first: bytes = b""
        events: list[tuple[float, bytes]] = []  # when each event's last byte arrived
        with client.stream("GET", "/api/events", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert "content-encoding" not in response.headers
            started = time.monotonic()
            pending = b""
            for chunk in response.iter_raw():
                if not first:
                    first = chunk
                pending += chunk
                *complete, pending = pending.split(b"\n\n")
                events += [(time.monotonic() - started, event) for event in complete]
                if len(events) >= 40 or time.monotonic() - started > 15:
                    break
    # the hint is the first bytes; the frames right behind it may share its read when the
    # user's stream was already running (the kernel joins back-to-back writes): that nginx
    # does not hold frames back is what the spacing below checks
    assert first.startswith(b"retry: 3000\n\n")
    assert len(events) >= 10
    assert events[0][1] == b"retry: 3000"
    assert all(re.match(rb"(id: \S+\n)?data: \{", event) for _, event in events[1:]), events
    # frames arrive as they are sent, not in bursts when a buffer fills (with
    # `proxy_buffering on` and the app's X-Accel-Buffering ignored, the first ten arrived
    # within 0.2 ms of each other and this failed). The first half second brings ~20
    # frames close together (hello, snapshot, statuses); then one comes every 150 ms:
    # count the pauses between them.
    times = [t for t, _ in events[1:]]
    pauses = [b - a for a, b in itertools.pairwise(times) if b - a >= 0.1]
    assert len(pauses) >= 10, times


def test_a_sessions_streams_all_land_on_one_daphne(stack: Stack):
    """nginx sends every request of one session to the same daphne process (`hash` on
    the session cookie): that process owns the user's stream and serves its tabs itself,
    so no frame of the user crosses the channel layer — the layer's receive path is what
    saturated first with two processes (docs/performance.md, "Where managers run, and the
    channel layer"). With
    round-robin the other process joined the user's group to relay half of the tabs."""
    port = stack.nginx.https_port
    store = redis_client.Redis.from_url(stack.cluster.redis.url)
    group = f"asgi:group:{user_group(1)}"
    with stack.https() as client:
        log_in(client, port)
        headers = {"Origin": f"https://{SERVER_NAME}:{port}", "Accept": "text/event-stream"}
        with contextlib.ExitStack() as streams:
            for _ in range(4):  # four tabs of one browser that do not share (?shared=0)
                response = streams.enter_context(
                    client.stream("GET", "/api/events", headers=headers)
                )
                assert response.status_code == 200
                chunks = response.iter_raw()
                while b"data: " not in next(chunks):  # this tab's first frame
                    pass
            # the user's stream has one owner, and no other process relays for it
            poll_until(lambda: store.zcard(group) == 0, within=15, what=f"{group} empty")
            owner = stack.cluster.owner_pid()
            assert owner in (stack.cluster.a.pid, stack.cluster.b.pid)
            for _ in range(6):  # and it stays so (the group is rejoined every few s)
                time.sleep(1)
                assert store.zcard(group) == 0
            assert stack.cluster.owner_pid() == owner
