"""A person signs in through the identity provider in Chromium, then sets up two-factor."""

import pyotp
import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from opshub.accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_lead_signs_in_through_the_provider_and_sets_up_two_factor(
    page, live_server, sso, settings, teams, screenshot
):
    settings.OPSHUB_MFA_REQUIRED_ROLES = ["admin", "lead"]
    sso.interactive = True
    sso.redirect_uris.add(f"{live_server.url}/oidc/callback/")
    sso.sign_in_as("nia@fulfil.example.com", name="Nia Okafor", groups=["opshub-leads"])
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(f"{live_server.url}/work/")
    screenshot("sso-login")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url(f"{sso.issuer}/authorize?**")
    screenshot("sso-provider")
    page.get_by_role("button", name="Continue as nia@fulfil.example.com").click()

    page.wait_for_url(f"{live_server.url}/account/2fa/setup/?next=%2Fwork%2F")
    assert page.get_by_text("Your role must use a second factor").is_visible()
    assert page.get_by_role("img", name="QR code of your opshub key").is_visible()
    screenshot("sso-2fa-setup")
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()

    codes = page.get_by_test_id("recovery-codes").locator("code")
    codes.first.wait_for()
    assert codes.count() == 10
    screenshot("sso-2fa-recovery-codes")
    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_url(f"{live_server.url}/work/")

    user = User.objects.get(email="nia@fulfil.example.com")
    assert user.role == "lead"
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    page.get_by_text("Account", exact=True).click()  # the signed-in email is in its menu
    assert page.get_by_role("link", name="nia@fulfil.example.com (settings)").is_visible()
