"""Stall emails: who is told what and when, composed into the outbox (docs/stalls.md).

queue_due_emails: per recipient, one transaction claims each due notice with a conditional
UPDATE of the episode (alerted_at, escalated_at, last_reminded_at, resolution_notified_at)
and writes ONE outbox email carrying all of them, plus a StallNotice per episode whose
unique constraint refuses a second copy. A recipient on the daily digest gets only
escalations at once; their other notices are claimed the same way but wait
(StallNotice.delivery NULL) for the one daily digest that handoffs.notifications composes
with their in-app notifications. Sending is the outbox's (handoffs.outbox).
"""

import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import DurationField, ExpressionWrapper, F, Func, Q, Value
from django.db.models.functions import Coalesce, Least, Power
from django.urls import reverse
from django.utils import timezone

from handoffs.stalls import channels
from handoffs.stalls.models import (
    REMINDER_BACKOFF_CAP,
    WORKING_TIME_KINDS,
    StallEpisode,
    StallNotice,
)
from handoffs.workflows.models import TeamCalendar
from opshub.accounts.models import User
from opshub.lib.durations import spoken_duration
from opshub.mail import outbox
from opshub.mail import preferences as email_preferences
from opshub.mail.models import EmailDelivery

Notice = StallNotice.Kind
RESOLVED_KINDS = (Notice.RESOLVED, Notice.RESOLVED_LEAD)
# Urgent: sent at once even to people on the daily digest (docs/stalls.md).
ALWAYS_IMMEDIATE = (Notice.ESCALATION,)
BATCH = 500
# The escalation notices' recipients: the people in the episode's escalation_pending.
PENDING = "escalation_pending"
LINK_SALT = "handoffs.stall-action"
LINK_MAX_AGE = datetime.timedelta(days=14)

_WHAT = {
    StallEpisode.Kind.HANDOFF_UNACCEPTED: "waiting for acceptance",
    StallEpisode.Kind.STAGE_OVER_TARGET: "over its stage target",
    StallEpisode.Kind.RECOVERY_OVERDUE: "recovery past its check time",
    StallEpisode.Kind.DECISION_UNANSWERED: "red decision unanswered",
    StallEpisode.Kind.DUE_MISSED: "past its due date",
    StallEpisode.Kind.DUE_AT_RISK: "likely to miss its due date",
}


# --- Durations, quiet hours, tokens, links --------------------------------------------------


def is_working_time(user, now):
    """Inside the user's working hours in their time zone; always, when they set none."""
    if user.work_starts is None or user.work_ends is None:
        return True
    zone = user.zone
    local = now.astimezone(zone).time()
    starts, ends = user.work_starts, user.work_ends
    if starts <= ends:
        return starts <= local < ends
    return local >= starts or local < ends  # a night shift crosses midnight


def action_token(episode, user):
    return signing.dumps({"e": episode.pk, "u": user.pk}, salt=LINK_SALT, compress=True)


def user_from_token(token, episode):
    """The user a signed email link was made for, or None when it is forged, expired or not
    for this episode."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    if data.get("e") != episode.pk:
        return None
    return User.objects.filter(pk=data.get("u"), is_active=True).first()


# --- What is due --------------------------------------------------------------------------------


def _due(now):
    """Querysets of due notices by kind, each with the field naming its recipient."""
    interval = datetime.timedelta(hours=settings.OPSHUB_REMINDER_INTERVAL_HOURS)
    open_ = StallEpisode.objects.open()
    return {
        Notice.ALERT: (
            open_.filter(alerted_at=None, acknowledged_at=None).filter(
                Q(snoozed_until=None) | Q(snoozed_until__lte=now)
            ),
            "owner",
        ),
        # Set by the policy step (handoffs.stalls.escalation): one or more people each.
        Notice.ESCALATION: (
            open_.filter(escalation_pending__len__gt=0).quiet_until_now(now),
            PENDING,
        ),
        Notice.REMINDER: (
            open_.filter(alerted_at__isnull=False)
            .quiet_until_now(now)
            .alias(
                reminded=Coalesce("last_reminded_at", "alerted_at"),
                # 1×, 2×, 4× the interval, capped: a stall nobody moves stops shouting.
                wait=ExpressionWrapper(
                    Value(interval)
                    * Least(Power(2, F("reminder_count")), Value(REMINDER_BACKOFF_CAP)),
                    output_field=DurationField(),
                ),
            )
            # The backoff's wait is at least one interval: said as a bound of its own, it
            # lets the stall_reminder_due index skip the stalls reminded lately (with
            # 100,000 open the pass read them all, `make bench`).
            .filter(reminded__lte=now - interval)
            .filter(reminded__lte=Value(now) - F("wait")),
            "owner",
        ),
        Notice.RESOLVED: (
            StallEpisode.objects.filter(
                resolved_at__isnull=False, alerted_at__isnull=False, resolution_notified_at=None
            ),
            "owner",
        ),
        # The lead who was escalated to hears once that it is over (unless they own it).
        Notice.RESOLVED_LEAD: (
            StallEpisode.objects.filter(
                resolved_at__isnull=False,
                escalated_at__isnull=False,
                lead_resolution_notified_at=None,
            ).exclude(escalate_to=F("owner")),
            "escalate_to",
        ),
    }


def _claim(kind, episode, now, user):
    """The conditional UPDATE that makes exactly one scanner the sender of this notice."""
    rows = StallEpisode.objects.filter(pk=episode.pk)
    if kind == Notice.ALERT:
        return rows.filter(resolved_at=None, alerted_at=None).update(alerted_at=now) == 1
    if kind == Notice.ESCALATION:
        # Out of the pending people, at the step this scan read (a later step numbers its
        # own notices).
        return (
            rows.filter(
                resolved_at=None,
                escalation_step=episode.escalation_step,
                escalation_pending__contains=[user.pk],
            ).update(
                escalation_pending=Func(
                    F("escalation_pending"), Value(user.pk), function="array_remove"
                ),
                escalated_at=Coalesce("escalated_at", Value(now)),
            )
            == 1
        )
    if kind == Notice.REMINDER:
        return (
            rows.filter(resolved_at=None, last_reminded_at=episode.last_reminded_at).update(
                last_reminded_at=now, reminder_count=F("reminder_count") + 1
            )
            == 1
        )
    if kind == Notice.RESOLVED_LEAD:
        return (
            rows.filter(lead_resolution_notified_at=None).update(lead_resolution_notified_at=now)
            == 1
        )
    # A lead who owns the stall gets one resolved notice, not a second one as the lead.
    as_lead = (
        {"lead_resolution_notified_at": now} if episode.escalate_to_id == episode.owner_id else {}
    )
    return (
        rows.filter(resolution_notified_at=None).update(resolution_notified_at=now, **as_lead) == 1
    )


def queue_due_emails(*, now=None):
    """Queues one email per recipient who is due anything and inside working hours.

    Returns how many emails were queued. Recipients in quiet hours are skipped: their
    episodes stay unclaimed, so the next scan inside working hours picks them up. For a
    recipient on the daily digest, everything but escalations is claimed into their digest
    (quiet hours do not matter: nothing is sent until the digest).
    """
    now = now or timezone.now()
    due = _due(now)
    recipient_ids = set()
    for qs, field in due.values():
        recipient_ids.update(_recipients(qs, field))
    people = list(User.objects.filter(pk__in=recipient_ids, is_active=True).exclude(email=""))
    if not people:
        return 0
    by_user = {user.pk: [] for user in people}
    for kind, (qs, field) in due.items():
        episodes = (
            qs.filter(_to_any(field, list(by_user)))
            .select_related("item", "item__workflow", "item__stage", "owner")
            .order_by("pk")[:BATCH]
        )
        for episode in episodes:
            for person in _people(episode, field):
                if person in by_user:
                    by_user[person].append((kind, episode))
    queued = 0
    for user in people:
        notices = _deliverable(user, by_user[user.pk], now)
        if notices and _queue_for(user, notices, now):
            queued += 1
    return queued


def _recipients(qs, field):
    if field == PENDING:
        people = qs.annotate(person=Func(F(PENDING), function="unnest")).values_list("person")
        return {pk for (pk,) in people.order_by().distinct()[:BATCH]}
    return set(
        qs.filter(**{f"{field}__isnull": False})
        .order_by()
        .values_list(f"{field}_id", flat=True)
        .distinct()[:BATCH]
    )


def _to_any(field, people):
    return (
        Q(escalation_pending__overlap=people) if field == PENDING else Q(**{f"{field}__in": people})
    )


def _people(episode, field):
    return episode.escalation_pending if field == PENDING else [getattr(episode, f"{field}_id")]


def _deliverable(user, notices, now):
    """[(kind, episode, goes_to_digest)] that may be claimed for `user` now."""
    digest = user.email_delivery == User.Delivery.DIGEST
    awake = is_working_time(user, now)
    result = []
    for kind, episode in notices:
        to_digest = digest and kind not in ALWAYS_IMMEDIATE
        if to_digest or awake:
            result.append((kind, episode, to_digest))
    return result


@transaction.atomic
def _queue_for(user, notices, now):
    """Claims the notices; writes the email for the immediate ones, parks the digest ones.

    Returns the outbox email, or None when nothing immediate was claimed.
    """
    # Claim in primary-key order so two scanners lock rows in the same order (no deadlock).
    notices = sorted(notices, key=lambda triple: (triple[1].pk, triple[0]))
    claimed = [notice for notice in notices if _claim(notice[0], notice[1], now, user)]
    parked = [(kind, episode) for kind, episode, to_digest in claimed if to_digest]
    StallNotice.objects.bulk_create(
        StallNotice(
            episode=episode,
            recipient=user,
            kind=kind,
            sequence=_sequence(kind, episode),
            created_at=now,
        )
        for kind, episode in parked
    )
    claimed = [(kind, episode) for kind, episode, to_digest in claimed if not to_digest]
    if not claimed:
        return None
    delivery = outbox.enqueue(
        to=user,
        kind=EmailDelivery.Kind.STALL,
        template="handoffs/email/stall_alert",
        now=now,
        **compose(user, claimed, now),
    )
    StallNotice.objects.bulk_create(
        StallNotice(
            episode=episode,
            delivery=delivery,
            recipient=user,
            kind=kind,
            sequence=_sequence(kind, episode),
            created_at=now,
        )
        for kind, episode in claimed
    )
    channels.enqueue_stall_notices(
        user=user, entries=[_entry(user, kind, episode, now) for kind, episode in claimed], now=now
    )
    return delivery


def _sequence(kind, episode):
    if kind == Notice.ESCALATION:
        return episode.escalation_step
    if kind != Notice.REMINDER:
        return 0
    # The episode row is locked by the claim, so this count cannot race.
    return StallNotice.objects.filter(episode=episode, kind=Notice.REMINDER).count() + 1


# --- Composition --------------------------------------------------------------------------------


def _entry(user, kind, episode, now):
    end = episode.resolved_at or now
    item = episode.item
    detail = reverse("handoffs:stall-detail", args=[episode.pk])
    token = action_token(episode, user)
    return {
        "kind": kind,
        "resolved": kind in RESOLVED_KINDS,
        "episode": episode,
        "title": item.title,
        "workflow": item.workflow.name,
        "stage": item.stage.name,
        "what": _WHAT[episode.kind],
        "waited": spoken_duration(end - episode.started_at),
        "target": spoken_duration(episode.target),
        "target_source": episode.target_source,
        "over_by": _over_by(episode, end),
        "owner": str(episode.owner) if episode.owner_id else "nobody",
        "item_url": outbox.absolute_url(item.get_absolute_url()),
        "ack_url": outbox.absolute_url(f"{detail}?t={token}#acknowledge"),
        "snooze_url": outbox.absolute_url(f"{detail}?t={token}#snooze"),
    }


def _over_by(episode, end):
    """How far past the target: in the team's working time where the target counts it
    (docs/calendars.md), else on the clock."""
    over = end - episode.stalled_since
    if episode.kind in WORKING_TIME_KINDS:
        calendar = TeamCalendar.objects.filter(team_id=episode.item.stage.team_id).first()
        if calendar is not None:
            seconds = calendar.as_work_calendar().working_seconds(episode.stalled_since, end)
            return f"{spoken_duration(datetime.timedelta(seconds=max(0, seconds)))} of working time"
    return spoken_duration(over)


_DUE_KINDS = (StallEpisode.Kind.DUE_MISSED, StallEpisode.Kind.DUE_AT_RISK)


def _due_subject(entry, title):
    """A promised date has no target to be over: the subject names the date instead."""
    episode = entry["episode"]
    due = episode.due_date or episode.item.due_date
    when = f"due {due:%a} {due.day} {due:%b %Y}" if due else "its due date"
    return {
        Notice.ALERT: f"{title} — {entry['what']} ({when})",
        Notice.ESCALATION: f"Escalation: {title} — {entry['what']} ({when}, owner "
        f"{entry['owner']})",
        Notice.REMINDER: f"Reminder: {title} — {entry['what']} ({when})",
    }.get(entry["kind"])


def _subject(entries):
    first = entries[0]
    title = first["title"][:80]
    if len(entries) == 1 and first["episode"].kind in _DUE_KINDS:
        subject = _due_subject(first, title)
        if subject:
            return subject
    if len(entries) == 1:
        return {
            Notice.ALERT: f"Stalled {first['waited']}: {title} — {first['what']} "
            f"(target {first['target']})",
            Notice.ESCALATION: f"Escalation: {title} stalled {first['waited']} — "
            f"{first['what']} (target {first['target']}, owner {first['owner']})",
            Notice.REMINDER: f"Still stalled {first['waited']}: {title} — {first['what']} "
            f"(target {first['target']})",
            Notice.RESOLVED: f"Resolved: {title} is moving again after {first['waited']}",
            Notice.RESOLVED_LEAD: f"Resolved: {title} is moving again after {first['waited']}",
        }[first["kind"]]
    open_ = [entry for entry in entries if not entry["resolved"]]
    if not open_:
        return f"Resolved: {len(entries)} stalled work items are moving again"
    # Ties (several stalls starting in one scan) go to the oldest item, so subjects are stable.
    worst = min(open_, key=lambda entry: (entry["episode"].started_at, entry["episode"].item_id))
    others = len(open_) - 1
    more = f" and {others} more" if others else ""
    return f"{len(open_)} stalled work items: {worst['title'][:60]} ({worst['waited']}){more}"


_SECTIONS = (
    ((Notice.ESCALATION,), "Escalated to you"),
    ((Notice.ALERT,), "Newly stalled"),
    ((Notice.REMINDER,), "Still stalled"),
    (RESOLVED_KINDS, "Resolved"),
)


def sections(entries):
    """[(label, entries)] in the order an email shows them, empty sections left out."""
    grouped = [
        (label, [entry for entry in entries if entry["kind"] in kinds])
        for kinds, label in _SECTIONS
    ]
    return [(label, group) for label, group in grouped if group]


def digest_entries(user, notices, now):
    """Entries for the daily digest: one per episode, the latest news (a resolution beats
    the alert or reminder that came before it)."""
    rank = {Notice.ALERT: 0, Notice.REMINDER: 1, Notice.RESOLVED: 2, Notice.RESOLVED_LEAD: 2}
    latest = {}
    for notice in notices:
        kept = latest.get(notice.episode_id)
        if kept is None or rank.get(notice.kind, 0) >= rank.get(kept.kind, 0):
            latest[notice.episode_id] = notice
    ordered = sorted(latest.values(), key=lambda n: (n.episode.started_at, n.episode_id))
    return [_entry(user, notice.kind, notice.episode, now) for notice in ordered]


def compose(user, claimed, now):
    """{subject, context} of one email telling `user` about several episodes."""
    entries = [_entry(user, kind, episode, now) for kind, episode in claimed]
    delivery = email_preferences.other_delivery(user)
    subject = _subject(entries)
    return {
        "subject": subject,
        "context": {
            "subject": subject,
            "sections": sections(entries),
            "stalls_url": outbox.absolute_url(reverse("handoffs:stall-list")),
            "reminder_hours": settings.OPSHUB_REMINDER_INTERVAL_HOURS,
            "switch_to": delivery,
            "switch_url": email_preferences.switch_url(user, delivery),
        },
    }


@transaction.atomic
def queue_test_alert(user):
    """ "Send me a test alert now", from the scheduler page: the real outbox and sender path."""
    now = timezone.now()
    return outbox.enqueue(
        to=user,
        kind=EmailDelivery.Kind.TEST,
        subject="Test alert from opshub: stall emails reach you",
        template="handoffs/email/stall_test",
        context={"now": now, "scheduler_url": outbox.absolute_url(reverse("handoffs:scheduler"))},
        now=now,
    )
