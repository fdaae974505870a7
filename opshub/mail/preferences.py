"""Switching how a person's emails arrive (at once, or one daily digest) from a link in an email.

The link is a signed token naming the user and the delivery to switch to; it works without
a password. Opening it shows a confirmation page and changes nothing; the page's form
(CSRF-protected) POSTs the switch. Stall alerts sent at once also carry RFC 8058 one-click
`List-Unsubscribe` headers pointing at the same switch, so a mail client's "Unsubscribe"
moves the person to the daily digest (fewer emails; escalations still come at once).
"""

import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from opshub.accounts.models import User

SALT = "handoffs.email-delivery"
# Long enough for a digest read after a holiday; a forged or stale link is refused.
MAX_AGE = datetime.timedelta(days=60)

Delivery = User.Delivery


def token_for(user: User, delivery: str) -> str:
    return signing.dumps({"u": user.pk, "d": str(delivery)}, salt=SALT, compress=True)


def read_token(token: str) -> tuple[User, Any] | None:
    """(user, delivery) a link was made for, or None when forged, expired or unknown."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if data.get("d") not in Delivery.values:
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    return (user, Delivery(data["d"])) if user else None


def other_delivery(user: User) -> str:
    return Delivery.IMMEDIATE if user.email_delivery == Delivery.DIGEST else Delivery.DIGEST


def switch_url(user: User, delivery: str | None = None) -> str:
    """Absolute URL of the confirmation page switching `user` to `delivery` (default: the
    other one)."""
    token = token_for(user, delivery or other_delivery(user))
    return settings.OPSHUB_BASE_URL + reverse("handoffs:email-delivery", args=[token])


def one_click_url(user: User, delivery: str) -> str:
    token = token_for(user, delivery)
    return settings.OPSHUB_BASE_URL + reverse("handoffs:email-delivery-one-click", args=[token])


def list_unsubscribe_headers(user: User | None, kind: str) -> dict[str, str]:
    """Headers for one email of `kind` ("alert", "digest") to `user`; {} where none fit.

    An alert sent at once: one-click to the daily digest (RFC 8058). The digest: the
    unsubscribe-from-digest page, without one-click, because leaving the digest means
    emails as they happen (more mail), which a person should confirm on the page.
    """
    if user is None:
        return {}
    if kind == "digest":
        return {"List-Unsubscribe": f"<{switch_url(user, Delivery.IMMEDIATE)}>"}
    if kind == "alert" and user.email_delivery == Delivery.IMMEDIATE:
        return {
            "List-Unsubscribe": f"<{one_click_url(user, Delivery.DIGEST)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    return {}


def switch(user: User, delivery: str) -> bool:
    """Sets the preference; returns False when it already was that."""
    return bool(
        User.objects.filter(pk=user.pk)
        .exclude(email_delivery=delivery)
        .update(email_delivery=delivery)
    )
