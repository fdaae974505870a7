"""Turning the second factor on and off, and its recovery codes."""

import secrets
import time

from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from opshub.accounts.models import AuditEntry
from opshub.lib.ids import parse_int

RECOVERY_CODES = 10


PENDING_KEY = "opshub_totp_setup_key"


def pending_authenticator(request):
    """The authenticator being set up, not saved: its key stays in the session until a code
    confirms it, so reloading the page keeps a QR code already scanned valid and an
    abandoned setup leaves nothing behind."""
    key = request.session.setdefault(PENDING_KEY, default_key())
    return TOTPDevice(user=request.user, key=key, name="Authenticator app")


def confirmed_authenticator(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def verify_code(user, code):
    """A current TOTP code, or an unused recovery code (which is then used up). Both device
    kinds throttle repeated failures (django-otp: growing delays)."""
    totp = confirmed_authenticator(user)
    if totp is None:
        return False
    if parse_int(code, min=0) is not None and totp.verify_token(code):
        return True
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return static is not None and static.verify_token(code)


@transaction.atomic
def second_factor_enable(*, user, device, code):
    """Saves the unsaved `device` once a code from the app confirms it has the key; returns
    the new recovery codes, or None (nothing saved) for a wrong code."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time()
    number = parse_int(code, min=0, max=10**device.digits - 1)  # "²".isdigit() is True
    if number is None or not totp.verify(number, tolerance=device.tolerance):
        return None
    TOTPDevice.objects.filter(user=user).delete()
    device.confirmed = True
    device.last_t = totp.t()  # the code just typed cannot also sign in
    device.save()
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
