"""The password-reset form, throttled: a reset email per address and per client IP is
counted in Redis, and over either limit nothing is sent while the answer stays the same."""

import hashlib
import logging

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm

from opshub.lib.cache import count_in_window

logger = logging.getLogger(__name__)


def reset_allowed(request, email):
    """Counts this request against the address and the IP; False when either is over its
    limit. Every request counts, whether or not the address has an account, so the limit
    itself tells nothing about who has one."""
    # The key holds a digest, not the address: Redis keys show up in monitoring and dumps.
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    ip = get_client_ip_address(request) or "unknown"
    checks = [
        (f"password-reset:email:{address}", settings.OPSHUB_PASSWORD_RESET_RATE_PER_EMAIL),
        (f"password-reset:ip:{ip}", settings.OPSHUB_PASSWORD_RESET_RATE_PER_IP),
    ]
    allowed = True
    for name, (limit, seconds) in checks:
        count, _wait = count_in_window(name, seconds)
        # Redis down: send. Locking everyone out of resets is worse than an unthrottled
        # hour, and /healthz reports Redis as down.
        if count is not None and count > limit:
            allowed = False
    if not allowed:
        logger.warning("password reset throttled", extra={"ip": ip})
    return allowed


class ThrottledPasswordResetForm(PasswordResetForm):
    def save(self, *, request, **kwargs):
        if reset_allowed(request, self.cleaned_data["email"]):
            super().save(request=request, **kwargs)
