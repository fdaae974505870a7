"""Properties of protocol field values through the API, for a protocol with every field type
and any mix of valid and hostile values (NUL, lone surrogates, objects, overflowing numbers):
the API stores what it can, refuses exactly the bad keys by name, and never answers 500."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient

from handoffs.models import Event, Handoff, ProtocolVersion, Stage, Workflow, WorkItem
from handoffs.work.services import work_item_create
from handoffs.workflows.fields import clean_value, printable
from tests.handoffs.field_strategies import ALL_TYPES, field_values

pytestmark = pytest.mark.django_db

BASE = "/api/v1/work-items/"
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def typed_workflow(teams):
    """Two stages and a published protocol asking for one field of every type (optional)."""
    workflow = Workflow.objects.create(name="Every field type")
    first = Stage.objects.create(workflow=workflow, name="Sell", position=1, team=teams["sales"])
    Stage.objects.create(workflow=workflow, name="Ship", position=2, team=teams["fulfilment"])
    ProtocolVersion.objects.create(
        handoff=Handoff.objects.create(workflow=workflow, from_stage=first),
        number=1,
        status=ProtocolVersion.Status.PUBLISHED,
        published_at=timezone.now(),
        checklist=[{"id": "ok", "text": "Checked", "help": "", "required": True}],
        fields=ALL_TYPES,
    )
    return workflow


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _refused_keys(fields):
    """The keys clean_value refuses (or that no definition has), as the API names them."""
    definitions = {defn["key"]: defn for defn in ALL_TYPES}
    refused = set()
    for key, raw in fields.items():
        try:
            if key not in definitions:
                raise ValidationError("unknown")
            clean_value(definitions[key], raw)
        except ValidationError:
            refused.add(printable(key))
    return refused


def _storable(values):
    encoded = json.dumps(values, ensure_ascii=False, allow_nan=False)
    return "\x00" not in encoded and bool(encoded.encode("utf-8"))


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


@EXAMPLES
@given(fields=field_values(ALL_TYPES))
def test_any_fields_on_create_are_stored_or_refused_by_name(fields, typed_workflow, seller):
    refused = _refused_keys(fields)
    with transaction.atomic():
        before = (WorkItem.objects.count(), Event.objects.count())
        body = {"workflow": typed_workflow.pk, "title": "Deal", "fields": fields}
        response = _post(_client(seller), BASE, body)
        if refused:
            assert response.status_code == 400
            named = {key.removeprefix("fields.") for key in response.json()["errors"]}
            assert named == refused
            assert (WorkItem.objects.count(), Event.objects.count()) == before
        else:
            assert response.status_code == 201, response.json()
            item = WorkItem.objects.get(pk=response.json()["id"])
            assert set(item.fields) <= set(fields) and _storable(item.fields)
        transaction.set_rollback(True)


@EXAMPLES
@given(fields=field_values(ALL_TYPES))
def test_any_fields_on_a_handoff_are_stored_or_refused_by_name(fields, typed_workflow, seller):
    refused = _refused_keys(fields)
    with transaction.atomic():
        item = work_item_create(workflow=typed_workflow, title="Deal", by=seller)
        events = item.events.count()
        body = {"checklist": ["ok"], "fields": fields}
        response = _post(_client(seller), f"{BASE}{item.pk}/handoff/", body)
        item.refresh_from_db()
        if refused:
            assert response.status_code == 400
            assert set(response.json()["field_errors"]) == refused
            assert item.fields == {} and item.events.count() == events
        else:
            assert response.status_code == 200, response.json()
            assert item.stage.name == "Ship" and _storable(item.fields)
        transaction.set_rollback(True)
