from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from scoreboard.services import snapshot_rebuild


class Command(BaseCommand):
    help = "Recompute the scoreboard's snapshot from the event log, in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Re-derive every delivered item's facts, not only those whose events, dates "
            "or stages changed (after a change to how a metric is computed).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = snapshot_rebuild(force=options["force"])
        self.stdout.write(self.style.SUCCESS(f"Scoreboard recomputed: {count} delivered items."))
