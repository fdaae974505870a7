"""Outbound webhook subscriptions: edit, rotate the secret, soft delete — in the UI and at
/api/v1/webhook-subscriptions/ (admins only; the secret is returned at creation and rotation)."""

import pytest
from rest_framework.test import APIClient

from handoffs.integrations import webhooks
from handoffs.models import WebhookDelivery, WebhookSubscription
from handoffs.work import transitions
from opshub.accounts.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db

API = "/api/v1/webhook-subscriptions/"


@pytest.fixture
def subscription(admin_user):
    return webhooks.subscription_create(
        name="ERP",
        url="https://erp.example.com/hooks/opshub",
        event_kinds=["handoff_accepted"],
        by=admin_user,
    )


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["edit/", "delete/"])
def test_anonymous_visitors_are_sent_to_login(client, subscription, suffix):
    response = client.get(f"/integrations/webhooks/{subscription.pk}/{suffix}")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["viewer", "member", "outsider", "lead"])
def test_only_admins_edit_rotate_or_delete(client, subscription, persona, request):
    client.force_login(request.getfixturevalue(persona))
    base = f"/integrations/webhooks/{subscription.pk}/"
    assert client.get(f"{base}edit/").status_code == 403
    assert client.get(f"{base}delete/").status_code == 403
    posts = [
        (
            f"{base}edit/",
            {"name": "Mine", "url": "https://evil.example.com/", "event_kinds": ["delivered"]},
        ),
        (f"{base}rotate/", {}),
        (f"{base}delete/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    fresh = WebhookSubscription.objects.get(pk=subscription.pk)
    assert (fresh.name, fresh.secret, fresh.deleted_at) == ("ERP", subscription.secret, None)


@pytest.mark.parametrize("persona", ["viewer", "member", "outsider", "lead"])
def test_the_api_refuses_everyone_but_admins(subscription, persona, request):
    client = _api(request.getfixturevalue(persona))
    assert client.get(API).status_code == 403
    assert client.get(f"{API}{subscription.pk}/").status_code == 403
    assert client.get(f"{API}{subscription.pk}/deliveries/").status_code == 403
    body = {"name": "x", "url": "https://x.example.com/", "event_kinds": ["delivered"]}
    assert client.post(API, body).status_code == 403
    assert client.patch(f"{API}{subscription.pk}/", {"name": "x"}).status_code == 403
    assert client.post(f"{API}{subscription.pk}/rotate-secret/").status_code == 403
    assert client.delete(f"{API}{subscription.pk}/").status_code == 403
    assert WebhookSubscription.objects.get().secret == subscription.secret
    assert APIClient().get(API).status_code == 401


# --- UI -----------------------------------------------------------------------------------------


def test_an_admin_edits_url_kinds_and_pauses(client, admin_user, subscription):
    client.force_login(admin_user)
    page = client.get(f"/integrations/webhooks/{subscription.pk}/edit/")
    assert page.status_code == 200 and b"erp.example.com" in page.content
    response = client.post(
        f"/integrations/webhooks/{subscription.pk}/edit/",
        {
            "name": "ERP (new)",
            "url": "https://erp2.example.com/in",
            "event_kinds": ["handoff_accepted", "delivered"],
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.name == "ERP (new)"
    assert subscription.url == "https://erp2.example.com/in"
    assert subscription.event_kinds == ["handoff_accepted", "delivered"]
    assert not subscription.is_active  # the checkbox was left unticked
    entry = AuditEntry.objects.for_object(subscription).get(action="update")
    assert "url" in entry.summary and entry.before["url"] == "https://erp.example.com/hooks/opshub"


def test_a_bad_edit_names_each_field_and_changes_nothing(client, admin_user, subscription):
    client.force_login(admin_user)
    response = client.post(
        f"/integrations/webhooks/{subscription.pk}/edit/",
        {"name": "", "url": "not a url", "is_active": "on"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"name", "url", "event_kinds"}
    fresh = WebhookSubscription.objects.get(pk=subscription.pk)
    assert (fresh.name, fresh.url) == ("ERP", subscription.url)


def test_rotating_shows_the_new_secret_once(client, admin_user, subscription):
    client.force_login(admin_user)
    response = client.post(f"/integrations/webhooks/{subscription.pk}/rotate/")
    subscription.refresh_from_db()
    assert response.status_code == 200
    assert subscription.secret in response.content.decode()
    assert "The old secret stopped working" in response.content.decode()
    detail = client.get(subscription.get_absolute_url()).content.decode()
    assert subscription.secret not in detail and subscription.secret_hint in detail


def test_deleting_keeps_the_log_readable_and_stops_deliveries(
    client, admin_user, subscription, item, seller, lead
):
    kept = WebhookDelivery.objects.create(
        subscription=subscription, kind="test", payload={}, status="delivered"
    )
    unsent = WebhookDelivery.objects.create(subscription=subscription, kind="test", payload={})
    client.force_login(admin_user)
    confirm = client.get(f"/integrations/webhooks/{subscription.pk}/delete/")
    assert b"1 unsent delivery" in confirm.content and b"stays readable" in confirm.content
    response = client.post(f"/integrations/webhooks/{subscription.pk}/delete/")
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.deleted_at is not None and not subscription.is_active
    unsent.refresh_from_db()
    assert unsent.status == "failed" and "deleted" in unsent.last_error

    page = client.get(subscription.get_absolute_url())
    assert page.status_code == 200 and b"Deleted" in page.content
    assert kept.delivery_id.encode() in page.content
    assert b"Rotate secret" not in page.content
    listing = client.get("/integrations/webhooks/").content.decode()
    assert "Deleted subscriptions (1)" in listing

    # No new deliveries, and the read-only subscription refuses changes.
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "P", "amount": "1"}
    )
    transitions.handoff_accept(item=item, by=lead)
    assert webhooks.sweep() == 0
    assert client.post(f"/integrations/webhooks/{subscription.pk}/rotate/").status_code == 403
    assert client.post(f"/integrations/webhooks/{subscription.pk}/test/").status_code == 403


# --- API ----------------------------------------------------------------------------------------


def test_an_admin_token_manages_a_subscription(admin_user):
    _, raw = ApiToken.issue(user=admin_user, name="setup")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    created = client.post(
        API,
        {"name": "BI", "url": "https://bi.example.com/in", "event_kinds": ["delivered"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    pk, secret = body["id"], body["secret"]
    assert body["secret_hint"] == f"…{secret[-4:]}" and body["is_active"]
    assert "secret" not in client.get(f"{API}{pk}/").json()
    assert all("secret" not in row for row in client.get(API).json()["results"])

    patched = client.patch(
        f"{API}{pk}/", {"event_kinds": ["delivered", "stall_started"], "is_active": False}
    )
    assert patched.status_code == 200
    assert patched.json()["event_kinds"] == ["delivered", "stall_started"]
    assert not patched.json()["is_active"]

    rotated = client.post(f"{API}{pk}/rotate-secret/").json()
    assert rotated["secret"] != secret
    assert WebhookSubscription.objects.get(pk=pk).secret == rotated["secret"]

    assert client.delete(f"{API}{pk}/").status_code == 204
    assert client.get(f"{API}{pk}/").json()["deleted_at"] is not None
    assert client.get(f"{API}{pk}/deliveries/").status_code == 200
    assert client.get(API).json()["count"] == 0
    assert client.get(API, {"deleted": "true"}).json()["count"] == 1
    refused = client.patch(f"{API}{pk}/", {"name": "again"})
    assert refused.status_code == 409 and "deleted" in refused.json()["detail"]
    assert client.post(f"{API}{pk}/rotate-secret/").status_code == 409
    assert client.delete(f"{API}{pk}/").status_code == 204  # idempotent


def test_bad_subscription_values_are_named(admin_user, subscription):
    client = _api(admin_user)
    response = client.post(
        API, {"name": "", "url": "ftp:/x", "event_kinds": ["nope"]}, format="json"
    )
    assert response.status_code == 400
    assert {"name", "url", "event_kinds"} <= set(response.json())
    empty = client.patch(f"{API}{subscription.pk}/", {"event_kinds": []}, format="json")
    assert empty.status_code == 400 and "event_kinds" in empty.json()
    assert WebhookSubscription.objects.count() == 1


def test_subscription_filters_and_the_delivery_log(admin_user, subscription):
    other = webhooks.subscription_create(
        name="Chat", url="https://chat.example.com/", event_kinds=["stall_started"], by=admin_user
    )
    webhooks.subscription_update(subscription=other, by=admin_user, is_active=False)
    WebhookDelivery.objects.create(subscription=subscription, kind="test", status="delivered")
    WebhookDelivery.objects.create(subscription=subscription, kind="test", status="failed")
    client = _api(admin_user)

    def names(**params):
        return [row["name"] for row in client.get(API, params).json()["results"]]

    assert names() == ["Chat", "ERP"]
    assert names(is_active="false") == ["Chat"]
    assert names(event_kind="handoff_accepted") == ["ERP"]
    assert names(updated_since="2999-01-01T00:00:00Z") == []
    assert client.get(API, {"event_kind": "nope"}).status_code == 400
    bad = client.get(API, {"updated_since": "yesterday"})
    assert bad.status_code == 400 and bad.json()["updated_since"] == "Enter a valid date/time."
    log = client.get(f"{API}{subscription.pk}/deliveries/", {"status": "failed"}).json()
    assert log["count"] == 1 and log["results"][0]["status"] == "failed"
    assert client.get(f"{API}{subscription.pk}/deliveries/", {"status": "x"}).status_code == 400
