"""Properties of the payload mapping and the signature check, for any JSON a sender may post."""

import datetime
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoffs.integrations.intake import (
    map_payload,
    render,
    resolve,
    validate_mapping,
)
from opshub.lib.signing import sign, verify
from tests.handoffs.field_strategies import hostile_text

# Any code point, NUL and lone surrogates included: a JSON body may escape either.
characters = st.characters(codec=None, exclude_categories=()) | st.just("\x00")
keys = st.text(alphabet=characters.filter(lambda c: c not in ".{}"), min_size=1)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(characters)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)
objects = st.dictionaries(keys, json_values, max_size=6)


def leaf_paths(value, prefix=()):
    """Every (path, value) pair of a JSON document, the path as a tuple of parts."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from leaf_paths(child, (*prefix, key))
    elif isinstance(value, list) and value:
        for index, child in enumerate(value):
            yield from leaf_paths(child, (*prefix, str(index)))
    else:
        yield prefix, value


@settings(max_examples=60, deadline=None)
@given(objects)
def test_every_leaf_is_reachable_by_its_dotted_path(payload):
    for parts, value in leaf_paths(payload):
        if parts:
            assert resolve(payload, ".".join(parts)) == value


@settings(max_examples=60, deadline=None)
@given(objects, st.text(max_size=40))
def test_mapping_never_raises_and_reports_a_missing_title(payload, path):
    mapped = map_payload({"title": path or "x", "external_ref": "a.b"}, payload)
    assert mapped.title or mapped.missing or mapped.errors
    assert len(mapped.title) <= 200 and len(mapped.external_ref) <= 120


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_a_template_substitutes_each_path(name, company):
    payload = {"deal": {"name": name, "company": company}}
    value, missing = render("{deal.company}: {deal.name}", payload)
    assert (value, missing) == (f"{company}: {name}", [])


@settings(max_examples=60, deadline=None)
@given(objects)
def test_a_template_with_an_absent_path_names_it(payload):
    value, missing = render("Deal {no.such.path}", {"x": payload})
    assert value is None and missing == ["no.such.path"]


@given(st.binary(max_size=200), st.text(min_size=1, max_size=40))
def test_a_signature_verifies_only_for_its_own_body(body, secret):
    now = datetime.datetime.now(datetime.UTC)
    timestamp = str(int(now.timestamp()))
    signature = sign(secret, timestamp, body)
    assert verify(secret, timestamp=timestamp, signature=signature, body=body, now=now) is None
    assert verify(secret, timestamp=timestamp, signature=signature, body=body + b"x", now=now)
    assert verify(secret + "x", timestamp=timestamp, signature=signature, body=body, now=now)


@given(st.integers(min_value=301, max_value=10**7), st.sampled_from([-1, 1]))
def test_a_timestamp_more_than_five_minutes_off_is_refused(skew, sign_of_skew):
    now = datetime.datetime(2026, 11, 20, tzinfo=datetime.UTC)
    timestamp = str(max(int(now.timestamp()) + skew * sign_of_skew, 0))
    signature = sign("s", timestamp, b"{}")
    problem = verify("s", timestamp=timestamp, signature=signature, body=b"{}", now=now)
    assert "seconds off" in problem


mappings = st.fixed_dictionaries(
    {"title": hostile_text},
    optional={
        "external_ref": hostile_text,
        "requested_at": hostile_text,
        "fields": st.dictionaries(st.sampled_from(["po_number", "amount"]) | hostile_text, keys),
    },
)


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mappings)
def test_a_mapping_is_refused_or_storable_and_its_errors_encodable(workflow, mapping):
    errors = validate_mapping(mapping, workflow)
    json.dumps(errors, ensure_ascii=False).encode("utf-8")  # the API's answer can be sent
    if not errors:
        stored = json.dumps(mapping, ensure_ascii=False)
        assert "\x00" not in stored and stored.encode("utf-8")
