"""Schemathesis fuzzes every /api/v1/ operation from /api/schema/ over the WSGI app.

Bounded (a few examples per operation) so it runs in `make test`; it asserts no 500s and
responses that match the schema: status codes, content types and bodies. The schema is
loaded at collection (serving it touches no database); the requests run per test, inside
the test's transaction, with data from the conftest personas and workflow.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from opshub.accounts.models import ApiToken
from opshub.wsgi import application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# The coverage phase adds dozens of boundary cases per operation: too slow for `make test`.
schema.config.phases.coverage.enabled = False


@pytest.fixture
def admin_token(db, item, admin_user):
    """Like Django's test client, requests must not close the connection at their end (it
    holds the test transaction), so close_old_connections is unhooked meanwhile."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield ApiToken.issue(user=admin_user, name="fuzz")[1]
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_every_generated_request_within_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
