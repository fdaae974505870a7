import hashlib

import pytest
from django.core.management import call_command

from opshub.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_create_api_token_prints_a_key_stored_only_as_a_hash(member, capsys):
    call_command("create_api_token", member.email)
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("opsh_")
    token = ApiToken.objects.get(user=member)
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (token.key_hash, token.key_hint)


def test_create_api_token_for_an_unknown_user_fails_clearly():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "ghost@example.com")


def test_token_authenticates_and_revoked_token_does_not(client, member):
    token, raw = ApiToken.issue(user=member, name="script")
    response = client.get("/api/v1/", headers={"Authorization": f"Token {raw}"})
    assert response.status_code == 200
    token.revoke()
    response = client.get("/api/v1/", headers={"Authorization": f"Token {raw}"})
    assert response.status_code == 401
    assert response.json()["detail"]


def test_api_without_credentials_is_401_json(client):
    response = client.get("/api/v1/")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_openapi_schema_and_docs_are_served(client, member):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    client.force_login(member)
    assert client.get("/api/docs/").status_code == 200
