import importlib
import random
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from handoffs.demo.items import seed_fresh_stall
from opshub.accounts.models import User

# Each app contributes one step; a step takes (ctx) and adds what later steps need to ctx.
# Order matters: organisation, then workflows, then items and what happens to them.
DEMO_STEPS = [
    "handoffs.demo.organisation.seed_org",
    "handoffs.demo.organisation.seed_calendars",
    "handoffs.demo.organisation.seed_workflows",
    "handoffs.demo.items.seed_items",
    "handoffs.demo.scale.seed_analyze",
    "handoffs.demo.decisions.seed_decisions",
    "handoffs.demo.stalls.seed_stalls",
    "handoffs.demo.integrations.seed_integrations",
    "reviews.demo.seed_reviews",
    "scoreboard.demo.seed_scoreboard",
]


class Command(BaseCommand):
    help = "Load a realistic, deterministic demo organisation (refuses with DEBUG off)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=400, help="Work items to create.")
        parser.add_argument("--days", type=int, default=120, help="Days of history.")
        parser.add_argument("--seed", type=int, default=7, help="Random seed.")
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when users already exist."
        )
        parser.add_argument(
            "--calendars",
            action="store_true",
            help=(
                "Give every team a working calendar (time zone, Monday–Friday hours, public "
                "holidays), so stall targets count working time (docs/calendars.md)."
            ),
        )
        parser.add_argument(
            "--fresh-stall",
            action="store_true",
            help=(
                "Also hand an order to Fulfilment just past its acceptance target, so the next "
                "stall scan emails its alert; on loaded demo data, add only that order."
            ),
        )

    def handle(
        self,
        *args: Any,
        items: int,
        days: int,
        seed: int,
        force: bool,
        if_empty: bool,
        fresh_stall: bool,
        calendars: bool,
        **options: Any,
    ) -> None:
        if not (settings.DEBUG or settings.TESTING or force):
            raise CommandError("Refusing to load demo data with DEBUG off; pass --force.")
        if items < 0 or days < 1:
            raise CommandError("--items must be >= 0 and --days >= 1.")
        if if_empty and User.objects.exists():
            self.stdout.write("Database already has users; demo data not loaded.")
            return
        if User.objects.filter(email="admin@example.com").exists():
            if fresh_stall:
                self._fresh_stall()
                return
            raise CommandError("Demo data is already loaded (admin@example.com exists).")
        ctx = {
            "rng": random.Random(seed),
            "items": items,
            "days": days,
            "calendars": calendars,
            "password": settings.OPSHUB_DEMO_PASSWORD,
            "stdout": self.stdout,
        }
        with transaction.atomic():
            for dotted in DEMO_STEPS:
                module, name = dotted.rsplit(".", 1)
                getattr(importlib.import_module(module), name)(ctx)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded. Users (password: {ctx['password']}):")
        )
        for user in User.objects.order_by("role", "email"):
            self.stdout.write(f"  {user.email:32} {user.get_role_display():8} {user.full_name}")
        if fresh_stall:
            self._fresh_stall()

    def _fresh_stall(self) -> None:
        with transaction.atomic():
            item = seed_fresh_stall()
        if item is None:
            raise CommandError("No demo workflow 'Order to delivery' to stall an order in.")
        self.stdout.write(
            f"Fresh stall: '{item.title}' waits for {item.assignee.full_name} "
            f"({item.assignee.email}); the next stall scan (each minute under make run, "
            "or manage.py scan_stalls) emails the alert."
        )
