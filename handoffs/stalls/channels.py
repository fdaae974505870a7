"""Chat and push channels: stall notices posted to Slack, Teams, Mattermost… through Apprise.

`enqueue_stall_notices` runs inside the stall alert transaction (handoffs.alerts), so a
notice is written to a channel exactly when its email is: both commit or neither. The
unique (channel, key) constraint writes each notice once per channel although the same
stall may be in the owner's and the lead's email. `send_due` posts what is due, claiming
each row with a lease as the email outbox does (handoffs.outbox): two workers never post
a row at the same time; a worker killed between the post and the mark leaves the lease to
expire and the row is posted again (at-least-once, like email: a lost escalation is worse
than a rare duplicate). A refused target (a private address, an unsupported URL) is never
retried; a failing service is retried with backoff: 1, 2, 4 … minutes, capped at an hour.
"""

import datetime
import logging

from celery import signature
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from handoffs.stalls.models import ChannelDelivery, NotificationChannel, StallNotice
from opshub.lib import chat
from opshub.lib.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

Event = NotificationChannel.Event
Status = ChannelDelivery.Status
BATCH = 200
# The Celery task that posts the due rows (handoffs/stalls/tasks.py; its name is pinned).
SEND_TASK = "handoffs.tasks.send_channel_deliveries_task"
SEND_LEASE = datetime.timedelta(minutes=2)
BACKOFF_CAP = datetime.timedelta(hours=1)

_EVENT_OF = {
    StallNotice.Kind.ALERT: Event.STALL_ALERT,
    StallNotice.Kind.REMINDER: Event.STALL_ALERT,
    StallNotice.Kind.RESOLVED: Event.STALL_ALERT,
    StallNotice.Kind.RESOLVED_LEAD: Event.STALL_ALERT,
    StallNotice.Kind.ESCALATION: Event.STALL_ESCALATION,
}


_RESOLVED = (StallNotice.Kind.RESOLVED, StallNotice.Kind.RESOLVED_LEAD)


def enqueue_stall_notices(*, user, entries, now):
    """Writes the stall notices of one email (alerts.compose's entries) to the person's own
    channels and to the channels of the items' teams. Call inside the claiming transaction."""
    rows = []
    personal = list(NotificationChannel.objects.filter(user=user, is_active=True))
    team_ids = {entry["episode"].item.stage.team_id for entry in entries}
    by_team = {}
    for channel in NotificationChannel.objects.filter(team__in=team_ids, is_active=True):
        by_team.setdefault(channel.team_id, []).append(channel)
    for entry in entries:
        event = _EVENT_OF[entry["kind"]]
        episode = entry["episode"]
        # One post per channel and notice: both resolved notices (owner's, lead's) are one
        # resolution; each reminder is its own (the episode's claim makes it one per scan).
        kind = "resolved" if entry["kind"] in _RESOLVED else entry["kind"]
        when = f":{now:%Y%m%d%H%M%S}" if entry["kind"] == StallNotice.Kind.REMINDER else ""
        if entry["kind"] == StallNotice.Kind.ESCALATION and episode.escalation_step > 1:
            # A later level, or the last one repeating: its own post.
            when = f":{episode.escalation_step}"
        key = f"stall:{episode.pk}:{kind}{when}"
        title = f"{entry['kind'].label}: {entry['title'][:120]} — {entry['what']}"
        for channel in personal:
            if event in channel.events:
                rows.append(_row(channel, f"{key}:u{user.pk}", title, _body(entry, ack=True), now))
        for channel in by_team.get(episode.item.stage.team_id, []):
            if event in channel.events:
                rows.append(_row(channel, key, title, _body(entry, ack=False), now))
    if rows:
        ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        enqueue_on_commit(_send_task())
    return len(rows)


def enqueue_personal(*, user, event, key, title, body, now):
    """One notice to each of `user`'s own channels that subscribe to `event`, written in the
    caller's transaction; the key makes a second write of the same notice a no-op."""
    rows = [
        _row(channel, f"{key}:u{user.pk}", title, body, now)
        for channel in NotificationChannel.objects.filter(user=user, is_active=True)
        if event in channel.events
    ]
    if rows:
        ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        enqueue_on_commit(_send_task())
    return len(rows)


def enqueue(*, posts, now):
    """Writes [(channel, key, title, body)] in the caller's transaction, each once (a second
    write of the same key to the same channel is a no-op), posted after the commit."""
    rows = [_row(channel, key, title, body, now) for channel, key, title, body in posts]
    if rows:
        ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        enqueue_on_commit(_send_task())
    return len(rows)


def _row(channel, key, title, body, now):
    return ChannelDelivery(
        channel=channel,
        key=key[:200],
        title=title[:250],
        body=body,
        created_at=now,
        next_attempt_at=now,
    )


def _body(entry, *, ack):
    """Plain text: the same facts and links as the email. A person's own channel gets the
    signed acknowledge/snooze links made for them; a team channel links to the item."""
    lines = [
        f"Waiting {entry['waited']} against a target of {entry['target']}; owner {entry['owner']}.",
        f"Open it: {entry['item_url']}",
    ]
    if ack:
        lines.append(f"Acknowledge: {entry['ack_url']}")
        lines.append(f"Snooze: {entry['snooze_url']}")
    return "\n".join(lines)


def _send_task():
    # Named by string, as the email outbox's task is: the tasks module imports this one.
    return signature(SEND_TASK)


def send_due(*, now=None, limit=BATCH):
    """Posts every due row this worker manages to claim. Returns (sent, failed)."""
    now = now or timezone.now()
    due = (
        ChannelDelivery.objects.filter(
            status__in=[Status.PENDING, Status.SENDING], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = failed = 0
    for pk in list(due):
        outcome = send_one(pk, now=now)
        sent += outcome is True
        failed += outcome is False
    return sent, failed


def send_one(pk, *, now=None):
    """True when posted, False when it failed or was refused, None when not ours."""
    now = now or timezone.now()
    claimed = ChannelDelivery.objects.filter(
        pk=pk, status__in=[Status.PENDING, Status.SENDING], next_attempt_at__lte=now
    ).update(status=Status.SENDING, next_attempt_at=now + SEND_LEASE, attempts=F("attempts") + 1)
    if claimed != 1:
        return None
    delivery = ChannelDelivery.objects.select_related("channel").get(pk=pk)
    try:
        chat.send(delivery.channel.url, title=delivery.title, body=delivery.body)
    except chat.ChannelError as exc:
        _finish(pk, status=Status.REFUSED, last_error=str(exc)[:2000])
        return False
    except chat.DeliveryFailed as exc:
        retry = min(datetime.timedelta(minutes=2 ** (delivery.attempts - 1)), BACKOFF_CAP)
        _finish(pk, status=Status.PENDING, next_attempt_at=now + retry, last_error=str(exc)[:2000])
        logger.warning("channel delivery failed; will retry", extra={"delivery": pk})
        return False
    _finish(pk, status=Status.SENT, sent_at=timezone.now(), last_error="")
    return True


def _finish(pk, **fields):
    ChannelDelivery.objects.filter(pk=pk, status=Status.SENDING).update(**fields)


# --- Managing channels: the one path of the pages and /api/v1/notification-channels/ ------------

MANAGERS_ONLY = "Only the person, the team's lead or an admin manages this channel."
# What each kind of channel can hear: a handoff waits for a team, an action item is a person's.
TEAM_EVENTS = [e for e in Event if e != Event.ACTION_REMINDER]
PERSONAL_EVENTS = [e for e in Event if e != Event.HANDOFF_WAITING]


def may_manage(user, *, team=None, person=None):
    """A person manages their own channels; a team's are its lead's; an admin's are all."""
    if not user.is_authenticated or not user.can_write:
        return False
    if user.is_admin:
        return True
    if team is not None:
        return team.lead_id == user.pk
    return person is not None and person.pk == user.pk


def clean_url(url):
    """The stripped Apprise URL, or ValidationError on `url` saying why opshub will not send
    to it (an unsupported service, a malformed URL, a private address)."""
    url = (url or "").strip()
    try:
        chat.check_url(url)
    except chat.ChannelError as exc:
        raise ValidationError({"url": str(exc)}) from None
    return url


# Why a channel of that kind cannot hear an event (the pages offer only the others).
_NOT_FOR = {
    "team": (Event.ACTION_REMINDER, "Action items are a person's: subscribe a personal channel."),
    "person": (Event.HANDOFF_WAITING, "A handoff waits for a team: subscribe a team channel."),
}


def clean_events(events, *, personal=None):
    """The events without repeats; ValidationError on `events` for none, an unknown one, or
    one this kind of channel cannot hear (`personal`: True for a person's, False for a
    team's, None when not known yet)."""
    events = list(dict.fromkeys(events or []))
    if not events:
        raise ValidationError({"events": "Pick at least one event to post."})
    unknown = [event for event in events if event not in Event.values]
    if unknown:
        raise ValidationError({"events": f"Unknown event: {unknown[0]}."})
    if personal is not None:
        refused, why = _NOT_FOR["person" if personal else "team"]
        if refused in events:
            raise ValidationError({"events": f"{Event(refused).label}: {why}"})
    return events


@transaction.atomic
def channel_create(*, by, name, url, events, team=None, user=None, is_active=True):
    """A new channel of `team` or of `user`. PermissionDenied when `by` may not manage it;
    ValidationError per field otherwise, and nothing is written."""
    if (team is None) == (user is None):
        raise ValidationError({"team": "Name either a team or a user, not both."})
    if not may_manage(by, team=team, person=user):
        raise PermissionDenied(MANAGERS_ONLY)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the channel a name, e.g. #fulfilment or My phone."})
    return NotificationChannel.objects.create(
        team=team,
        user=user,
        name=name[:100],
        url=clean_url(url),
        events=clean_events(events, personal=user is not None),
        is_active=is_active,
        created_by=by,
    )


def channel_delete(*, channel, by):
    if not may_manage(by, team=channel.team, person=channel.user):
        raise PermissionDenied(MANAGERS_ONLY)
    channel.delete()


@transaction.atomic
def send_test(channel, *, by):
    """The "send test" button: one notice through the same outbox, posted after the commit."""
    now = timezone.now()
    delivery = ChannelDelivery.objects.create(
        channel=channel,
        key=f"test:{now.timestamp()}:{by.pk}",
        title="Test from opshub: this channel reaches you",
        body=f"Sent by {by} at {now:%Y-%m-%d %H:%M} UTC.",
        created_at=now,
        next_attempt_at=now,
    )
    enqueue_on_commit(_send_task(), delivery.pk)
    return delivery


def recent(limit=15):
    """The scheduler page: the latest channel deliveries, failures first among the unsent."""
    return list(
        ChannelDelivery.objects.select_related("channel").order_by("-created_at", "-pk")[:limit]
    )


def overdue_count(now):
    return ChannelDelivery.objects.filter(
        Q(status__in=[Status.PENDING, Status.SENDING]),
        next_attempt_at__lte=now - datetime.timedelta(minutes=5),
    ).count()
