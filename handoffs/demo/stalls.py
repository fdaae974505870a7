"""Demo stalls for seed_demo: the real scan over the seeded items, then a few responses."""

import datetime

from django.utils import timezone

from handoffs.stalls.detection import open_episodes
from handoffs.stalls.models import StallEpisode


def seed_stalls(ctx):
    """Opens episodes for the stuck demo items, as the scan would, in the states leads see.

    Every seeded episode counts as already alerted (the demo must not mail its whole
    history on the first scan); new stalls after loading still alert as usual.
    """
    now = timezone.now()
    open_episodes(now=now)
    episodes = list(StallEpisode.objects.open().order_by("started_at", "pk"))
    for n, episode in enumerate(episodes):
        episode.alerted_at = episode.stalled_since
        episode.last_reminded_at = now - datetime.timedelta(hours=1)
        if now - episode.started_at >= episode.escalation_delay:
            episode.escalated_at = episode.started_at + episode.escalation_delay
            episode.escalation_level = 1  # the default policy's lead (the scan settles it)
        if n % 4 == 1 and episode.owner_id:
            episode.acknowledged_at = now - datetime.timedelta(hours=2)
            episode.acknowledged_by_id = episode.owner_id
        elif n % 4 == 2:
            episode.snoozed_until = now + datetime.timedelta(days=1)
            episode.snooze_reason = "Customer is on holiday until tomorrow."
    StallEpisode.objects.bulk_update(
        episodes,
        [
            "alerted_at",
            "last_reminded_at",
            "escalated_at",
            "escalation_level",
            "acknowledged_at",
            "acknowledged_by",
            "snoozed_until",
            "snooze_reason",
        ],
    )
    ctx["stalls"] = len(episodes)
