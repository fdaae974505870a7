"""Action-item reminders: two days before the due date, then weekly while overdue.

Each owner gets one email per scan listing everything of theirs that is due soon or
overdue, never one email per action. The claim is an ActionReminder row per (action,
kind, period), unique in the database: two workers or two beats running the scan at once
insert the same rows, PostgreSQL lets one insert win and makes the other wait and skip,
and the email is queued in the winner's transaction. So each reminder is queued once
(at-most-once: a rolled-back claim queues nothing and the next scan tries again), and
the outbox sends it at least once (opshub/mail/outbox.py). Owners' personal chat channels
that subscribe to action reminders get the same text through the channel outbox.
"""

import datetime

from django.db import connection, transaction
from django.db.models import Case, DateField, Exists, F, Func, OuterRef, Value, When
from django.utils import timezone

from handoffs.models import EmailDelivery, NotificationChannel
from handoffs.stalls import channels
from opshub.mail import outbox
from reviews.models import ActionItem, ActionReminder

REMIND_BEFORE = datetime.timedelta(days=2)
OVERDUE_EVERY_DAYS = 7
BATCH = 500


class _OverdueWeekStart(Func):
    """The first day of the current overdue week of a due date on `today`: the day after
    the due date, then every seven days (date - date is a whole number of days)."""

    output_field = DateField()

    def as_sql(self, compiler, connection):
        (due, due_params), (today, today_params) = (
            compiler.compile(expr) for expr in self.get_source_expressions()
        )
        sql = f"({due} + 1 + (({today}::date - {due} - 1) / 7) * 7)"
        return sql, [*due_params, *today_params, *due_params]


def due_reminders(today):
    """Open actions of active owners that are due within REMIND_BEFORE or overdue and have
    no reminder for their current period yet (on the action_open_due partial index)."""
    sent = ActionReminder.objects.filter(
        action=OuterRef("pk"), kind=OuterRef("reminder_kind"), period=OuterRef("reminder_period")
    )
    return (
        ActionItem.objects.open()
        .filter(due_date__lte=today + REMIND_BEFORE, owner__is_active=True)
        .exclude(owner__email="")
        .annotate(
            reminder_kind=Case(
                When(due_date__lt=today, then=Value(ActionReminder.Kind.OVERDUE)),
                default=Value(ActionReminder.Kind.DUE_SOON),
            ),
            reminder_period=Case(
                When(due_date__lt=today, then=_OverdueWeekStart(F("due_date"), Value(today))),
                default=F("due_date"),
            ),
        )
        .exclude(Exists(sent))
        .select_related("owner", "review", "breakage")
        .order_by("owner_id", "due_date", "pk")
    )


def send_action_reminders(*, today=None, limit=BATCH):
    """Queues one email per owner with due reminders; returns how many emails were queued."""
    today = today or timezone.localdate()
    by_owner = {}
    for action in due_reminders(today)[:limit]:
        by_owner.setdefault(action.owner_id, []).append(action)
    return sum(_remind_owner(actions, today=today) for actions in by_owner.values())


@transaction.atomic
def _remind_owner(actions, *, today):
    claimed = _claim(actions)
    actions = [action for action in actions if action.pk in claimed]
    if not actions:
        return 0
    owner = actions[0].owner
    overdue = [a for a in actions if a.reminder_kind == ActionReminder.Kind.OVERDUE]
    due_soon = [a for a in actions if a.reminder_kind == ActionReminder.Kind.DUE_SOON]
    parts = []
    if overdue:
        parts.append(f"{len(overdue)} overdue")
    if due_soon:
        parts.append(f"{len(due_soon)} due soon")
    subject = "Your action items: " + ", ".join(parts)
    context = {"overdue": overdue, "due_soon": due_soon, "today": today}
    email = outbox.enqueue(
        to=owner,
        kind=EmailDelivery.Kind.NOTIFICATION,
        subject=subject,
        template="reviews/email/action_reminder",
        context=context,
        html=False,
    )
    # The same text to the owner's own chat channels that ask for action reminders.
    channels.enqueue_personal(
        user=owner,
        event=NotificationChannel.Event.ACTION_REMINDER,
        key=f"action-reminder:{today.isoformat()}",
        title=subject,
        body=email.body_text,
        now=timezone.now(),
    )
    return 1


def _claim(actions):
    """Inserts the reminder rows; returns the ids of the actions whose row this call wrote.
    A row another transaction holds uncommitted makes this wait for it, then skip it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reviews_actionreminder (action_id, kind, period, sent_at)"
            " SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::date[], %s::timestamptz[])"
            " ON CONFLICT ON CONSTRAINT action_reminder_once DO NOTHING RETURNING action_id",
            [
                [a.pk for a in actions],
                [a.reminder_kind for a in actions],
                [a.reminder_period for a in actions],
                [timezone.now()] * len(actions),
            ],
        )
        return {row[0] for row in cursor.fetchall()}


def overdue_for_leads(today=None):
    """Every open, overdue action item, oldest due date first (the leads' overdue list)."""
    return ActionItem.objects.overdue(today).for_list().order_by("due_date", "owner_id", "pk")
