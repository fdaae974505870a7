"""Protocol field values PostgreSQL cannot store, or that are not the field's type, sent to
the API: each is a 400 naming the field, and nothing is stored and no event appended.

Bodies are encoded here with json.dumps, as a hostile client would send them: a lone
surrogate travels as its JSON escape (\\ud800), which any JSON parser accepts.
"""

import json

import pytest
from rest_framework.test import APIClient

from handoffs.models import Event, IntakeSource, WorkItem
from tests.handoffs import test_intake

pytestmark = pytest.mark.django_db

BASE = "/api/v1/work-items/"

crm_source = test_intake.crm_source

# (field key, hostile value, the start of its message)
HOSTILE = [
    ("po_number", "PO-\x001", "PO number cannot contain a null character"),
    ("po_number", "PO-\ud8001", "PO number cannot contain a lone surrogate"),
    ("po_number", {"id": 1}, "PO number must be a single value, not a list or an object"),
    ("po_number", ["PO-1"], "PO number must be a single value, not a list or an object"),
    ("notes", "x" * 10001, "Notes must be at most 10000 characters"),
    ("amount", "1e400", "Amount must have at most 15 digits before the decimal point"),
    ("amount", "9" * 5000, "Amount must have at most 15 digits before the decimal point"),
    ("amount", 1e300, "Amount must have at most 15 digits before the decimal point"),
    ("amount", "1000000000000000", "Amount must have at most 15 digits before the decimal point"),
    ("amount", "\x00", "Amount cannot contain a null character"),
]


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def _counts():
    return WorkItem.objects.count(), Event.objects.count()


@pytest.mark.parametrize(("key", "value", "message"), HOSTILE)
def test_creating_an_item_with_a_hostile_field_value_is_refused_naming_it(
    key, value, message, workflow, seller
):
    before = _counts()
    body = {"workflow": workflow.pk, "title": "Deal 1", "fields": {key: value}}
    response = _send(_client(seller), "post", BASE, body)
    assert response.status_code == 400
    assert response.json()["fields." + key][0].startswith(message)
    assert _counts() == before


@pytest.mark.parametrize(("key", "value", "message"), HOSTILE)
def test_a_handoff_with_a_hostile_field_value_is_refused_naming_it(
    key, value, message, item, seller
):
    before = _counts()
    fields = {"po_number": "PO-1", "amount": "10", key: value}
    body = {"checklist": ["signed"], "fields": fields}
    response = _send(_client(seller), "post", f"{BASE}{item.pk}/handoff/", body)
    assert response.status_code == 400
    assert response.json()["field_errors"][key].startswith(message)
    item.refresh_from_db()
    assert item.fields == {} and item.stage.name == "Qualify" and _counts() == before


@pytest.mark.parametrize(("key", "value", "message"), HOSTILE)
def test_editing_an_item_with_a_hostile_field_value_is_refused_naming_it(
    key, value, message, item, seller
):
    before = _counts()
    body = {"title": "Renamed", "fields": {key: value}}
    response = _send(_client(seller), "patch", f"{BASE}{item.pk}/", body)
    assert response.status_code == 400
    assert response.json()["fields." + key][0].startswith(message)
    item.refresh_from_db()
    assert item.title == "ACME order #1" and item.fields == {} and _counts() == before


@pytest.mark.parametrize("key", ["po\x00number", "po\ud800number"])
def test_an_unknown_field_key_with_an_unstorable_character_is_named_escaped(key, item, seller):
    body = {"checklist": ["signed"], "fields": {key: "x"}}
    response = _send(_client(seller), "post", f"{BASE}{item.pk}/handoff/", body)
    assert response.status_code == 400
    escaped = key.replace("\x00", "\\x00").replace("\ud800", "\\ud800")
    assert response.json()["field_errors"] == {escaped: "This workflow has no such field."}
    response = _send(_client(seller), "patch", f"{BASE}{item.pk}/", {"fields": {key: "x"}})
    assert response.status_code == 400 and f"fields.{escaped}" in response.json()


def test_a_valid_value_next_to_the_limits_is_stored(item, seller):
    fields = {"po_number": "PO-é€😀", "amount": "999999999999999.99", "notes": "n" * 10000}
    body = {"checklist": ["signed"], "fields": fields}
    response = _send(_client(seller), "post", f"{BASE}{item.pk}/handoff/", body)
    assert response.status_code == 200, response.json()
    item.refresh_from_db()
    assert item.fields["amount"] == "999999999999999.99"
    assert item.fields["po_number"] == "PO-é€😀"


# --- Intake-source mappings -------------------------------------------------------------


def _source_body(workflow, mapping):
    return {
        "name": "HubSpot",
        "slug": "hubspot",
        "workflow": workflow.pk,
        "stage": workflow.stages.get(name="Ship").pk,
        "mapping": mapping,
    }


@pytest.mark.parametrize(
    ("mapping", "target", "message"),
    [
        ({"title": "deal.\x00name"}, "title", "The path cannot contain a null character"),
        ({"title": "deal.\ud800"}, "title", "The path cannot contain a lone surrogate"),
        (
            {"title": "deal.name", "external_ref": "deal.\x00id"},
            "external_ref",
            "The path cannot contain a null character",
        ),
        (
            {"title": "deal.name", "fields": {"po_number": "deal.po\x00"}},
            "fields.po_number",
            "The path cannot contain a null character",
        ),
        (
            {"title": "deal.name", "fields": {"po_number": "{deal.\udc00po}"}},
            "fields.po_number",
            "The path cannot contain a lone surrogate",
        ),
        (
            {"title": "deal.name", "fields": {"po\x00number": "deal.po"}},
            "fields.po\\x00number",
            "“po\\x00number” is not a field of Order to delivery.",
        ),
        (
            {"title": "deal.name", "fields": {"po\ud800": "deal.po"}},
            "fields.po\\ud800",
            "“po\\ud800” is not a field of Order to delivery.",
        ),
    ],
)
def test_a_mapping_with_an_unstorable_path_or_key_is_refused_per_target(
    mapping, target, message, workflow, admin_user
):
    body = _source_body(workflow, mapping)
    response = _send(_client(admin_user), "post", "/api/v1/intake-sources/", body)
    assert response.status_code == 400
    assert response.json()["mapping"][target].startswith(message)
    assert not IntakeSource.objects.exists()


def test_an_unknown_mapping_key_with_a_null_character_is_named_escaped(workflow, admin_user):
    body = _source_body(workflow, {"title": "deal.name", "x\x00": "deal.x"})
    response = _send(_client(admin_user), "post", "/api/v1/intake-sources/", body)
    assert response.status_code == 400
    assert response.json()["mapping"]["mapping"] == "Unknown keys: x\\x00."
    assert not IntakeSource.objects.exists()


def test_editing_a_source_mapping_to_an_unstorable_path_keeps_the_old_one(workflow, admin_user):
    body = _source_body(workflow, {"title": "deal.name"})
    created = _send(_client(admin_user), "post", "/api/v1/intake-sources/", body)
    assert created.status_code == 201, created.json()
    url = f"/api/v1/intake-sources/{created.json()['id']}/"
    response = _send(_client(admin_user), "patch", url, {"mapping": {"title": "deal.\x00"}})
    assert response.status_code == 400 and "title" in response.json()["mapping"]
    assert IntakeSource.objects.get().mapping == {"title": "deal.name"}


@pytest.mark.parametrize(
    ("target", "value"),
    [("title_path", "deal.\x00name"), ("field_paths", "po_number = deal.\x00po")],
)
def test_the_source_form_refuses_a_path_with_a_null_character(
    target, value, client, admin_user, workflow
):
    client.force_login(admin_user)
    form = {"name": "CRM", "slug": "crm", "stage": workflow.stages.first().pk}
    response = client.post(
        "/integrations/intake/new/", {"title_path": "deal.name", **form, target: value}
    )
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not IntakeSource.objects.exists()


def test_a_delivery_with_an_overflowing_amount_is_refused_naming_the_field(crm_source):
    deal = {**test_intake.DEAL, "deal": {**test_intake.DEAL["deal"], "amount": "1e400"}}
    response = test_intake.post_signed(deal)
    assert response.status_code == 400
    assert "Amount must have at most 15" in str(response.json()["errors"]["fields.amount"])
    assert not WorkItem.objects.exists() and not Event.objects.exists()
