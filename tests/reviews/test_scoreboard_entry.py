"""The review's scoreboard entry: each figure says its scope; a workflow's target stands
beside that workflow's own figure, never the all-workflows average."""

import pytest
from django.urls import reverse

from handoffs.models import Stage, Workflow
from scoreboard.services import quarter_target_set

pytestmark = pytest.mark.django_db


def test_a_target_is_shown_against_its_own_workflow_not_the_average_of_all(
    client, review, lead, workflow, deliver, teams
):
    other = Workflow.objects.create(name="Returns")
    Stage.objects.create(workflow=other, name="Refund", position=1, team=teams["fulfilment"])
    deliver(workflow, days=2)
    deliver(other, days=10)  # all workflows together: 6.0 days on average
    quarter_target_set(workflow=workflow, by=lead, metric="average", target_days="3")

    client.force_login(lead)
    page = client.get(reverse("reviews:review-detail", args=[review.pk])).content.decode()
    assert "Average cycle time · all measured workflows · this week" in page
    assert "Quarter targets · each workflow against its own figure this week" in page
    assert "<strong>Order to delivery</strong> · average cycle time this week:" in page
    assert "▼ 2.0 d, on target (≤ 3.0 d)" in page  # Order to delivery's own 2.0, not 6.0
    projector = client.get(reverse("reviews:review-projector", args=[review.pk]))
    assert "▼ 2.0 d, on target (≤ 3.0 d)" in projector.content.decode()


def test_a_working_time_target_is_shown_against_the_working_time_figure(
    client, review, lead, workflow, deliver, teams
):
    import datetime

    from handoffs.models import TeamCalendar
    from scoreboard.services import snapshot_rebuild

    # Fulfilment (the last stage) works 00–12 UTC every day: any 24 hours hold 12 of work.
    TeamCalendar.objects.create(
        team=teams["fulfilment"],
        time_zone="UTC",
        working_days=list(range(7)),
        day_start=datetime.time(0),
        day_end=datetime.time(12),
    )
    deliver(workflow, days=2)  # 2.0 calendar days, 1.0 day of working time
    snapshot_rebuild()
    quarter_target_set(
        workflow=workflow, by=lead, metric="average", target_days="1.5", clock="working"
    )

    client.force_login(lead)
    page = client.get(reverse("reviews:review-detail", args=[review.pk])).content.decode()
    assert "average cycle time (working time) this week:" in page
    assert "▼ 1.0 d, on target (≤ 1.5 d)" in page
