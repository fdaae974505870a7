"""API tokens in the user's settings: create with a name, shown once, listed, revoked."""

from django.test import Client

from opshub.accounts.models import ApiToken


def test_settings_need_a_login(client):
    response = client.get("/account/settings/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_token_is_shown_once_and_works_until_revoked(client, member):
    client.force_login(member)

    created = client.post("/account/settings/", {"name": "CRM sync"})

    token = ApiToken.objects.get(user=member)
    raw = created.content.decode().split('class="token-key">')[1].split("<")[0]
    assert raw.startswith("opsh_") and token.name == "CRM sync"
    assert raw not in client.get("/account/settings/").content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/v1/work-items/").status_code == 200

    revoked = client.post(f"/account/tokens/{token.pk}/revoke/")

    assert revoked.status_code == 302
    assert api.get("/api/v1/work-items/").status_code == 401
    assert "Revoked" in client.get("/account/settings/").content.decode()


def test_a_token_needs_a_name(client, member):
    client.force_login(member)
    response = client.post("/account/settings/", {"name": ""})
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_nobody_revokes_someone_elses_token(client, member, outsider):
    token, _ = ApiToken.issue(user=member, name="mine")
    client.force_login(outsider)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_token_list_has_a_fixed_query_count(client, member, django_assert_max_num_queries):
    for n in range(5):
        ApiToken.issue(user=member, name=f"t{n}")
    client.force_login(member)
    with django_assert_max_num_queries(8):
        assert client.get("/account/settings/").status_code == 200
