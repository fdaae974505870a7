from django.core.management.base import BaseCommand

from scoreboard.services import snapshot_rebuild


class Command(BaseCommand):
    help = "Recompute the scoreboard's snapshot from the event log, in the foreground."

    def handle(self, *args, **options):
        count = snapshot_rebuild()
        self.stdout.write(self.style.SUCCESS(f"Scoreboard recomputed: {count} delivered items."))
