"""Fixtures for the breakage review: this week's review, delivered history, a logged breakage."""

import datetime

import pytest
from django.utils import timezone


@pytest.fixture
def review(workflow, lead):
    from reviews.models import Review, week_of

    return Review.objects.create(week=week_of(), facilitator=lead)


@pytest.fixture
def handoff(workflow):
    return workflow.handoffs.get()


@pytest.fixture
def deliver():
    """Creates a delivered item with a given cycle time, delivered `ago` before now."""
    from handoffs.models import WorkItem

    def make(workflow, *, days, ago=datetime.timedelta(hours=1), title="Delivered order"):
        delivered = timezone.now() - ago
        return WorkItem.objects.create(
            workflow=workflow,
            stage=workflow.stages.order_by("-position").first(),
            title=title,
            state=WorkItem.State.DONE,
            requested_at=delivered - datetime.timedelta(days=days),
            delivered_at=delivered,
        )

    return make


@pytest.fixture
def log_breakage(lead, workflow):
    from handoffs.models import Cause
    from reviews.services import breakage_log

    def make(**kwargs):
        kwargs.setdefault("by", lead)
        kwargs.setdefault("title", "Order arrived without a PO number")
        kwargs.setdefault("workflow", workflow)
        kwargs.setdefault("kind", Cause.PROCESS)
        return breakage_log(**kwargs)

    return make


@pytest.fixture
def ready_review(review, member, seller, log_breakage):
    """This week's review with two attendees, a breakage and its action item: ready to close."""
    from reviews.models import ActionItem

    review.attendees.set([member, seller])
    breakage = log_breakage(title="Address missing at handoff")
    ActionItem.objects.create(
        review=review,
        breakage=breakage,
        title="Address becomes a required field",
        owner=member,
        due_date=timezone.localdate() + datetime.timedelta(days=7),
    )
    return review
