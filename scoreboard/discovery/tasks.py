"""Discovery's Celery task: counting a big uploaded log, with its progress on the baseline."""

from celery import shared_task

from scoreboard.discovery.models import Baseline


@shared_task(name="scoreboard.discovery.count")
def baseline_count_task(baseline_id):
    """Takes the baseline's id and re-fetches it; a second run finds it counted and does
    nothing (Baseline.count_pending)."""
    baseline = Baseline.objects.filter(pk=baseline_id).defer("discovery").first()
    return baseline.count_pending() if baseline else None
