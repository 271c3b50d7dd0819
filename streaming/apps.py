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

        self.hand_in_to_the_cluster()

    @staticmethod
    def hand_in_to_the_cluster() -> None:
        """The composition root: the cluster builds managers with wiring's factory (the
        lease loop never imports wiring), and the owner answers the features' questions
        with the handlers they give (the cluster imports no feature)."""
        from streaming.candles.owner import answer_history
        from streaming.chains.owner import answer_chain
        from streaming.cluster import owner_rpc
        from streaming.cluster.agents import agents
        from streaming.contract.layer import ToOwner
        from streaming.push.sender import sender
        from streaming.risk.limits.owner import answer_limits_changed
        from streaming.risk.pnl.owner import answer_balance_history
        from streaming.trading.owner import answer_order
        from streaming.wiring import build_manager

        agents.configure(build_manager=build_manager, on_start=(sender.kick,), watched=watched)
        owner_rpc.register(ToOwner.CHAIN_REQUEST, answer_chain)
        owner_rpc.register(ToOwner.CANDLES_REQUEST, answer_history)
        owner_rpc.register(ToOwner.LIMITS_CHANGED, answer_limits_changed)
        owner_rpc.register(ToOwner.PNL_HISTORY_REQUEST, answer_balance_history)
        owner_rpc.register(ToOwner.ORDER_REQUEST, answer_order)


async def watched() -> set[int]:
    """The users whose streams run with no page open: an alert that can still fire, a
    limit set, a working order with fills notifying, "P&L all day" in the session
    (docs/streaming-contract.md "Push and e-mail")."""
    import time

    from channels.db import database_sync_to_async

    from streaming.alerts.store import alert_watched_users
    from streaming.push.working import working_watched_users
    from streaming.risk.limits.store import limits_watched_users
    from streaming.risk.pnl.store import pnl_watched_users

    def read() -> set[int]:
        found = alert_watched_users() | limits_watched_users()
        return found | working_watched_users() | pnl_watched_users(time.time())

    return await database_sync_to_async(read)()
