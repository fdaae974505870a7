"""The navigation's counts on every page, in one query: unread notifications beside the bell
and the handoffs waiting for the person's teams beside Inbox."""

from django.db.models import IntegerField, Subquery

from handoffs.work.models import WorkItem
from handoffs.workflows.models import Team
from opshub.accounts.models import User
from opshub.mail.models import Notification


class _Count(Subquery):
    """COUNT(*) of a queryset as a scalar subquery."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"
    output_field = IntegerField()


def nav_counts(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    teams = Team.objects.of_user(user).values("pk")
    counts = (
        User.objects.filter(pk=user.pk)
        .values(
            # order_by(): a count needs no order (the models' default one sorted the rows).
            unread=_Count(
                Notification.objects.filter(user=user, read_at=None).order_by().values("pk")
            ),
            waiting=_Count(WorkItem.objects.waiting_for_teams(teams).order_by().values("pk")),
        )
        .first()
    ) or {"unread": 0, "waiting": 0}
    return {"unread_notifications": counts["unread"], "inbox_waiting": counts["waiting"]}
