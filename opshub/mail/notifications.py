"""In-app notifications with their email: sent at once, or collected into a daily digest.

`notify()` runs inside the caller's transaction. It writes the Notification per person and,
for those who get emails as they happen, its email into the outbox (opshub.mail.outbox), sent
after the commit: a rolled-back decision sends nothing. For people on the daily digest the
notification waits (awaits_digest) until the daily digest (handoffs/stalls/digest.py) takes it.
"""

from collections.abc import Callable, Iterable
from typing import Any

from opshub.accounts.models import User
from opshub.mail import outbox
from opshub.mail.models import EmailDelivery, Notification


def notify(
    users: Iterable[User | None],
    *,
    message: str,
    item: Any = None,  # a WorkItem or None; the shell names no feature's model
    url: str = "",
    subject: str,
    body: str = "",
    actions: Callable[[User], Iterable[tuple[str, str]]] | None = None,
) -> list[Notification]:
    """One notification (and its email) per distinct, active user. Returns the notifications.
    `actions(user)` gives the email's buttons for that user: (label, path) pairs, e.g. the
    signed Approve and Deny links of a red request."""
    people = {u.pk: u for u in users if u is not None and u.is_active}
    notes = []
    for user in people.values():
        digest = user.email_delivery == User.Delivery.DIGEST
        email = None
        if user.email and not digest:
            email = outbox.enqueue(
                to=user,
                kind=EmailDelivery.Kind.NOTIFICATION,
                subject=subject[:200],
                template="handoffs/email/notification",
                context={
                    "message": message[:300],
                    "body": body,
                    "subject": subject[:200],
                    "link": outbox.absolute_url(url) if url else "",
                    "actions": [
                        (label, outbox.absolute_url(path))
                        for label, path in (actions(user) if actions else [])
                    ],
                },
            )
        notes.append(
            Notification.objects.create(
                user=user,
                message=message[:300],
                item=item,
                url=url,
                body=body,
                email=email,
                awaits_digest=digest and bool(user.email),
            )
        )
    return notes
