"""Signed CRM webhooks become work items in fulfilment's inbox; replays and forgeries do not."""

import json
import time

import pytest
from django.test import Client

from handoffs.models import Event, IntakeDelivery, IntakeSource, WorkItem
from opshub.accounts.models import ApiToken
from opshub.lib.signing import sign

SECRET = "whsec_test-secret"
DEAL = {
    "event": {"id": "evt_1001", "type": "deal.closed"},
    "deal": {
        "id": "D-42",
        "name": "ACME rollout",
        "company": "ACME",
        "closed_at": "2026-11-20T09:30:00Z",
        "po": "PO-777",
        "amount": 12500,
    },
}


@pytest.fixture
def crm_source(workflow, admin_user):
    return IntakeSource.objects.create(
        name="CRM",
        slug="crm",
        secret=SECRET,
        workflow=workflow,
        stage=workflow.stages.get(name="Ship"),
        mapping={
            "title": "{deal.company}: {deal.name}",
            "external_ref": "deal.id",
            "requested_at": "deal.closed_at",
            "fields": {"po_number": "deal.po", "amount": "deal.amount"},
        },
        event_id_path="event.id",
        created_by=admin_user,
    )


def post_signed(payload, *, slug="crm", secret=SECRET, timestamp=None, event_id=None, client=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "HTTP_X_OPSHUB_TIMESTAMP": timestamp,
        "HTTP_X_OPSHUB_SIGNATURE": sign(secret, timestamp, body),
    }
    if event_id:
        headers["HTTP_X_OPSHUB_EVENT_ID"] = event_id
    client = client or Client(enforce_csrf_checks=True)
    return client.post(f"/api/v1/intake/{slug}/", body, content_type="application/json", **headers)


def test_a_signed_deal_closed_becomes_one_item_in_the_fulfilment_inbox(crm_source, lead, client):
    response = post_signed(DEAL)

    assert response.status_code == 201, response.content
    item = WorkItem.objects.get(pk=response.json()["item"])
    assert item.title == "ACME: ACME rollout"
    assert (item.stage.name, item.state) == ("Ship", WorkItem.State.IN_PROGRESS)
    assert item.source == "intake:crm" and item.external_ref == "D-42"
    assert item.fields == {"po_number": "PO-777", "amount": "12500.00"}
    assert item.requested_at.isoformat() == "2026-11-20T09:30:00+00:00"
    assert item.assignee == lead
    assert list(item.events.values_list("kind", flat=True)) == [Event.Kind.CREATED]
    delivery = IntakeDelivery.objects.get()
    assert (delivery.status, delivery.event_id, delivery.item) == ("accepted", "evt_1001", item)
    assert delivery.payload == DEAL

    client.force_login(lead)
    inbox = client.get("/work/inbox/", {"team": lead.led_teams.get().pk})
    assert "ACME: ACME rollout" in inbox.content.decode()


def test_replays_create_nothing(crm_source):
    first = post_signed(DEAL)
    replays = [post_signed(DEAL) for _ in range(3)]

    assert first.status_code == 201
    assert [r.status_code for r in replays] == [200, 200, 200]
    assert {r.json()["status"] for r in replays} == {"duplicate"}
    assert WorkItem.objects.count() == 1
    assert Event.objects.count() == 1
    statuses = list(IntakeDelivery.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["accepted", "duplicate", "duplicate", "duplicate"]


def test_a_new_event_for_a_known_external_ref_is_a_duplicate(crm_source):
    post_signed(DEAL)
    again = {**DEAL, "event": {"id": "evt_2002"}}

    response = post_signed(again, event_id="hdr-9")

    assert response.status_code == 200
    assert response.json() == {"status": "duplicate", "item": WorkItem.objects.get().pk}
    assert IntakeDelivery.objects.latest("pk").event_id == "hdr-9"


def test_the_header_event_id_wins_and_a_body_without_one_is_identified_by_its_hash(crm_source):
    crm_source.event_id_path = ""
    crm_source.mapping = {"title": "deal.name"}
    crm_source.save()

    now = int(time.time())
    assert post_signed(DEAL, timestamp=now).status_code == 201
    assert post_signed(DEAL, timestamp=now - 10).status_code == 200
    assert IntakeDelivery.objects.latest("pk").event_id.startswith("sha256:")
    # A new event id on a new signed message (another timestamp) is a new event.
    assert post_signed(DEAL, event_id="evt-x", timestamp=now - 20).status_code == 201
    assert WorkItem.objects.count() == 2


def test_an_event_id_header_is_enough_when_the_mapped_id_field_is_absent(crm_source):
    without_id = {key: value for key, value in DEAL.items() if key != "event"}

    assert post_signed(without_id, event_id="evt-header").status_code == 201
    assert post_signed(without_id, event_id="evt-header").status_code == 200
    assert WorkItem.objects.count() == 1


def test_a_wrong_signature_is_refused_and_logged(crm_source):
    response = post_signed(DEAL, secret="not-the-secret")

    assert response.status_code == 401
    assert "signature does not match" in response.json()["detail"]
    assert not WorkItem.objects.exists()
    delivery = IntakeDelivery.objects.get()
    assert (delivery.status, delivery.http_status) == ("rejected", 401)
    # A forgery is not parsed: its raw body is logged as text.
    assert delivery.payload is None and json.loads(delivery.body) == DEAL


def test_a_body_changed_after_signing_is_refused(crm_source):
    timestamp = str(int(time.time()))
    signature = sign(SECRET, timestamp, json.dumps(DEAL).encode())
    tampered = json.dumps({**DEAL, "deal": {**DEAL["deal"], "amount": 1}}).encode()

    response = Client().post(
        "/api/v1/intake/crm/",
        tampered,
        content_type="application/json",
        HTTP_X_OPSHUB_TIMESTAMP=timestamp,
        HTTP_X_OPSHUB_SIGNATURE=signature,
    )

    assert response.status_code == 401
    assert not WorkItem.objects.exists()


def test_missing_signature_headers_are_refused(crm_source):
    response = Client().post("/api/v1/intake/crm/", DEAL, content_type="application/json")

    assert response.status_code == 401
    assert "X-Opshub-Timestamp" in response.json()["detail"]


@pytest.mark.parametrize("offset", [-310, 310, -3600])
def test_an_expired_timestamp_is_refused_with_the_reason(crm_source, offset):
    response = post_signed(DEAL, timestamp=int(time.time()) + offset)

    assert response.status_code == 401
    assert "seconds off" in response.json()["detail"]
    assert not WorkItem.objects.exists()
    assert IntakeDelivery.objects.get().status == "rejected"


def test_an_unmappable_payload_is_a_400_naming_what_is_missing(crm_source):
    payload = {"event": {"id": "evt_3"}, "deal": {"name": "No id", "company": "ACME"}}

    response = post_signed(payload)

    assert response.status_code == 400
    body = response.json()
    assert body["missing"] == ["external_ref (deal.id)", "requested_at (deal.closed_at)"]
    assert "deal.id" in body["detail"]
    assert not WorkItem.objects.exists() and not Event.objects.exists()
    assert IntakeDelivery.objects.get().reason == body["detail"]


def test_an_invalid_field_value_creates_nothing(crm_source):
    payload = {**DEAL, "deal": {**DEAL["deal"], "amount": "lots"}}

    response = post_signed(payload)

    assert response.status_code == 400
    assert "fields.amount" in response.json()["errors"]
    assert not WorkItem.objects.exists() and not Event.objects.exists()
    assert IntakeDelivery.objects.get().status == "rejected"
    # The refused event id stays free: the corrected payload goes through.
    assert post_signed(DEAL).status_code == 201


def test_a_body_that_is_not_json_is_a_400(crm_source):
    response = post_signed(b"deal closed!")

    assert response.status_code == 400
    assert IntakeDelivery.objects.get().body == "deal closed!"


def test_unknown_and_inactive_sources_are_404(crm_source):
    assert post_signed(DEAL, slug="nope").status_code == 404
    crm_source.is_active = False
    crm_source.save()
    assert post_signed(DEAL).status_code == 404
    assert not WorkItem.objects.exists()


# --- /api/v1/intake-sources/ ------------------------------------------------------------------


def _token_client(user):
    _, raw = ApiToken.issue(user=user, name="script")
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def test_an_admin_script_creates_a_source_and_sees_the_secret_once(workflow, admin_user):
    api = _token_client(admin_user)
    body = {
        "name": "HubSpot",
        "slug": "hubspot",
        "workflow": workflow.pk,
        "stage": workflow.stages.get(name="Ship").pk,
        "mapping": {"title": "deal.name", "external_ref": "deal.id"},
    }

    created = api.post("/api/v1/intake-sources/", body, content_type="application/json")

    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    source = IntakeSource.objects.get(slug="hubspot")
    assert secret == source.secret and secret.startswith("whsec_")
    shown = api.get(f"/api/v1/intake-sources/{source.pk}/").json()
    assert "secret" not in shown and shown["secret_hint"] == source.secret_hint
    assert secret not in api.get("/api/v1/intake-sources/").content.decode()
    response = post_signed({"deal": {"name": "X", "id": "1"}}, slug="hubspot", secret=secret)
    assert response.status_code == 201


def test_source_api_refuses_a_mapping_that_cannot_work(workflow, admin_user):
    api = _token_client(admin_user)
    body = {
        "name": "Bad",
        "slug": "bad",
        "workflow": workflow.pk,
        "stage": workflow.stages.get(name="Ship").pk,
        "mapping": {"external_ref": "deal.id", "fields": {"colour": "deal.colour"}},
    }

    response = api.post("/api/v1/intake-sources/", body, content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()["mapping"]) == {"title", "fields.colour"}
    assert not IntakeSource.objects.exists()


def test_source_api_is_for_admins_only(crm_source, lead, viewer):
    assert Client().get("/api/v1/intake-sources/").status_code == 401
    assert _token_client(lead).get("/api/v1/intake-sources/").status_code == 403
    assert _token_client(viewer).get(f"/api/v1/intake-sources/{crm_source.pk}/").status_code == 403


def test_source_api_lists_deliveries_with_their_payload(crm_source, admin_user):
    post_signed(DEAL)
    post_signed(DEAL, secret="wrong")

    response = _token_client(admin_user).get(f"/api/v1/intake-sources/{crm_source.pk}/deliveries/")

    assert [d["status"] for d in response.json()["results"]] == ["rejected", "accepted"]
    assert response.json()["results"][1]["payload"] == DEAL


def test_a_mapped_due_date_reaches_the_item(crm_source):
    crm_source.mapping = {**crm_source.mapping, "due_date": "deal.due"}
    crm_source.save(update_fields=["mapping"])
    payload = {**DEAL, "deal": {**DEAL["deal"], "due": "2026-12-24"}}
    response = post_signed(payload)
    assert response.status_code == 201, response.content
    assert WorkItem.objects.get(pk=response.json()["item"]).due_date.isoformat() == "2026-12-24"
