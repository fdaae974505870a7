"""Holds a signed-in session at the second step until it is done.

At sign-in (any way: password, provider, or a test's force_login) the session records the
step still owed: "verify" (the account has an authenticator) or "setup" (its role must use
one and it has none). Until then every page sends the browser to that step; the API answers
403 to such a session (API tokens are not sessions and are not held). Reading the step from
the session costs no query per request.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_otp.plugins.otp_totp.models import TOTPDevice

SESSION_KEY = "opshub_second_factor"
VERIFY, SETUP = "verify", "setup"
# Views a held session may still reach, besides its own step's page.
_ALWAYS_OPEN = {"logout", "healthz"}


def has_authenticator(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def must_use_second_factor(user):
    roles = settings.OPSHUB_MFA_REQUIRED_ROLES
    return user.role in roles or (user.is_superuser and "admin" in roles)


def step_owed(user):
    if has_authenticator(user):
        return VERIFY
    if must_use_second_factor(user):
        return SETUP
    return None


def on_login(sender, request, user, **kwargs):
    """user_logged_in receiver (see AccountsConfig.ready)."""
    if request is None or not hasattr(request, "session"):
        return
    step = step_owed(user)
    if step:
        request.session[SESSION_KEY] = step
    else:
        request.session.pop(SESSION_KEY, None)


def mark_done(request):
    request.session.pop(SESSION_KEY, None)


def mark_verified_by_provider(request):
    """OIDC_SATISFIES_MFA: the identity provider enforced its own second factor. A role that
    must use one still has nothing owed here."""
    mark_done(request)


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_name = request.resolver_match.view_name if request.resolver_match else ""
        if view_name in _ALWAYS_OPEN:
            return None  # before the session: /healthz must not load it
        session = getattr(request, "session", None)
        step = session.get(SESSION_KEY) if session is not None else None
        if step is None or view_name == f"mfa:{step}" or not request.user.is_authenticated:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Two-factor authentication is not done yet."}, status=403
            )
        url = f"{reverse(f'mfa:{step}')}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)
