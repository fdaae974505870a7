from django.core.management.base import BaseCommand

from handoffs.mail.outbox import send_due
from handoffs.stalls.detection import run_scan


class Command(BaseCommand):
    help = "Scan for stalls once and send the due alerts, in the foreground (what beat runs)."

    def handle(self, *args, **options):
        result = run_scan()
        sent, failed = send_due()
        self.stdout.write(
            f"Stalls opened {result['opened']}, resolved {result['resolved']}; "
            f"emails queued {result['emails_queued']}, sent {sent}, failed {failed}."
        )
