"""The two ends of the authorization code flow: off to the provider, and back."""

import logging

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from opshub.accounts.mfa.middleware import mark_verified_by_provider
from opshub.accounts.oidc import discovery
from opshub.accounts.oidc.backends import SIGN_IN_ERRORS

log = logging.getLogger(__name__)


def _get_settings(attr, *args):
    if attr in discovery.ENDPOINTS:
        return discovery.endpoint(attr)
    return import_from_settings(attr, *args)


class SignInView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate/: state, nonce and a PKCE (S256) challenge go into the session
    and the browser goes to the provider's authorization endpoint (from discovery)."""

    get_settings = staticmethod(_get_settings)

    def __init__(self, *args, **kwargs):
        # The parent reads the authorization endpoint here; read it per request instead.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_OP_AUTH_ENDPOINT(self):
        return discovery.endpoint("OIDC_OP_AUTHORIZATION_ENDPOINT")

    def get(self, request):
        if not settings.OPSHUB_OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except discovery.DiscoveryError as error:
            log.warning("oidc: discovery failed: %s", error)
            messages.error(request, f"{settings.OPSHUB_OIDC_PROVIDER_NAME} is not reachable now.")
            return redirect("login")


class CallbackView(OIDCAuthenticationCallbackView):
    """GET /oidc/callback/: the code is exchanged (with the PKCE verifier), the ID token's
    signature, issuer, audience, expiry and nonce are checked, and the account found or made.
    Any failure is a refused sign-in with a message, never an error page."""

    get_settings = staticmethod(_get_settings)

    def get(self, request):
        if not settings.OPSHUB_OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except SIGN_IN_ERRORS as error:
            log.warning("oidc: sign-in refused: %s", error)
            return self.login_failure()

    def login_failure(self):
        messages.error(
            self.request,
            f"Sign-in with {settings.OPSHUB_OIDC_PROVIDER_NAME} failed. Try again, or ask an "
            "admin whether your account may use opshub.",
        )
        return redirect(settings.LOGIN_REDIRECT_URL_FAILURE)

    def login_success(self):
        response = super().login_success()
        if settings.OPSHUB_OIDC_SATISFIES_MFA:
            mark_verified_by_provider(self.request)
        return response
