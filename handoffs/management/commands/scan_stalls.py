from typing import Any

from django.core.management.base import BaseCommand

from handoffs.stalls.detection import run_scan
from opshub.mail.outbox import send_due


class Command(BaseCommand):
    help = "Scan for stalls once and send the due alerts, in the foreground (what beat runs)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = run_scan()
        sent, failed = send_due()
        self.stdout.write(
            f"Stalls opened {result['opened']}, resolved {result['resolved']}; "
            f"emails queued {result['emails_queued']}, sent {sent}, failed {failed}."
        )
