"""Authentication backends: passwords (unless turned off) and OpenID Connect."""

import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from opshub.accounts.models import User
from opshub.accounts.oidc import discovery, services

log = logging.getLogger(__name__)

# Clock skew tolerated between the provider and us when checking exp/iat.
LEEWAY_SECONDS = 60


def password_login_allowed(email):
    if settings.OPSHUB_PASSWORD_LOGIN:
        return True
    return (email or "").strip().lower() in settings.OPSHUB_BREAK_GLASS_EMAILS


class PasswordBackend(ModelBackend):
    """Email and password, for everyone, or with PASSWORD_LOGIN=false only for the
    break-glass accounts (BREAK_GLASS_EMAILS): everyone else signs in through the provider."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and not password_login_allowed(username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's authorization-code backend with the endpoints and keys from the
    provider's discovery document, and an ID token checked for issuer, audience and expiry
    besides its signature and nonce."""

    def __init__(self, *args, **kwargs):
        # The parent reads every endpoint here; this backend is built for password sign-ins
        # too, which must not wait on (or fail with) the provider. Endpoints are read lazily.
        self.UserModel = User
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):
        return discovery.endpoint("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self):
        return discovery.endpoint("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):
        return discovery.endpoint("OIDC_OP_JWKS_ENDPOINT")

    def authenticate(self, request, **kwargs):
        # Only the callback passes a nonce; every other authenticate() call is not ours.
        if not settings.OPSHUB_OIDC_ENABLED or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(
                f"ID token signed with {header.get('alg')!r}, expected {self.OIDC_RP_SIGN_ALGO}"
            )
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.InvalidTokenError as error:
            raise SuspiciousOperation(f"ID token refused: {error}") from error

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint when there is one."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        userinfo = super().get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 5.3.2: userinfo about another subject must not be used.
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo answered for another subject")
        return {**payload, **userinfo}

    def verify_claims(self, claims):
        email = claims.get("email") or ""
        if "@" not in email or claims.get("email_verified") is False:
            log.warning(
                "oidc: refused sign-in without a verified email (sub=%s)", claims.get("sub")
            )
            return False
        allowed = settings.OPSHUB_OIDC_ALLOWED_DOMAINS
        if allowed and services.email_domain(claims) not in allowed:
            log.warning("oidc: refused sign-in from domain %s", services.email_domain(claims))
            return False
        return True

    def create_user(self, claims):
        return services.user_provision(claims=claims)

    def update_user(self, user, claims):
        return services.user_sync_from_claims(user=user, claims=claims)


# Failures of the provider or of its tokens: the callback turns them into a refused sign-in.
SIGN_IN_ERRORS = (SuspiciousOperation, requests.RequestException, discovery.DiscoveryError)
