"""Two-factor authentication: TOTP codes from pyotp (an independent generator), recovery codes."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import time_machine
from django_otp.plugins.otp_totp.models import TOTPDevice

from opshub.accounts.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def _login(client, user):
    return client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})


def _set_up(client, user):
    """Set up an authenticator through the pages; returns (pyotp.TOTP, recovery codes)."""
    page = client.get("/account/2fa/setup/").content.decode()
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    totp = pyotp.TOTP(secret)
    done = client.post("/account/2fa/setup/", {"code": totp.now()})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{10})</code></li>", done.content.decode())
    return totp, codes


def _signed_in_with_authenticator(client, user):
    client.force_login(user)
    totp, codes = _set_up(client, user)
    client.post("/accounts/logout/")
    TOTPDevice.objects.filter(user=user).update(last_t=-1)  # the setup code may be reused
    return totp, codes


def test_setting_up_an_authenticator_turns_it_on_and_shows_ten_recovery_codes(client, member):
    client.force_login(member)

    totp, codes = _set_up(client, member)

    device = TOTPDevice.objects.get(user=member)
    assert device.confirmed
    assert len(codes) == 10 and len(set(codes)) == 10
    assert parse_qs(urlsplit(device.config_url).query)["secret"] == [totp.secret]
    summaries = AuditEntry.objects.for_object(member).values_list("summary", flat=True)
    assert "Two-factor authentication turned on" in summaries


def test_a_wrong_code_at_setup_leaves_it_off(client, member):
    client.force_login(member)
    client.get("/account/2fa/setup/")
    response = client.post("/account/2fa/setup/", {"code": "000000"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=member, confirmed=True).exists()


def test_signing_in_asks_for_the_current_code_before_any_page(client, member):
    totp, _ = _signed_in_with_authenticator(client, member)

    response = client.post(
        "/accounts/login/?next=/work/",
        {"username": member.email, "password": PASSWORD, "next": "/work/"},
    )
    assert response["Location"] == "/work/"
    held = client.get("/work/")
    assert held.status_code == 302
    assert held["Location"].startswith("/account/2fa/verify/?next=%2Fwork%2F")
    assert client.get("/api/v1/workflows/").status_code == 403

    verified = client.post("/account/2fa/verify/", {"code": totp.now(), "next": "/work/"})

    assert verified["Location"] == "/work/"
    assert client.get("/work/").status_code == 200


def test_htmx_requests_of_a_held_session_are_sent_to_the_code_page(client, member):
    _signed_in_with_authenticator(client, member)
    _login(client, member)
    response = client.get("/work/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/account/2fa/verify/")


def test_a_wrong_code_is_refused_and_repeated_failures_are_throttled(client, member):
    totp, _ = _signed_in_with_authenticator(client, member)
    _login(client, member)

    # Frozen clock: django-otp's throttle (a delay that doubles with each failure) holds.
    with time_machine.travel(datetime.now(UTC), tick=False):
        wrong = client.post("/account/2fa/verify/", {"code": "123456"})
        assert wrong.status_code == 200 and "not right" in wrong.content.decode()
        throttled = client.post("/account/2fa/verify/", {"code": totp.now()})
        assert throttled.status_code == 200
        assert client.get("/work/").status_code == 302
    assert TOTPDevice.objects.get(user=member).throttling_failure_count == 1


def test_a_recovery_code_signs_in_once(client, member):
    _, codes = _signed_in_with_authenticator(client, member)

    _login(client, member)
    first = client.post("/account/2fa/verify/", {"code": codes[0].upper()})
    assert first.status_code == 302
    client.post("/accounts/logout/")

    _login(client, member)
    again = client.post("/account/2fa/verify/", {"code": codes[0]})
    assert again.status_code == 200
    assert client.get("/work/").status_code == 302


def _verified_with_recovery_code(client, user, code):
    _login(client, user)
    assert client.post("/account/2fa/verify/", {"code": code}).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client, member):
    totp, old = _signed_in_with_authenticator(client, member)
    _verified_with_recovery_code(client, member, old[0])

    response = client.post("/account/2fa/recovery-codes/", {"code": totp.now()})

    new = re.findall(r"<li><code>([a-z2-9]{10})</code></li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/accounts/logout/")
    _login(client, member)
    assert client.post("/account/2fa/verify/", {"code": old[1]}).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=5)):  # past the throttle
        assert client.post("/account/2fa/verify/", {"code": new[1]}).status_code == 302


def test_turning_it_off_needs_a_current_code(client, member):
    totp, codes = _signed_in_with_authenticator(client, member)
    _verified_with_recovery_code(client, member, codes[0])

    refused = client.post("/account/2fa/disable/", {"code": "999999"})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=member).exists()

    TOTPDevice.objects.filter(user=member).update(throttling_failure_count=0)
    client.post("/account/2fa/disable/", {"code": totp.now()})
    assert not TOTPDevice.objects.filter(user=member).exists()


def test_admins_and_leads_must_set_it_up_when_required(client, settings, lead, member):
    settings.OPSHUB_MFA_REQUIRED_ROLES = ["admin", "lead"]

    _login(client, lead)
    held = client.get("/work/")
    assert held["Location"].startswith("/account/2fa/setup/")
    assert "Your role must use a second factor" in client.get(held["Location"]).content.decode()
    _set_up(client, lead)
    assert client.get("/work/").status_code == 200
    refused = client.post("/account/2fa/disable/", {"code": "000000"})
    assert refused.status_code == 302
    assert TOTPDevice.objects.filter(user=lead).exists()

    client.post("/accounts/logout/")
    _login(client, member)
    assert client.get("/work/").status_code == 200


def test_api_tokens_keep_working_for_accounts_with_two_factor(client, member):
    _signed_in_with_authenticator(client, member)
    _, raw = ApiToken.issue(user=member, name="script")
    client.logout()
    response = client.get("/api/v1/workflows/", headers={"Authorization": f"Token {raw}"})
    assert response.status_code == 200


def test_password_throttling_still_locks_accounts_with_two_factor(client, settings, member):
    _signed_in_with_authenticator(client, member)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": member.email, "password": "nope"})
    locked = _login(client, member)
    assert locked.status_code in (403, 429)


def test_a_provider_sign_in_also_asks_for_the_code_unless_trusted(client, settings, sso, member):
    from tests.opshub.accounts.test_oidc_sign_in import sign_in

    totp, _ = _signed_in_with_authenticator(client, member)
    sso.sign_in_as(member.email)

    sign_in(client)
    assert client.get("/work/")["Location"].startswith("/account/2fa/verify/")

    client.post("/accounts/logout/")
    settings.OPSHUB_OIDC_SATISFIES_MFA = True
    sign_in(client)
    assert client.get("/work/").status_code == 200


@pytest.mark.parametrize("url", ["/account/2fa/", "/account/2fa/setup/", "/account/2fa/verify/"])
def test_two_factor_pages_send_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
