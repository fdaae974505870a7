"""Every JSON API endpoint parses bodies strictly (opshub.lib.jsonbody through DRF's parser):
deep nesting, NaN/Infinity, NUL and lone surrogates are a 400 JSON answer that changes
nothing, never a 500 HTML page."""

import json

import pytest
from rest_framework.test import APIClient

from handoffs.models import Decision, Event, WorkItem
from opshub.lib import jsonbody

pytestmark = pytest.mark.django_db

# (body, message, where the message stands: the whole body's "detail" or the named field)
HOSTILE = {
    "deep nesting": ("[" * 100000, "nested deeper than", "detail"),
    "NaN": ('{"title": NaN}', "NaN is not a JSON number", "detail"),
    "Infinity": ('{"title": "x", "fields": {"amount": Infinity}}', "Infinity is not", "detail"),
    "huge float": ('{"title": "x", "fields": {"amount": 1e400}}', "too large", "detail"),
    "deep fields": ('{"fields": {"a": ' + "[" * 100000 + "}", "nested deeper than", "detail"),
    "NUL": ('{"title": "a\\u0000b"}', "NUL character", "title"),
    "lone surrogate": ('{"title": "\\ud800"}', "lone surrogate", "title"),
}


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _endpoints(item):
    return [
        "/api/v1/work-items/",
        f"/api/v1/work-items/{item.pk}/handoff/",
        "/api/v1/decisions/",
    ]


@pytest.mark.parametrize("body, message, where", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_body_is_a_400_json_answer_that_changes_nothing(
    item, seller, body, message, where
):
    client = _client(seller)
    before = (WorkItem.objects.count(), Event.objects.count(), Decision.objects.count())

    for url in _endpoints(item):
        response = client.post(url, body, content_type="application/json")

        assert response.status_code == 400, (url, response.content[:200])
        assert response["Content-Type"] == "application/json"
        answer = response.json()[where]
        assert message in (answer if where == "detail" else answer[0]), url

    after = (WorkItem.objects.count(), Event.objects.count(), Decision.objects.count())
    assert after == before
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS


def test_a_surrogate_pair_and_ordinary_nesting_still_parse(item, seller, workflow):
    response = _client(seller).post(
        "/api/v1/work-items/",
        # ASCII JSON: the emoji travels as the surrogate pair \ud83d\ude80.
        json.dumps({"workflow": workflow.pk, "title": "Launch \U0001f680", "fields": {}}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    assert WorkItem.objects.get(pk=response.json()["id"]).title == "Launch \U0001f680"


@pytest.mark.parametrize(
    "text",
    ["[" * 65 + "]" * 65, '{"a": [{"b": "\\udc00"}]}', '{"\\u0000": 1}', "-Infinity", "1" * 5000],
)
def test_the_loader_refuses_what_it_cannot_store(text):
    with pytest.raises(jsonbody.BodyError):
        jsonbody.loads(text)


def test_the_loader_takes_nesting_up_to_its_limit_and_utf8_bytes():
    assert jsonbody.loads("[" * 64 + "]" * 64) is not None
    assert jsonbody.loads('{"name": "Zoë"}'.encode()) == {"name": "Zoë"}


def test_storable_text_escapes_nul_and_lone_surrogates():
    assert jsonbody.storable_text("a\x00b\ud800c") == "a\\u0000b\\ud800c"
    assert jsonbody.storable_text("plain Zoë \U0001f680") == "plain Zoë \U0001f680"
