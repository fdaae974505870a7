"""My work's one statement (home/lists.py) against the managers whose queries it restates:
for every persona, each list holds the same rows in the same order, cut at ROWS."""

import datetime

import pytest
from django.utils import timezone

from handoffs.models import (
    Decision,
    DecisionType,
    ProtocolVersion,
    Recovery,
    StallEpisode,
    Team,
    WorkItem,
)
from handoffs.work.services import work_item_create
from home.lists import ROWS, my_lists
from reviews.models import ActionItem, Breakage, Cause, Review

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def _managers(user, now):
    """Each list as the models' managers write it, ordered as the page orders it."""
    teams = Team.objects.of_user(user).values("pk")
    ids = {
        "waiting": WorkItem.objects.waiting_for_teams(teams).order_by("state_changed_at", "pk"),
        "in_progress": WorkItem.objects.filter(
            assignee=user, state=WorkItem.State.IN_PROGRESS
        ).order_by("stage_entered_at", "pk"),
        "recoveries": Recovery.objects.open()
        .filter(owner=user)
        .order_by("next_check_at", "pk")
        .values_list("item_id", flat=True),
        "decisions": Decision.objects.awaiting(user).order_by("requested_at", "pk"),
        "actions": ActionItem.objects.overdue(timezone.localdate(now))
        .filter(owner=user)
        .order_by("due_date", "pk")
        .values_list("title", flat=True),
        "stalls": StallEpisode.objects.open().filter(owner=user).order_by("started_at", "pk"),
    }
    return {
        name: list(qs if name in ("recoveries", "actions") else qs.values_list("pk", flat=True))[
            :ROWS
        ]
        for name, qs in ids.items()
    }


def _statement(user, now):
    lists = my_lists(user, now=now)
    key = {"decisions": "decision_id", "actions": "title", "stalls": "stall_id"}
    return {name: [row[key.get(name, "item_id")] for row in rows] for name, rows in lists.items()}


@pytest.fixture
def busy(workflow, teams, seller, member, lead, admin_user):
    """Rows for every list and every persona, with the cases each condition tells apart."""
    now = timezone.now()
    ship = workflow.stages.get(name="Ship")
    version = ProtocolVersion.objects.get(handoff__workflow=workflow)
    items = [work_item_create(workflow=workflow, title=f"Order {n}", by=seller) for n in range(16)]
    # Twelve handed to Ship (Fulfilment's stage), more than a list shows.
    for n, item in enumerate(items[:12]):
        WorkItem.objects.filter(pk=item.pk).update(
            stage=ship,
            state=WorkItem.State.WAITING_ACCEPTANCE,
            pending_version=version,
            state_changed_at=now - n * HOUR,
        )
    # One handed to Ship whose protocol names Sales as the receiving team.
    sales_version = ProtocolVersion.objects.create(
        handoff=version.handoff, number=2, receiving_team=teams["sales"]
    )
    WorkItem.objects.filter(pk=items[12].pk).update(
        stage=ship, state=WorkItem.State.WAITING_ACCEPTANCE, pending_version=sales_version
    )
    for n, item in enumerate(items[13:15]):
        WorkItem.objects.filter(pk=item.pk).update(
            stage=ship,
            state=WorkItem.State.IN_PROGRESS,
            assignee=member,
            stage_entered_at=now - n * HOUR,
        )
    Recovery.objects.create(
        item=items[15], kind="block", missing_input="PO", owner=member, next_check_at=now - HOUR
    )
    Recovery.objects.create(
        item=items[14], kind="block", missing_input="Old", owner=member, next_check_at=now,
        closed_at=now, cause=Cause.PROCESS,
    )  # fmt: skip
    DecisionType.objects.ensure_builtins(workflow)
    kind = DecisionType.objects.filter(workflow=workflow).first()
    # One pending decision an item.
    for on, requester, approver, status in (
        (items[13], lead, member, Decision.Status.PENDING),
        (items[14], member, lead, Decision.Status.PENDING),
        (items[13], lead, member, Decision.Status.APPROVED),
    ):
        Decision.objects.create(
            item=on, decision_type=kind, requester=requester, approver=approver,
            role="lead", level="red", summary="Ship first", status=status,
            decided_at=None if status == Decision.Status.PENDING else now,
        )  # fmt: skip
    review = Review.objects.create(week=datetime.date(2026, 11, 30))
    breakage = Breakage.objects.create(
        title="PO lost", workflow=workflow, kind=Cause.PROCESS, week=review.week
    )
    today = timezone.localdate(now)
    for title, owner, due, status, source in (
        ("Overdue from the review", member, today - 2 * DAY, "open", {"review": review}),
        ("Overdue from a breakage", member, today - DAY, "open", {"breakage": breakage}),
        ("Not due yet", member, today, "open", {}),
        ("Done already", member, today - DAY, "done", {}),
        ("The lead's", lead, today - DAY, "open", {}),
    ):
        closed = now if status == "done" else None
        ActionItem.objects.create(
            title=title, owner=owner, due_date=due, status=status, closed_at=closed, **source
        )
    for resolved in (None, now):
        StallEpisode.objects.create(
            item=items[0], kind=StallEpisode.Kind.HANDOFF_UNACCEPTED, started_at=now - HOUR,
            target=HOUR, escalation_delay=HOUR, owner=member, resolved_at=resolved,
        )  # fmt: skip
    return now


@pytest.mark.parametrize("who", ["member", "lead", "seller", "admin_user", "outsider", "viewer"])
def test_each_list_is_what_its_manager_says(busy, who, request):
    user = request.getfixturevalue(who)
    assert _statement(user, busy) == _managers(user, busy)


def test_the_fixture_fills_every_list(busy, member, admin_user):
    lists = _statement(member, busy)
    assert {name: len(rows) for name, rows in lists.items()} == {
        "waiting": ROWS, "in_progress": 2, "recoveries": 1, "decisions": 1, "actions": 2,
        "stalls": 1,
    }  # fmt: skip
    assert len(_statement(admin_user, busy)["decisions"]) == 2


def test_rows_carry_their_links_and_labels(busy, member):
    lists = my_lists(member, now=busy)
    actions = {row["title"]: row for row in lists["actions"]}
    review = actions["Overdue from the review"]
    assert review["source"] == "Breakage review, week of 30 Nov 2026"
    assert review["source_url"] == Review.objects.get().get_absolute_url()
    breakage = actions["Overdue from a breakage"]
    assert (breakage["source"], breakage["source_url"]) == (
        "PO lost",
        Breakage.objects.get().get_absolute_url(),
    )
    (decision,) = lists["decisions"]
    assert decision["url"] == Decision.objects.get(pk=decision["decision_id"]).get_absolute_url()
    assert decision["requester"] == "Lead"
    (stall,) = lists["stalls"]
    episode = StallEpisode.objects.get(pk=stall["stall_id"])
    assert stall["stall_url"] == episode.get_absolute_url()
    assert stall["kind"] == episode.get_kind_display()
    assert stall["url"] == episode.item.get_absolute_url()
    assert lists["recoveries"][0]["overdue"] is True
