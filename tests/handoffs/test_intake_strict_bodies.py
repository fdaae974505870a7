"""Hostile bodies at the intake webhook: the signature is checked first, every refusal is a
JSON 4xx and a log row that PostgreSQL can store, never a 500."""

import json
import time

import pytest
from django.test import Client

from handoffs.integrations.intake import MAX_BODY_BYTES
from handoffs.models import IntakeDelivery, WorkItem
from opshub.lib.signing import sign
from tests.handoffs import test_intake
from tests.handoffs.test_intake import DEAL, SECRET, post_signed

crm_source = test_intake.crm_source

HOSTILE = {
    "NaN": (b'{"deal": {"name": "x", "amount": NaN}}', "NaN is not a JSON number"),
    "Infinity": (b'{"deal": {"name": "x", "amount": -Infinity}}', "Infinity is not"),
    "huge float": (b'{"deal": {"name": "x", "amount": 1e400}}', "too large"),
    "NUL": (b'{"deal": {"name": "a\\u0000b"}}', "NUL"),
    "lone surrogate": (b'{"deal": {"name": "\\ud800"}}', "lone surrogate"),
    "surrogate key": (b'{"\\udfff": 1}', "lone surrogate"),
    "deep nesting": (b"[" * 100000, "nested deeper than"),
    "nesting over the limit": (b"[" * 65 + b"]" * 65, "nested deeper than"),
    "raw NUL byte": (b'{"deal": \x00}', "not valid JSON"),
    "not UTF-8": (b'{"deal": "\xff"}', "not UTF-8"),
}


@pytest.mark.parametrize("body, message", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_signed_hostile_body_is_a_logged_400(crm_source, body, message):
    response = post_signed(body)

    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert not WorkItem.objects.exists()
    delivery = IntakeDelivery.objects.get()
    assert (delivery.status, delivery.http_status, delivery.payload) == ("rejected", 400, None)
    assert message in delivery.reason
    assert "\x00" not in delivery.body


@pytest.mark.parametrize("body, message", HOSTILE.values(), ids=HOSTILE.keys())
def test_an_unsigned_hostile_body_is_refused_for_its_signature_first(crm_source, body, message):
    response = post_signed(body, secret="not-the-secret")

    assert response.status_code == 401
    assert "signature does not match" in response.json()["detail"]
    delivery = IntakeDelivery.objects.get()
    assert (delivery.status, delivery.http_status) == ("rejected", 401)


def test_a_refused_body_is_logged_with_nul_and_surrogates_escaped(crm_source):
    post_signed(b'{"name": "a\x00b"}', secret="wrong", event_id="evt\x00\udc80")

    delivery = IntakeDelivery.objects.get()
    assert delivery.body == '{"name": "a\\u0000b"}'
    assert delivery.event_id == "evt\\u0000\\udc80"


def test_an_event_id_header_with_nul_is_refused(crm_source):
    response = post_signed(DEAL, event_id="evt\x00")

    assert response.status_code == 400
    assert "X-Opshub-Event-Id" in response.json()["detail"]
    assert not WorkItem.objects.exists()


def test_a_valid_surrogate_pair_and_moderate_nesting_are_accepted(crm_source):
    payload = {**DEAL, "deal": {**DEAL["deal"], "name": "Launch \U0001f680"}, "x": [[[[1]]]]}
    body = json.dumps(payload).encode()  # ASCII, the emoji as the pair \ud83d\ude80

    response = post_signed(body)

    assert response.status_code == 201, response.content
    assert WorkItem.objects.get().title == "ACME: Launch \U0001f680"


def test_an_oversized_body_is_a_logged_413(crm_source):
    body = b" " * (MAX_BODY_BYTES + 1)
    timestamp = str(int(time.time()))

    response = Client().post(
        "/api/v1/intake/crm/",
        body,
        content_type="application/json",
        HTTP_X_OPSHUB_TIMESTAMP=timestamp,
        HTTP_X_OPSHUB_SIGNATURE=sign(SECRET, timestamp, body),
    )

    assert response.status_code == 413
    assert "larger than 256 KB" in response.json()["detail"]
    delivery = IntakeDelivery.objects.get()
    assert (delivery.status, delivery.http_status, delivery.body) == ("rejected", 413, "")


@pytest.mark.parametrize("length", ["²", "9" * 5000, "-1"])
def test_a_content_length_that_is_no_whole_number_is_a_logged_413(crm_source, length):
    body = json.dumps(DEAL).encode()
    timestamp = str(int(time.time()))

    response = Client().post(
        "/api/v1/intake/crm/",
        body,
        content_type="application/json",
        CONTENT_LENGTH=length,
        HTTP_X_OPSHUB_TIMESTAMP=timestamp,
        HTTP_X_OPSHUB_SIGNATURE=sign(SECRET, timestamp, body),
    )

    assert response.status_code == 413
    assert not WorkItem.objects.exists()
    assert IntakeDelivery.objects.get().http_status == 413
