"""The provider's discovery document (`<issuer>/.well-known/openid-configuration`).

Fetched on first use and kept for an hour per process, so endpoints and keys follow the
provider without a restart, and a password sign-in never waits on the provider.
"""

import threading
import time

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

TTL_SECONDS = 3600
_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()

# mozilla-django-oidc setting → discovery document field
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


class DiscoveryError(Exception):
    pass


def document(issuer=None):
    issuer = issuer or settings.OIDC_ISSUER
    if not issuer:
        raise ImproperlyConfigured("OIDC_ISSUER is not set.")
    with _lock:
        cached = _cache.get(issuer)
        if cached and time.monotonic() - cached[0] < TTL_SECONDS:
            return cached[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        doc = response.json()
    except (requests.RequestException, ValueError) as error:
        raise DiscoveryError(f"cannot read {url}: {error}") from error
    # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was asked for.
    if doc.get("issuer", "").rstrip("/") != issuer:
        raise DiscoveryError(f"{url} names issuer {doc.get('issuer')!r}, not {issuer!r}")
    missing = [field for field in ENDPOINTS.values() if field != "userinfo_endpoint"]
    missing = [field for field in missing if not doc.get(field)]
    if missing:
        raise DiscoveryError(f"{url} lacks {', '.join(missing)}")
    with _lock:
        _cache[issuer] = (time.monotonic(), doc)
    return doc


def endpoint(setting):
    return document().get(ENDPOINTS[setting])


def forget():
    with _lock:
        _cache.clear()
