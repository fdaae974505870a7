"""seed_workflows: realistic workflows across the demo's teams, every handoff governed."""

import random

import pytest

from handoffs.demo.organisation import seed_org, seed_workflows
from handoffs.models import Handoff, ProtocolVersion, Stage, Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def ctx():
    ctx = {"password": "demo-pass-123", "rng": random.Random(7), "items": 0, "days": 90}
    seed_org(ctx)
    seed_workflows(ctx)
    return ctx


def test_the_demo_maps_real_workflows_across_five_or_more_teams(ctx):
    names = set(Workflow.objects.counted().values_list("name", flat=True))
    assert {"Order to delivery", "Client onboarding", "Content production"} <= names
    assert Workflow.objects.filter(is_sandbox=True).exists()
    assert Stage.objects.values("team").distinct().count() >= 5
    order = ctx["workflows"]["Order to delivery"]
    teams = [s.team.name for s in order.stages.order_by("position")]
    assert teams[0] == "Sales" and teams[1] == "Finance" and teams[-1] == "Support"
    assert "Fulfilment" in teams


def test_every_demo_handoff_has_a_valid_published_protocol_with_some_history(ctx):
    for handoff in Handoff.objects.all():
        version = handoff.published()
        assert version is not None, handoff
        assert version.publish_problems() == [], handoff
    assert ProtocolVersion.objects.filter(status="published", number__gt=1).count() >= 2
    assert ProtocolVersion.objects.filter(status="draft").count() == 1
