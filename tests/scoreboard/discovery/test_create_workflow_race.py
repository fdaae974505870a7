"""Two requests creating a workflow from one log at once, each on its own connection."""

import pytest
from django.core.exceptions import ValidationError

from handoffs.models import Workflow
from scoreboard.discovery.models import Baseline
from scoreboard.discovery.services import baseline_create, workflow_from_baseline
from tests.handoffs.test_race import _at_once

pytestmark = pytest.mark.django_db(transaction=True)

LOG = (
    "case_id,activity,timestamp\n"
    "A,Won,2025-03-03T09:00:00Z\nA,Ship,2025-03-04T09:00:00Z\n"
    "B,Won,2025-03-03T10:00:00Z\nB,Ship,2025-03-05T10:00:00Z\n"
)


def test_two_creates_from_one_log_at_once_make_one_workflow(lead, teams):
    baseline = baseline_create(name="log.csv", data=LOG.encode(), by=lead)
    stages = [("Won", teams["sales"]), ("Ship", teams["fulfilment"])]
    results = _at_once(
        lambda: workflow_from_baseline(baseline=baseline, by=lead, name="One", stages=stages),
        lambda: workflow_from_baseline(baseline=baseline, by=lead, name="Two", stages=stages),
    )
    created = [r for r in results if isinstance(r, Workflow)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(created) == 1 and len(refused) == 1, results
    assert "already created from this log" in " ".join(refused[0].messages)
    assert Workflow.objects.filter(name__in=["One", "Two"]).count() == 1
    assert Baseline.objects.get().workflow == created[0]
    assert created[0].items.count() == 2
