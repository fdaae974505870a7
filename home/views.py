"""My work: what waits for the signed-in person, across work items, decisions, stalls and the
weekly review's action items. It reads handoffs and reviews, so it stands above both
(pyproject.toml, [tool.importlinter])."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from handoffs.models import Decision, Recovery, StallEpisode, WorkItem
from handoffs.workflows.models import Team
from reviews.models import ActionItem

# A screenful per list: each list links to its full page (`make bench`: My work within 2×
# the trivial page at 100,000 items).
ROWS = 10


def my_lists(user):
    """The page's lists for `user`, each its first ROWS rows (`make bench` checks that the
    person it measures has work in them)."""
    return {
        # The person's teams as a subquery: one round trip fewer than reading their ids.
        "waiting": WorkItem.objects.waiting_for_teams(Team.objects.of_user(user).values("pk"))
        .for_list()
        .order_by("state_changed_at")[:ROWS],
        "in_progress": WorkItem.objects.filter(assignee=user, state=WorkItem.State.IN_PROGRESS)
        .for_list()
        .order_by("stage_entered_at")[:ROWS],
        "recoveries": Recovery.objects.open()
        .filter(owner=user)
        .select_related("item", "item__stage")
        .order_by("next_check_at")[:ROWS],
        "decisions": Decision.objects.awaiting(user).for_list().order_by("requested_at")[:ROWS],
        "actions": ActionItem.objects.overdue()
        .filter(owner=user)
        .select_related("review", "breakage")
        .order_by("due_date")[:ROWS],
        "stalls": StallEpisode.objects.open()
        .filter(owner=user)
        .select_related("item", "item__stage")
        .order_by("started_at")[:ROWS],
    }


@login_required
@require_safe
def my_work(request):
    context = {**my_lists(request.user), "now": timezone.now(), "nav_active": "my-work"}
    return render(request, "home/my_work.html", context)
