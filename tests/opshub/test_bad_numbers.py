"""Bad numbers in every id slot of every URL answer 400 or 404 (or a page that ignores them),
never 500: `²` (which `str.isdigit` accepts and `int` refuses), its percent-encoded form,
`-1`, `0`, and a 5000-digit number (which `int` refuses past 4300 digits).

The walk covers every URL pattern (its path ids; then every query-string and form parameter
the view reads, found by recording which keys it asks the request for), as an admin with a
session and, on /api/v1/, with an API token.
"""

import json
from urllib.parse import quote

import pytest
from django.db import transaction
from django.http import QueryDict
from django.test import Client

from opshub.accounts.models import ApiToken
from opshub.lib import signing
from opshub.lib.ids import parse_id, parse_int
from tests.test_permissions_matrix import LOGS_OUT, _path, _routes, org  # noqa: F401

pytestmark = pytest.mark.django_db

HUGE = "9" * 5000
BAD = ["²", "%C2%B2", "-1", "0", HUGE]
# In a query string or a form the percent-encoded `²` arrives as text like any other, and
# `0` is refused as `-1` is (not a positive id): one of each kind keeps the walk short.
BAD_VALUES = ["²", "-1", HUGE]
# The OpenAPI schema and its docs page read every filter's name to describe it; they take none.
SCHEMA = {"api/schema/", "api/docs/"}


@pytest.mark.parametrize("raw", ["²", "%C2%B2", "٣", "３", "-1", "0", HUGE, "1.0", "1e3", "", None])
def test_parse_id_refuses_anything_but_ascii_positive_whole_numbers(raw):
    assert parse_id(raw) is None


def test_parse_int_reads_signed_numbers_within_bounds():
    assert parse_int(" 42 ") == 42 and parse_int("-7") == -7 and parse_int(5, min=1) == 5
    assert parse_int("0", min=1) is None and parse_int("11", max=10) is None
    assert parse_int(True) is None and parse_int("9" * 20) is None


def test_a_signed_timestamp_of_unicode_or_5000_digits_is_refused_not_a_500():
    for timestamp in ("²", HUGE):
        signature = signing.sign("s3cret", timestamp, b"{}")
        reason = signing.verify("s3cret", timestamp=timestamp, signature=signature, body=b"{}")
        assert reason == "X-Opshub-Timestamp must be Unix seconds."


# --- Walking every URL ---------------------------------------------------------------------


def _admin_clients(org):  # noqa: F811
    admin = org["personas"]["admin"]
    session = Client(raise_request_exception=False)
    session.force_login(admin)
    _, raw = ApiToken.issue(user=admin, name="bad numbers")
    api = Client(raise_request_exception=False, headers={"authorization": f"Token {raw}"})
    return session, api


def _filled(route, org):  # noqa: F811
    from tests.test_permissions_matrix import MATRIX, _route_key

    obj = MATRIX[_route_key(route)][0]
    return dict(org[obj]) if obj else {}


def _id_slots(route, params):
    """The path parameters that hold an id (DRF's <pk> too; tokens and slugs are not ids)."""
    return [
        name
        for name in params
        if name in ("pk", "type_pk", "workflow_pk") and isinstance(params[name], int)
    ]


@pytest.fixture
def reads(monkeypatch):
    """The query-string and form keys views ask for, recorded while they answer."""
    keys = set()
    for method in ("get", "getlist", "__getitem__", "__contains__"):
        original = getattr(QueryDict, method)

        def recording(self, key, *args, _original=original, **kwargs):
            keys.add(key)
            return _original(self, key, *args, **kwargs)

        monkeypatch.setattr(QueryDict, method, recording)
    return keys


def _rolled_back(send):
    """A POST's writes are undone so the walk sees the same organisation on every route."""
    with transaction.atomic():
        response = send()
        transaction.set_rollback(True)
    return response


def _in_path(client, route, params):
    for name in _id_slots(route, params):
        for bad in BAD:
            path = _path(route, {**params, name: quote(bad, safe="")})
            yield "GET", path, client.get(path).status_code
            yield "POST", path, _rolled_back(lambda p=path: client.post(p)).status_code


def _in_query_and_form(client, base, reads):
    # A probe key, so views that bind a form only to a non-empty query or POST read it.
    reads.clear()
    client.get(base, {"probe": "1"})
    for name in sorted(reads - {"probe"}):
        for bad in BAD_VALUES:
            yield "GET", f"{base}?{name}={bad}", client.get(base, {name: bad}).status_code
    reads.clear()
    _rolled_back(lambda: client.post(base, {"probe": "1"}))
    # A protocol's typed fields (`field_<key>`) are walked too: a 5000-digit number in a
    # money field is the typed field's refusal, never a 500.
    for name in sorted(reads - {"probe"}):
        for bad in BAD_VALUES:
            response = _rolled_back(lambda n=name, v=bad: client.post(base, {n: v}))
            yield "POST", f"{base} {name}={bad}", response.status_code


def _in_json(client, base, reads):
    """The API's JSON bodies: the keys its form-encoded POST read, given what JSON adds to
    the strings sent already (numbers and lists)."""
    for name in sorted(reads - {"probe"}):
        for bad in (-1, 0, [HUGE], ["²"]):
            body = json.dumps({name: bad})
            response = _rolled_back(
                lambda d=body: client.post(base, d, content_type="application/json")
            )
            yield "POST", f"{base} {{{name}: {str(bad)[:12]}}}", response.status_code


def _answers(org, reads):  # noqa: F811
    """(method, url, status) of every bad-number request of the walk."""
    session, api = _admin_clients(org)
    for key, routes in sorted(_routes().items()):
        if key in LOGS_OUT or key == "api/v1/.*":
            continue
        route, params = routes[0], _filled(routes[0], org)
        client = api if key.startswith("api/") else session
        base = _path(route, params)
        yield from _in_path(client, route, params)
        if key not in SCHEMA:
            yield from _in_query_and_form(client, base, reads)
        if key.startswith("api/v1/") and not params:  # the lists, where POST creates
            yield from _in_json(client, base, reads)


def test_no_bad_number_in_a_path_query_or_form_answers_500(org, reads):  # noqa: F811
    failures = [
        f"{method} {url[:160]} -> {status}"
        for method, url, status in _answers(org, reads)
        if status >= 500
    ]
    assert not failures, "\n".join(failures)


def test_a_bad_id_in_a_path_is_not_found(org):  # noqa: F811
    session, api = _admin_clients(org)
    workflow = org["workflow"]["pk"]
    for bad in ("0", HUGE):
        assert session.get(f"/workflows/{bad}/").status_code == 404
        assert api.get(f"/api/v1/workflows/{bad}/").status_code == 404
    assert session.get(f"/workflows/{workflow}/decisions/types/{HUGE}/").status_code == 404


@pytest.mark.parametrize("bad", BAD)
def test_the_pages_that_took_unicode_digits_to_a_500_answer_404_or_ignore_them(org, bad):  # noqa: F811
    session, api = _admin_clients(org)
    handoff = org["handoff"]["pk"]
    assert session.get(f"/protocols/{handoff}/print/", {"version": bad}).status_code == 404
    assert session.get(f"/protocols/{handoff}/diff/", {"a": bad, "b": "1"}).status_code == 404
    assert session.get("/map/", {"workflow": bad}).status_code == 200
    assert session.get("/reviews/breakages/new/", {"item": bad}).status_code == 200
    assert session.get("/work/", {"page": bad}).status_code == 200
    response = api.get("/api/v1/decisions/", {"decision_type": bad})  # an id or a key
    if bad == HUGE:
        assert response.status_code == 400 and "decision_type" in response.json()
    else:
        assert response.status_code == 200 and response.json()["results"] == []
    response = api.post(
        "/api/v1/decisions/",
        {"work_item": org["item"]["pk"], "decision_type": bad, "summary": "Discount"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "decision_type" in response.json()


@pytest.mark.parametrize("bad", ["²", "-1", HUGE])
def test_a_breakage_naming_an_item_by_a_bad_number_is_refused_on_its_field(org, bad):  # noqa: F811
    session, _ = _admin_clients(org)
    response = session.post(
        "/reviews/breakages/new/",
        {"title": "Lost PO", "workflow": org["workflow"]["pk"], "item_ids": bad},
    )
    assert response.status_code == 400
    assert "Use item numbers only" in response.content.decode()


def test_an_api_filter_with_unicode_digits_is_a_400_naming_it(org):  # noqa: F811
    _, api = _admin_clients(org)
    for bad in ("²", "３", HUGE):
        response = api.get("/api/v1/work-items/", {"workflow": bad})
        assert response.status_code == 400
        assert response.json()["workflow"] == "Enter a whole number."
