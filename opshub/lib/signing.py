"""Signed webhooks, both ways (docs/integrations.md): `X-Opshub-Signature: sha256=<hex>` is the
HMAC-SHA256 of `<timestamp>.<raw body>` with the shared secret, and `X-Opshub-Timestamp` must be
within TOLERANCE of our clock. Intake verifies with it; outbound webhooks sign with it."""

import datetime
import hashlib
import hmac
import secrets

from django.utils import timezone

from opshub.lib.ids import parse_int

TOLERANCE = datetime.timedelta(minutes=5)
SIGNATURE_PREFIX = "sha256="


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The X-Opshub-Signature value for a body sent at `timestamp` (Unix seconds)."""
    message = str(timestamp).encode() + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    *,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime.datetime | None = None,
) -> str | None:
    """None when the call is authentic and fresh, else the reason it is not."""
    if not secret:
        return "This source has no secret; an admin must rotate it."
    if not timestamp:
        return "The X-Opshub-Timestamp header is missing."
    if not signature:
        return "The X-Opshub-Signature header is missing."
    seconds = parse_int(timestamp, min=0)
    if seconds is None:
        return "X-Opshub-Timestamp must be Unix seconds."
    expected = sign(secret, timestamp, body)
    # Constant time, so an attacker cannot find the signature byte by byte.
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return "The signature does not match: sign “<timestamp>.<raw body>” with the secret."
    now = now or timezone.now()
    skew = abs(now.timestamp() - seconds)
    if skew > TOLERANCE.total_seconds():
        return (
            f"The timestamp is {int(skew)} seconds off (at most "
            f"{int(TOLERANCE.total_seconds())} allowed): a replay, or a clock to fix."
        )
    return None


def signature_digest(signature: str) -> str:
    """The hex HMAC of a verified X-Opshub-Signature: one value per signed message."""
    return signature.strip().removeprefix(SIGNATURE_PREFIX)
