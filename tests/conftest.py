"""Shared fixtures: a real redis-server for the session, and a broker sandbox per test; the
reaper that stops whatever a test leaves running (tests/support/reaper.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.apps import apps

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxControl, SandboxServer
from tests.support.browsers import close_unless_used
from tests.support.browsers import shared as shared_browser
from tests.support.reaper import Reaper
from tests.support.redis_server import RedisServer

if TYPE_CHECKING:  # the app's modules load once Django is set up (benches import this)
    from streaming.cluster.agents import Agents
    from streaming.node import Node

#: A fixed Fernet key for tests (never used outside them).
TEST_ENCRYPTION_KEY = "6tY0m4hQx9K4s1m5dJc8WmC0yq2sWn8a1nXH9o2QpG4="

_reaper = Reaper()


def pytest_configure(config: pytest.Config) -> None:
    """Before anything is started: this process's token, its watchdog, SIGTERM handled."""
    _reaper.install()


#: The live-process files that take longest (benches, and a cluster per test) go to the
#: workers first: the workers then end together instead of one waiting out another's last
#: long file (scripts/test.sh keeps this order: --no-loadscope-reorder).
LONGEST_FIRST = (
    "tests/bench/",
    "tests/chaos/",
    "tests/cluster/",
    "tests/suite/",
    "tests/operations/",
    "tests/deploy/",
    "tests/browser/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        found = (i for i, folder in enumerate(LONGEST_FIRST) if item.nodeid.startswith(folder))
        return next(found, len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: within a folder, the collection's order


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that does not use the browser runs with Playwright closed (its loop would
    stop an asyncio test): tests/support/browsers.py."""
    close_unless_used(item)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After every fixture's teardown (and, in the xdist controller, after the workers
    ended): nothing this process started may still run. What does is stopped, and fails
    the run unless it was interrupted (then stopping it is all there is to do)."""
    shared_browser.close()
    left = _reaper.finish()
    if left and not _reaper.interrupted and exitstatus != pytest.ExitCode.INTERRUPTED:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = "\n  ".join(left)
        message = f"processes left running after the tests (a fixture leaked them):\n  {lines}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def node(_test_settings: None) -> Iterator[Node]:
    """Each test runs with a node of its own (streaming/node.py), as a new process would:
    its agents, relay and owner handlers are built afresh, so nothing one test bound to
    its event loop reaches the next. It is the process's node for the test (the ASGI
    scope, the middleware and `current()` hand it out)."""
    from streaming.node import Node

    config = apps.get_app_config("streaming")
    config.node = Node.build()  # type: ignore[attr-defined]
    yield config.node  # type: ignore[attr-defined]
    config.node.recorder.close()  # type: ignore[attr-defined]


@pytest.fixture
def agents(node: Node) -> Agents:
    """The test's node's agents (this process's part in its users' streams)."""
    return node.agents


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fast hashing and a fixed encryption key; no test ever touches var/ (the streams'
    recordings go to the session's temporary folder)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ENCRYPTION_KEYS = [TEST_ENCRYPTION_KEY]
    settings.STREAM_RECORD_DIR = str(tmp_path_factory.getbasetemp() / "recordings")


@pytest.fixture
def broker_at_sandbox(settings, sandbox: SandboxServer) -> SandboxServer:
    """Point the app's broker clients (tastytrade, Tradier, Alpaca) at this test's sandbox."""
    settings.BROKER_ENV = "sandbox"
    settings.TASTYTRADE_BASE_URL = sandbox.url
    settings.TRADIER_API_URL = settings.TRADIER_STREAM_URL = f"{sandbox.url}/tradier"
    settings.ALPACA_API_URL = f"{sandbox.url}/alpaca"
    settings.ALPACA_DATA_URL = f"{sandbox.url}/alpaca/data"
    settings.ALPACA_NEWS_STREAM_URL = (
        sandbox.url.replace("http", "ws", 1) + "/alpaca/data/v1beta1/news"
    )
    settings.ALPACA_CRYPTO_STREAM_URL = (
        sandbox.url.replace("http", "ws", 1) + "/alpaca/data/v1beta3/crypto/us"
    )
    return sandbox


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for the whole test session."""
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Override in a test module to start the sandbox differently."""
    return SandboxConfig(tick_rate=20.0)


@pytest.fixture
def sandbox(sandbox_config: SandboxConfig) -> Iterator[SandboxServer]:
    """A fresh sandbox on a free loopback port, stopped after the test."""
    with SandboxServer(sandbox_config) as server:
        yield server


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    client = sandbox.control()
    yield client
    client.close()


@pytest.fixture
def refresh_token() -> str:
    """A refresh token unique to the test, so each test is its own sandbox customer."""
    return f"sandbox-refresh-{uuid.uuid4().hex[:12]}"
