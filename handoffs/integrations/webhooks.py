"""Outbound webhooks: events from the append-only log, signed and POSTed to subscribers.

The outbox is derived from the event log, not from hooks in every service: a sweep
turns new events of the subscribed kinds into WebhookDelivery rows (INSERT … ON CONFLICT
DO NOTHING on (subscription, event)), so nothing is lost when Redis or a worker was down,
and two sweeps at once create each row once.

Each sweep re-reads the last OVERLAP event ids before its cursor: ids are handed out at
INSERT but become visible at COMMIT, so an event from a slow transaction can appear
behind the cursor. The NOT EXISTS filter keeps the re-read cheap.

Sending is at-least-once: a row is claimed by a conditional UPDATE with a lease; a worker
that dies mid-POST lets the lease expire and another worker sends again. Receivers
deduplicate on X-Opshub-Event-Id, which is the same on every attempt.
"""

import datetime
import json
import time

from celery import signature
from django.conf import settings
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Greatest
from django.utils import timezone

from handoffs.integrations.models import WebhookDelivery, WebhookSubscription
from handoffs.work.models import Event
from opshub.accounts.models import AuditEntry
from opshub.lib import netguard
from opshub.lib.signing import new_secret, sign
from opshub.lib.tasks import enqueue_on_commit

OVERLAP = 1000
SWEEP_BATCH = 500
SEND_BATCH = 50
MAX_ATTEMPTS = 8
BACKOFF_BASE = datetime.timedelta(seconds=30)
BACKOFF_CAP = datetime.timedelta(hours=6)
LEASE = datetime.timedelta(seconds=60)
TIMEOUT_SECONDS = 10

# Named, not imported: the task module imports this one (integrations/tasks.py).
DELIVER_TASK = "handoffs.tasks.deliver_webhook_task"


def backoff(attempts):
    """Wait before the next try after `attempts` failures: 30 s, 1 min, 2 min, … capped at 6 h."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def event_payload(event):
    item = event.item
    base = settings.OPSHUB_BASE_URL
    return {
        "id": f"evt_{event.pk}",
        "kind": event.kind,
        "at": event.at.isoformat(),
        "actor": event.actor.email if event.actor_id else None,
        "item": {
            "id": item.pk,
            "title": item.title,
            "workflow": item.workflow.name,
            "stage": item.stage.name,
            "state": item.state,
            "source": item.source,
            "external_ref": item.external_ref,
            "url": f"{base}{item.get_absolute_url()}",
        },
        "from_stage": event.from_stage.name if event.from_stage_id else None,
        "to_stage": event.to_stage.name if event.to_stage_id else None,
        "data": event.payload,
    }


def test_payload(subscription):
    return {
        "id": None,
        "kind": "test",
        "at": timezone.now().isoformat(),
        "subscription": subscription.name,
        "message": "A test delivery from opshub: your endpoint is reachable and verifies.",
    }


def subscription_create(*, name, url, event_kinds, by, is_active=True):
    """A new subscriber starts at the newest event: it does not receive the history."""
    newest = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=url,
        secret=new_secret(),
        event_kinds=list(event_kinds),
        is_active=is_active,
        created_by=by,
        start_after_event_id=newest,
        dispatched_through_event_id=newest,
    )
    _audit(subscription, by, AuditEntry.Action.CREATE, f"Created webhook subscription {name}")
    return subscription


# --- Managing subscriptions (UI and API share these) -----------------------------------------

AUDITED_FIELDS = ("name", "url", "event_kinds", "is_active")


def _audited(subscription):
    return {name: getattr(subscription, name) for name in AUDITED_FIELDS}


def _audit(subscription, by, action, summary, before=None):
    after = None if action == AuditEntry.Action.DELETE else _audited(subscription)
    AuditEntry.objects.record(
        actor=by, action=action, obj=subscription, summary=summary, before=before, after=after
    )


def live_subscriptions():
    """Subscriptions not deleted (a deleted one keeps its row and its delivery log)."""
    return WebhookSubscription.objects.filter(deleted_at=None)


class SubscriptionDeleted(Exception):
    """A deleted subscription is read-only: its log stays, it can no longer be changed."""

    def __init__(self):
        super().__init__("This subscription was deleted; its delivery log is kept read-only.")


def subscription_update(*, subscription, by, **changes):
    """Changes name, url, event_kinds and/or is_active. Resuming a paused subscription
    delivers the events that happened meanwhile (the sweep's cursor stayed put)."""
    if subscription.deleted_at is not None:
        raise SubscriptionDeleted
    before = _audited(subscription)
    for name, value in changes.items():
        setattr(subscription, name, list(value) if name == "event_kinds" else value)
    subscription.save()
    after = _audited(subscription)
    if after != before:
        changed = ", ".join(name for name in AUDITED_FIELDS if before[name] != after[name])
        _audit(
            subscription,
            by,
            AuditEntry.Action.UPDATE,
            f"Changed webhook subscription {subscription.name}: {changed}",
            before,
        )
    return subscription


def subscription_rotate_secret(*, subscription, by):
    """A new secret, effective at once (queued retries are signed with it); shown once."""
    if subscription.deleted_at is not None:
        raise SubscriptionDeleted
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret", "updated_at"])
    summary = f"Rotated the secret of webhook subscription {subscription.name}"
    _audit(subscription, by, AuditEntry.Action.ROTATE_SECRET, summary)
    return subscription


def subscription_delete(*, subscription, by):
    """Soft delete: no more deliveries (unsent ones give up), the log stays readable.
    Deleting a deleted subscription changes nothing."""
    if subscription.deleted_at is not None:
        return subscription
    before = _audited(subscription)
    now = timezone.now()
    subscription.deleted_at, subscription.is_active = now, False
    subscription.save(update_fields=["deleted_at", "is_active", "updated_at"])
    subscription.deliveries.filter(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.SENDING]
    ).update(status=WebhookDelivery.Status.FAILED, last_error="The subscription was deleted.")
    summary = f"Deleted webhook subscription {subscription.name}"
    _audit(subscription, by, AuditEntry.Action.DELETE, summary, before)
    return subscription


def sweep():
    """Turns new events into deliveries for every active subscription; returns rows created."""
    created = 0
    for subscription in live_subscriptions().filter(is_active=True):
        low = max(
            subscription.start_after_event_id,
            subscription.dispatched_through_event_id - OVERLAP,
        )
        already = WebhookDelivery.objects.filter(subscription=subscription, event=OuterRef("pk"))
        events = list(
            Event.objects.filter(pk__gt=low, kind__in=subscription.event_kinds)
            .exclude(Exists(already))
            .select_related("item__workflow", "item__stage", "actor", "from_stage", "to_stage")
            .order_by("pk")[:SWEEP_BATCH]
        )
        if not events:
            continue
        rows = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription=subscription,
                    event=event,
                    kind=event.kind,
                    payload=event_payload(event),
                )
                for event in events
            ],
            ignore_conflicts=True,
        )
        created += len(rows)
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            dispatched_through_event_id=Greatest(F("dispatched_through_event_id"), events[-1].pk)
        )
    return created


def check_url(url):
    """Refuses (netguard.TargetRefused) a subscription URL that is not http(s) or names an
    internal address; host names are checked again, resolved, at each send."""
    netguard.check_url(url, allow_private=settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE)


def deliver(delivery_id):
    """One attempt, if this worker wins the claim. Returns the row's new status or None."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.SENDING],
        next_attempt_at__lte=now,
    ).update(
        status=WebhookDelivery.Status.SENDING,
        next_attempt_at=now + LEASE,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    code, error = netguard.post(
        subscription.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": "opshub-webhooks/1",
            "X-Opshub-Timestamp": timestamp,
            "X-Opshub-Signature": sign(subscription.secret, timestamp, body),
            "X-Opshub-Event-Id": delivery.delivery_id,
            "X-Opshub-Event-Kind": delivery.kind,
        },
        timeout=TIMEOUT_SECONDS,
        allow_private=settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE,
    )
    finished = timezone.now()
    if code is not None and 200 <= code < 300:
        outcome = {
            "status": WebhookDelivery.Status.DELIVERED,
            "delivered_at": finished,
            "last_error": "",
        }
    elif delivery.attempts >= MAX_ATTEMPTS:
        outcome = {"status": WebhookDelivery.Status.FAILED, "last_error": error}
    else:
        outcome = {
            "status": WebhookDelivery.Status.PENDING,
            "next_attempt_at": finished + backoff(delivery.attempts),
            "last_error": error,
        }
    # Only the holder of this attempt records its result (a late worker whose lease ran out
    # must not overwrite a newer attempt).
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.SENDING, attempts=delivery.attempts
    ).update(response_code=code, **outcome)
    return outcome["status"]


def send_due(limit=SEND_BATCH):
    """Attempts the due deliveries (new, retry time reached, or lease expired)."""
    due = list(
        WebhookDelivery.objects.filter(
            status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.SENDING],
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return [status for status in map(deliver, due) if status is not None]


def send_test(subscription):
    """Queues a test delivery (sent by a worker like any other); returns the row."""
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, kind="test", payload=test_payload(subscription)
    )
    enqueue_on_commit(signature(DELIVER_TASK), delivery.pk)
    return delivery
