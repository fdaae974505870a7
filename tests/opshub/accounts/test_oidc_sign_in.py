"""Single sign-on against a real OpenID Connect provider on 127.0.0.1 (tests/oidc_provider.py).

The browser's part of the flow is walked by hand: the Django test client follows opshub's
redirects, and the redirect the provider answers is fetched from the provider itself.
"""

import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from opshub.accounts.models import AuditEntry, User

pytestmark = pytest.mark.django_db


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _provider_redirect(url):
    """GET the provider's authorize URL; return where it sends the browser back to."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url, timeout=10)
    except urllib.error.HTTPError as answer:
        assert answer.code == 302, answer.read()
        return answer.headers["Location"]
    raise AssertionError("the provider did not redirect back")


def sign_in(client, next_url=""):
    """Start at opshub's SSO button, pass the provider, land on opshub's callback."""
    start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    back = _provider_redirect(start["Location"])
    assert back.startswith("http://testserver/oidc/callback/")
    return client.get(back.removeprefix("http://testserver"))


def _logged_in_as(client):
    response = client.get("/account/settings/")
    return response.context["user"].email if response.status_code == 200 else None


def test_sign_in_uses_discovery_and_pkce_and_creates_the_account_just_in_time(client, sso, teams):
    sso.sign_in_as("new.lead@fulfil.example.com", name="Nia Lead", groups=["opshub-leads"])

    response = sign_in(client, next_url="/work/")

    assert response.status_code == 302 and response["Location"] == "/work/"
    assert _logged_in_as(client) == "new.lead@fulfil.example.com"
    # Endpoints came from the discovery document; the token was checked against the JWKS.
    assert sso.paths[0] == "/.well-known/openid-configuration"
    assert {"/authorize", "/token", "/jwks", "/userinfo"} <= set(sso.paths)
    # PKCE: an S256 challenge went out and the matching verifier came back (the provider
    # refuses the code otherwise); a nonce went out too.
    authorize = sso.authorize_requests[-1]
    assert authorize["code_challenge_method"] == "S256"
    assert len(sso.token_requests[-1]["code_verifier"]) >= 43
    assert authorize["nonce"]
    user = User.objects.get(email="new.lead@fulfil.example.com")
    assert (user.role, user.full_name, user.has_usable_password()) == ("lead", "Nia Lead", False)
    assert list(user.teams.values_list("name", flat=True)) == ["Fulfilment"]
    assert AuditEntry.objects.for_object(user).get().summary.startswith("Account created at")


def test_an_existing_account_signs_in_by_email_and_its_role_follows_the_provider(
    client, sso, member
):
    sso.sign_in_as("MEMBER@example.com", groups=["opshub-admins", "sales-team"])

    sign_in(client)

    member.refresh_from_db()
    assert _logged_in_as(client) == member.email
    assert (member.role, member.is_staff, member.is_superuser) == ("admin", True, True)
    assert set(member.teams.values_list("name", flat=True)) == {"Fulfilment", "Sales"}
    assert User.objects.filter(email__iexact="member@example.com").count() == 1


def test_groups_that_map_to_nothing_leave_an_existing_role_alone(client, sso, lead):
    sso.sign_in_as(lead.email, groups=["unrelated"])
    sign_in(client)
    lead.refresh_from_db()
    assert lead.role == "lead"


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param({"aud": "another-client"}, id="wrong-audience"),
        pytest.param({"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}, id="expired"),
        pytest.param({"nonce": "not-the-one-we-sent"}, id="wrong-nonce"),
        pytest.param({"iss": "http://127.0.0.1:1/other"}, id="wrong-issuer"),
    ],
)
def test_an_id_token_that_is_not_for_this_sign_in_is_refused(client, sso, spoil):
    sso.sign_in_as("someone@example.com")
    sso.id_token_overrides = spoil

    response = sign_in(client)

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert _logged_in_as(client) is None
    assert not User.objects.filter(email="someone@example.com").exists()
    page = client.get("/accounts/login/").content.decode()
    assert "Sign-in with Test IdP failed" in page


def test_an_id_token_signed_by_another_key_is_refused(client, sso, member):
    sso.sign_in_as(member.email)
    sso.sign_with_another_key = True

    sign_in(client)

    assert _logged_in_as(client) is None


def test_a_callback_with_an_unknown_state_is_refused_without_an_error_page(client, sso):
    response = client.get("/oidc/callback/?code=abc&state=never-issued")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    response = client.get("/oidc/callback/?error=access_denied&state=x")
    assert response.status_code == 302


def test_a_code_is_used_once(client, sso, member):
    sso.sign_in_as(member.email)
    start = client.get("/oidc/authenticate/")
    back = _provider_redirect(start["Location"]).removeprefix("http://testserver")
    client.get(back)
    client.post("/accounts/logout/")

    replay = client.get(back)

    assert replay["Location"] == "/accounts/login/"
    assert _logged_in_as(client) is None


def test_domains_not_allowed_get_no_account(client, sso, settings):
    settings.OPSHUB_OIDC_ALLOWED_DOMAINS = ["example.com"]
    sso.sign_in_as("intruder@elsewhere.test")

    sign_in(client)

    assert _logged_in_as(client) is None
    assert not User.objects.filter(email="intruder@elsewhere.test").exists()


def test_an_unverified_email_gets_no_account(client, sso):
    sso.sign_in_as("unverified@example.com", email_verified=False)
    sign_in(client)
    assert not User.objects.filter(email="unverified@example.com").exists()


def test_without_just_in_time_accounts_only_known_people_sign_in(client, sso, settings, member):
    settings.OIDC_CREATE_USER = False
    sso.sign_in_as("stranger@example.com")
    sign_in(client)
    assert _logged_in_as(client) is None
    assert not User.objects.filter(email="stranger@example.com").exists()

    sso.sign_in_as(member.email)
    sign_in(client)
    assert _logged_in_as(client) == member.email


def test_an_unreachable_provider_is_a_message_not_an_error_page(client, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.OPSHUB_OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "opshub"
    from opshub.accounts.oidc import discovery

    discovery.forget()
    response = client.get("/oidc/authenticate/", follow=True)
    assert response.status_code == 200
    assert "not reachable" in response.content.decode()


def test_sso_pages_are_absent_when_no_provider_is_configured(client):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()


def test_the_login_page_offers_the_provider(client, sso):
    page = client.get("/accounts/login/?next=/work/").content.decode()
    assert "Sign in with Test IdP" in page
    assert 'href="/oidc/authenticate/?next=/work/"' in page


def test_with_password_login_off_only_break_glass_accounts_use_a_password(
    client, sso, settings, member, admin_user
):
    settings.OPSHUB_PASSWORD_LOGIN = False
    settings.OPSHUB_BREAK_GLASS_EMAILS = [admin_user.email]

    refused = client.post(
        "/accounts/login/", {"username": member.email, "password": "correct-horse-battery"}
    )
    assert refused.status_code == 200 and _logged_in_as(client) is None
    assert "Break-glass admin sign-in" in refused.content.decode()

    allowed = client.post(
        "/accounts/login/", {"username": admin_user.email, "password": "correct-horse-battery"}
    )
    assert allowed.status_code == 302 and _logged_in_as(client) == admin_user.email

    client.post("/accounts/logout/")
    sso.sign_in_as(member.email)
    sign_in(client)
    assert _logged_in_as(client) == member.email


def test_api_tokens_keep_working_when_password_login_is_off(client, sso, settings, member):
    from opshub.accounts.models import ApiToken

    settings.OPSHUB_PASSWORD_LOGIN = False
    _, raw = ApiToken.issue(user=member, name="script")
    response = client.get("/api/v1/workflows/", headers={"Authorization": f"Token {raw}"})
    assert response.status_code == 200


def test_the_callback_sends_the_browser_back_where_it_started(client, sso, member):
    sso.sign_in_as(member.email)
    response = sign_in(client, next_url="/reviews/")
    assert response["Location"] == "/reviews/"
    query = parse_qs(urlsplit(sso.authorize_requests[-1]["redirect_uri"]).query)
    assert query == {}
