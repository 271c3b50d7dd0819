import logging

from django.apps import AppConfig
from django.conf import settings


class StreamingConfig(AppConfig):
    """Live data: broker adapters, per-user stream managers, consumers, the sandbox."""

    name = "streaming"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The tastytrade SDK sets its logger to DEBUG when imported, and at DEBUG it logs
        # every websocket message, bearer tokens included. Secrets are never logged here:
        # pin it to the configured level (WARNING unless an operator asks otherwise).
        import tastytrade  # noqa: F401  (import first, so our level wins)

        level = getattr(settings, "TASTYTRADE_LOG_LEVEL", "WARNING")
        logging.getLogger("tastytrade").setLevel(level)

        # A cancel must never be lost (a stopped manager must not keep a broker session):
        # Python 3.11's asyncio.wait_for can lose one; see streaming/runtime/cancellation.py.
        from streaming.runtime.cancellation import install_wait_for

        install_wait_for()

        # The process's shared parts, in one object (streaming/node.py): what a consumer,
        # a view or an owner shares with the rest of the process comes from here.
        from streaming.node import Node

        self.node = Node.build()

        # The login throttle's audit lines and lockout counter (after axes' handlers), and
        # its deploy check (importing registers it).
        from streaming.lockout import checks  # noqa: F401
        from streaming.lockout.receivers import connect

        connect()
