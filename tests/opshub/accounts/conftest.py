import pytest

from opshub.accounts.oidc import discovery
from tests.oidc_provider import Provider


@pytest.fixture
def oidc_provider():
    provider = Provider().start()
    yield provider
    provider.stop()


@pytest.fixture
def sso(settings, oidc_provider):
    """opshub configured for the test provider, as OIDC_ISSUER/OIDC_CLIENT_ID/… would."""
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OPSHUB_OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = oidc_provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = oidc_provider.client_secret
    settings.OPSHUB_OIDC_PROVIDER_NAME = "Test IdP"
    settings.OPSHUB_OIDC_ROLE_MAP = {"opshub-admins": "admin", "opshub-leads": "lead"}
    settings.OPSHUB_OIDC_TEAM_MAP = {"sales-team": "Sales", "@fulfil.example.com": "Fulfilment"}
    oidc_provider.redirect_uris.add("http://testserver/oidc/callback/")
    discovery.forget()
    yield oidc_provider
    discovery.forget()
