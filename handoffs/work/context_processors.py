"""The navigation's counts on every page, in one query: unread notifications beside the bell
and the handoffs waiting for the person's teams beside Inbox."""

from functools import cache

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
    """The counts as callables the template calls when it shows the navigation: an htmx
    fragment (the item page's forecast, a panel) renders no navigation and so asks nothing
    (the query was a third of the forecast fragment's database time at 100,000 items)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def counts():
        teams = Team.objects.of_user(user).values("pk")
        return (
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

    return {
        "unread_notifications": lambda: counts()["unread"],
        "inbox_waiting": lambda: counts()["waiting"],
    }
