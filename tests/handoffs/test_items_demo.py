"""seed_demo's work items: realistic histories whose state equals their replayed events."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from handoffs.models import Event, Recovery, WorkItem
from opshub.accounts.models import User

pytestmark = pytest.mark.django_db


def test_seeded_items_have_histories_that_replay_to_their_state():
    call_command("seed_demo", items=300, days=90, seed=3, stdout=StringIO())
    states = Counter(WorkItem.objects.values_list("state", flat=True))
    assert sum(states.values()) >= 300
    assert states["done"] > sum(states.values()) / 2
    assert states["in_progress"] and states["waiting_acceptance"]
    assert Event.objects.filter(kind=Event.Kind.HANDOFF_BOUNCED).exists()
    assert Recovery.objects.exclude(cause="").exists()
    for item in WorkItem.objects.all():
        assert item.replayed_state() == (
            item.stage_id,
            item.state,
            item.assignee_id,
            item.delivered_at,
        ), item.title
    lead = User.objects.get(email="lead@example.com")
    bounced_by_lead = Recovery.objects.open().filter(opened_by=lead)
    assert bounced_by_lead.exists(), "the demo lead has a bounced order waiting in the inbox"
