"""Sign-in settings from the environment: a mistake stops the start, with the variable named."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from opshub.lib import env
from tests.opshub.test_settings import _django_check

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3#9-real-production-secret-" + "z" * 40,
    "ALLOWED_HOSTS": "opshub.example.com",
    "OPSHUB_BASE_URL": "https://opshub.example.com",
}


def test_group_maps_parse_and_malformed_ones_fail_loudly(monkeypatch):
    monkeypatch.setenv("MAP", " opshub-admins=admin, @fulfil.example.com = Fulfilment ,")
    assert env.env_map("MAP") == {"opshub-admins": "admin", "@fulfil.example.com": "Fulfilment"}
    monkeypatch.setenv("MAP", "admins")
    with pytest.raises(ImproperlyConfigured, match="MAP must be comma-separated key=value"):
        env.env_map("MAP")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"OIDC_ISSUER": "https://idp.example.com"}, "OIDC_CLIENT_ID must be set"),
        ({"PASSWORD_LOGIN": "false"}, "PASSWORD_LOGIN=false needs OIDC_ISSUER"),
        ({"MFA_REQUIRED_ROLES": "admin,boss"}, "MFA_REQUIRED_ROLES must be among"),
        ({"OIDC_ROLE_MAP": "opshub-admins=root"}, "OIDC_ROLE_MAP roles must be among"),
    ],
)
def test_sign_in_misconfiguration_refuses_to_start(overrides, message):
    result = _django_check(**PRODUCTION, **overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_is_clean_with_single_sign_on_and_two_factor_on():
    result = _django_check(
        **PRODUCTION,
        OIDC_ISSUER="https://idp.example.com/",
        OIDC_CLIENT_ID="opshub",
        OIDC_CLIENT_SECRET="s3cret-from-the-provider",
        PASSWORD_LOGIN="false",
        BREAK_GLASS_EMAILS="admin@example.com",
        MFA_REQUIRED_ROLES="admin,lead",
        OIDC_ROLE_MAP="opshub-admins=admin",
    )
    assert result.returncode == 0, result.stdout + result.stderr
