"""Alerts that reach a closed laptop (2 daphne + Redis + PostgreSQL + the sandbox): an
alert is set, every page is closed, the idle grace passes, and the price crosses at the
sandbox. The watched user's stream still runs in the cluster, the crossing is found once,
and exactly one push reaches the device (decrypted here with the device's own keys, its
VAPID signature verified) and exactly one e-mail is written; the same again with a kill -9
of the owner just before the crossing; then a daily loss limit crossed with nothing open:
one push and one e-mail more.

The push service is a loopback server of this test (`tests/support/push.py`: a real one is
on the internet), taken by the app with `DJANGO_DEBUG=true` only; the e-mail backend is
Django's file backend. Everything else is the real thing.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg

from streaming.pages.login import LOGIN_HOLD
from streaming.push.working import CHECK_EVERY
from streaming.stream.subscriptions import POLL_TAB_TTL
from tests.cluster.test_cluster import cookie, live_tab
from tests.support.cluster import FAST_CLUSTER, TAKEOVER, running_cluster
from tests.support.live import DEMO_USER
from tests.support.push import Device, PushService, verify_vapid
from tests.support.trading_http import ORDERS_REST_FAR, WORKING, Trader, enable_demo_trading
from tests.support.wait import wait_until

#: Far below the demo portfolio's usual day P&L; AAPL at $1 costs its shares far more.
LOSS_LIMIT = 3000
#: How often each process looks for watched users here (seconds).
WATCH_EVERY = 1.0
#: A crossing to its push on a loaded box: an evaluation, a commit, a send (margin).
DELIVERED_WITHIN = 15.0


def outbox(cluster) -> list[tuple[str, str, str]]:
    """(event, channel, state) of every delivery row, in order."""
    with psycopg.connect(cluster.database_url) as db:
        rows = db.execute("SELECT event, channel, state FROM streaming_pushdelivery ORDER BY id")
        return [tuple(row) for row in rows]


#: Django's file backend ends each message it writes with this line.
MAIL_END = "-" * 79 + "\n"


def mails(folder: Path) -> list[str]:
    """The mails written whole: Django's file backend opens a message's file before it writes
    it (CI21 read one there, still empty)."""
    if not folder.exists():
        return []
    return sorted(t for p in folder.glob("*.log") if (t := p.read_text()).endswith(MAIL_END))


async def test_an_alert_and_a_limit_with_no_page_open_are_pushed_and_mailed_once_across_a_kill(
    tmp_path,
):
    service = PushService()
    mail_dir = tmp_path / "mail"
    try:
        with running_cluster(
            tmp_path,
            DJANGO_DEBUG="true",
            STREAM_WATCH_INTERVAL=str(WATCH_EVERY),
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(mail_dir),
        ) as cluster:
            cluster.a.python(
                "from django.contrib.auth import get_user_model\n"
                "from accounts.notification_settings import notification_settings_update\n"
                f"u = get_user_model().objects.get(username={DEMO_USER[0]!r})\n"
                "u.email = 'trader@example.com'\nu.save()\n"
                "notification_settings_update(user_id=u.id, changes={'email': True})\n"
            )
            control = cluster.sandbox.control()
            control.set_price("NFLX", 100)
            control.set_price("ORCL", 100)
            http = cluster.b.login(*DEMO_USER)
            headers = {"X-CSRFToken": http.cookies["csrftoken"], "Origin": cluster.b.url}
            phone = Device()
            subscribed = http.post(
                "/api/push/subscriptions",
                json={"endpoint": service.endpoint("phone"), "keys": phone.keys},
                headers=headers,
            )
            assert subscribed.status_code == 201, subscribed.text
            public_key = http.get("/api/push/key").json()["public_key"]
            for body in (
                {"symbol": "NFLX", "condition": "above", "level": 150},
                {"symbol": "ORCL", "condition": "below", "level": 90},
            ):
                made = http.post("/api/alerts", json=body, headers=headers)
                assert made.status_code == 201, made.text
            # and a daily loss limit, far below the demo portfolio's usual day P&L
            saved = http.put("/api/risk/limits", json={"daily_loss": LOSS_LIMIT}, headers=headers)
            assert saved.status_code == 200, saved.text
            # a page was open, and is closed: no tab, no page, no login holds the user
            # (its snapshot is enough: the watch may have the stream live before it opens,
            # so no status frame need come after)
            tab = await live_tab(cluster.a, cookie(cluster))
            logged_in = time.monotonic()
            await tab.close()
            http.close()
            closed = time.monotonic()
            # every hold has run out (a login's, LOGIN_HOLD; a tab's, the idle grace), plus
            # two looks of the watch: what runs the stream now is the watch alone
            grace = float(FAST_CLUSTER["STREAM_IDLE_GRACE"])
            until = max(logged_in + LOGIN_HOLD, closed + grace) + 2 * WATCH_EVERY
            await asyncio.sleep(until - time.monotonic())
            assert cluster.lease_holder() is not None, "the watched user's stream runs"

            # 1. the crossing, with nothing open
            control.set_price("NFLX", 160)
            await wait_until(lambda: len(service.received) == 1, within=DELIVERED_WITHIN)
            await wait_until(lambda: len(mails(mail_dir)) == 1, within=DELIVERED_WITHIN)
            path, push_headers, body = service.received[0]
            assert path == "/push/phone"
            said = phone.decrypt(body)
            assert (said["kind"], said["title"], said["url"]) == ("alert", "NFLX alert", "/alerts")
            assert said["id"].startswith("alert:") and "NFLX" in said["body"]
            verify_vapid(push_headers, public_key, service.origin)
            assert "NFLX alert" in mails(mail_dir)[0]
            # the owner recorded both as sent (a sender killed between the push service's
            # answer and its record sends again after PUSH_CLAIM: the contract's one window)
            await wait_until(lambda: [r[2] for r in outbox(cluster)] == ["sent", "sent"])

            # 2. a kill -9 of the owner, then ORCL falls through 90 with nothing open
            owner, survivor = cluster.owner_and_other()
            owner.kill()
            control.set_price("ORCL", 80)
            await wait_until(lambda: cluster.lease_holder() == survivor.pid, within=TAKEOVER + 15)
            await wait_until(lambda: len(service.received) == 2, within=TAKEOVER + DELIVERED_WITHIN)
            await wait_until(lambda: len(mails(mail_dir)) == 2, within=DELIVERED_WITHIN)
            second = phone.decrypt(service.received[1][2])
            assert (second["title"], second["id"] != said["id"]) == ("ORCL alert", True)
            # exactly once each: every delivery row sent, one per event and channel
            await wait_until(lambda: {r[2] for r in outbox(cluster)} == {"sent"})
            rows = outbox(cluster)
            assert sorted((r[1], r[0]) for r in rows) == sorted(
                [("push", said["id"]), ("email", said["id"]), ("push", second["id"]),
                 ("email", second["id"])]
            )  # fmt: skip
            assert len(service.received) == 2 and len(mails(mail_dir)) == 2

            # 3. a limit crossed with no page open: AAPL at $1 costs its shares far more
            control.set_price("AAPL", 1.0)
            await wait_until(lambda: len(service.received) == 3, within=DELIVERED_WITHIN)
            await wait_until(lambda: len(mails(mail_dir)) == 3, within=DELIVERED_WITHIN)
            third = phone.decrypt(service.received[2][2])
            assert (third["kind"], third["title"], third["url"]) == (
                "limit",
                "Portfolio limit",
                "/limits",
            )
            assert third["id"].startswith("limit:") and "daily loss limit" in third["body"]
            verify_vapid(service.received[2][1], public_key, service.origin)
            await wait_until(
                lambda: len(outbox(cluster)) == 6 and {r[2] for r in outbox(cluster)} == {"sent"}
            )
            assert len(service.received) == 3 and len(mails(mail_dir)) == 3
    finally:
        service.close()


def working_flag(cluster) -> list[bool]:
    with psycopg.connect(cluster.database_url) as db:
        return [row[0] for row in db.execute("SELECT working FROM streaming_workingorders")]


async def test_a_working_order_keeps_the_stream_watched_until_its_fill_is_pushed(tmp_path):
    """Fills are pushed only if a stream sees them: with a working order and every page
    closed, the stream runs for it alone (no alert, no limit); the order fills at the
    sandbox, one push says so, and with nothing left to watch the stream stops."""
    service = PushService()
    try:
        with running_cluster(
            tmp_path,
            DJANGO_DEBUG="true",
            STREAM_WATCH_INTERVAL=str(WATCH_EVERY),
            **ORDERS_REST_FAR,  # its buy rests below the market until the price drops to it
        ) as cluster:
            enable_demo_trading(cluster.a)
            control = cluster.sandbox.control()
            control.set_price("AAPL", 200)
            trader = Trader(cluster.b)
            phone = Device()
            subscribed = trader.post(
                "/api/push/subscriptions",
                {"endpoint": service.endpoint("phone"), "keys": phone.keys},
            )
            assert subscribed.status_code == 201, subscribed.text
            account = trader.accounts()["tastytrade"]
            ticket = trader.place(trader.order(account, price="150.00"))
            trader.wait_status(account["number"], ticket["order_id"], WORKING)
            # the owner looks at its orders every CHECK_EVERY: that, and the margin
            recorded_within = CHECK_EVERY + DELIVERED_WITHIN
            await wait_until(
                lambda: working_flag(cluster) == [True],
                within=recorded_within,
                what="working recorded",
            )
            logged_in = time.monotonic()
            trader.client.close()
            closed = time.monotonic()
            grace = float(FAST_CLUSTER["STREAM_IDLE_GRACE"])
            holds = max(logged_in + LOGIN_HOLD, closed + max(grace, POLL_TAB_TTL))
            await asyncio.sleep(holds + 2 * WATCH_EVERY - time.monotonic())
            assert cluster.lease_holder() is not None, "the stream runs for the order alone"

            control.set_price("AAPL", 140)  # the buy at 150 fills
            await wait_until(lambda: len(service.received) == 1, within=DELIVERED_WITHIN)
            said = phone.decrypt(service.received[0][2])
            assert (said["kind"], said["title"]) == ("fill", "Filled")
            assert said["id"].startswith(f"fill:{account['link']}:{ticket['order_id']}:")
            assert "AAPL" in said["body"] and account["number"] in said["body"]
            # nothing left to watch: the flag goes, the watch lets go, the stream stops
            await wait_until(
                lambda: working_flag(cluster) == [False],
                within=recorded_within,
                what="none working",
            )
            stopped_within = 2 * WATCH_EVERY + grace + DELIVERED_WITHIN
            await wait_until(lambda: cluster.lease_holder() is None, within=stopped_within)
            assert len(service.received) == 1
    finally:
        service.close()
