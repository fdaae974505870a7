"""Schemathesis fuzzes every /api/v1/ operation from /api/schema/ over the WSGI app.

Bounded (a few examples per operation) so it runs in `make test`; it asserts no 500s and
responses that match the schema: status codes, content types and bodies. The schema is
loaded at collection (serving it touches no database); the requests run per test, inside
the test's transaction, with data from the conftest personas and workflow.

The schema says only that `fields` is an object, so the operations that take it get a
`fields` built from the workflow's published field definitions instead, with valid and
hostile values (NUL, lone surrogates, objects, overflowing numbers), sent to the real
workflow and item so the values reach the field checks rather than a 404.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from handoffs.models import WorkItem
from handoffs.work.services import workflow_field_definitions
from opshub.accounts.models import ApiToken
from opshub.wsgi import application
from tests.handoffs.field_strategies import field_values

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# The coverage phase adds dozens of boundary cases per operation: too slow for `make test`.
schema.config.phases.coverage.enabled = False

TAKES_FIELDS = {
    ("POST", "/api/v1/work-items/"),
    ("POST", "/api/v1/work-items/{id}/handoff/"),
    ("PATCH", "/api/v1/work-items/{id}/"),
}


@schema.hook
def flatmap_case(context, case):
    """Runs while the test runs, so it reads the test's item and its workflow's fields."""
    operation = (case.method.upper(), case.path)
    if operation not in TAKES_FIELDS or case.media_type != "application/json":
        return st.just(case)
    item = WorkItem.objects.select_related("workflow").order_by("pk").first()
    definitions = list(workflow_field_definitions(item.workflow).values())

    def with_fields(fields):
        case.body = {**(case.body if isinstance(case.body, dict) else {}), "fields": fields}
        if "workflow" in case.body:
            case.body["workflow"] = item.workflow_id
        if "id" in case.path_parameters:
            case.path_parameters = {**case.path_parameters, "id": item.pk}
        return case

    # Lone surrogates are left out: schemathesis cannot encode them (the property tests send
    # them, JSON-escaped).
    return field_values(definitions, surrogates=False).map(with_fields)


@pytest.fixture
def admin_token(db, item, admin_user):
    """Like Django's test client, requests must not close the connection at their end (it
    holds the test transaction), so close_old_connections is unhooked meanwhile."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield ApiToken.issue(user=admin_user, name="fuzz")[1]
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Reproducible and bounded: the same examples on every run, no example database.
fuzz = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@fuzz
def test_the_api_answers_every_generated_request_within_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)


fields_schema = schema.include(name=[" ".join(operation) for operation in TAKES_FIELDS])


@fields_schema.parametrize()
@settings(fuzz, max_examples=40)
def test_work_item_fields_of_every_type_and_hostile_values_never_give_a_500(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
