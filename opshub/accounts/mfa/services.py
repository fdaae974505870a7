"""Turning the second factor on and off, and its recovery codes."""

import secrets

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from opshub.accounts.models import AuditEntry

RECOVERY_CODES = 10


def pending_authenticator(user):
    """The unconfirmed authenticator being set up: the same secret until it is confirmed, so
    reloading the page does not invalidate a QR code already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def confirmed_authenticator(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def verify_code(user, code):
    """A current TOTP code, or an unused recovery code (which is then used up). Both device
    kinds throttle repeated failures (django-otp: growing delays)."""
    totp = confirmed_authenticator(user)
    if totp is None:
        return False
    if code.isdigit() and totp.verify_token(code):
        return True
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return static is not None and static.verify_token(code)


@transaction.atomic
def second_factor_enable(*, user, device, code):
    """Confirms `device` with a code from the app; returns the new recovery codes or None."""
    if not device.verify_token(code):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    AuditEntry.objects.record(
        actor=user,
        action=AuditEntry.Action.UPDATE,
        obj=user,
        summary="Two-factor authentication turned on",
    )
    return codes


@transaction.atomic
def recovery_codes_renew(*, user):
    codes = _new_recovery_codes(user)
    AuditEntry.objects.record(
        actor=user, action=AuditEntry.Action.UPDATE, obj=user, summary="New recovery codes"
    )
    return codes


@transaction.atomic
def second_factor_disable(*, user):
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    AuditEntry.objects.record(
        actor=user,
        action=AuditEntry.Action.UPDATE,
        obj=user,
        summary="Two-factor authentication turned off",
    )


def _new_recovery_codes(user):
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [_code() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


# Without look-alikes (0/o, 1/l/i): 10 characters of 31 are about 49 bits, single use.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _code():
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))
