"""`manage.py demo_setup`: a demo trader, an admin and sandbox links (sandbox only)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import BrokerLinkError, demo_data_ensure
from streaming.links.verify import broker_link_verify


class Command(BaseCommand):
    help = (
        "Create (idempotently) the demo user, a superuser and sandbox links at tastytrade, "
        "Tradier and Alpaca. "
        "Only when BROKER_ENV=sandbox."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD", "demo-sandbox"),
            help="password for a new 'demo' user (env DEMO_PASSWORD; default demo-sandbox)",
        )
        parser.add_argument(
            "--admin-password",
            default=os.environ.get("DEMO_ADMIN_PASSWORD", "admin-sandbox"),
            help="password for a new 'admin' superuser (env DEMO_ADMIN_PASSWORD)",
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="verify the links against the running sandbox (SANDBOX_URL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.BROKER_ENV != "sandbox":
            raise CommandError(
                f"demo_setup only runs with BROKER_ENV=sandbox (it is {settings.BROKER_ENV!r})"
            )
        try:
            demo = demo_data_ensure(
                demo_password=options["password"], admin_password=options["admin_password"]
            )
        except BrokerLinkError as exc:
            raise CommandError(str(exc)) from exc

        def login(username: str, password: str, created: bool) -> str:
            if created:
                return f"{username} / {password}"
            return f"{username} (already existed; password unchanged)"

        names = ", ".join(f"“{link.label}”" for link in demo.links)
        if demo.links_created:
            self.stdout.write(f"Created links {names} for {demo.user.get_username()}.")
        else:
            self.stdout.write(f"{demo.user.get_username()} already has links: {names}.")
        if options["verify"]:
            for link in demo.links:
                link = broker_link_verify(link=link)
                if link.status == link.Status.VERIFIED:
                    numbers = ", ".join(link.account_numbers)
                    self.stdout.write(
                        self.style.SUCCESS(f"Verified {link.label}: accounts {numbers}")
                    )
                else:
                    self.stdout.write(
                        self.style.ERROR(f"{link.label}: verification failed: {link.last_error}")
                    )
        self.stdout.write("Logins (SIMULATED sandbox data):")
        self.stdout.write(
            "  trader: " + login(demo.user.get_username(), options["password"], demo.user_created)
        )
        self.stdout.write(
            "  admin:  "
            + login(demo.admin.get_username(), options["admin_password"], demo.admin_created)
        )
