"""The board: its filters, the actions on its cards, and a query count that does not grow
with the cards on it."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from handoffs.models import StallEpisode, WorkItem
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db
GATE = {"checklist": ["signed"], "fields": {"po_number": "PO-1", "amount": "10"}}


def _board(client, workflow, show=""):
    """The board with the filters `show` on: one name, or several joined by "+"."""
    url = reverse("handoffs:item-board-workflow", args=[workflow.pk])
    return client.get(url, {"show": show.split("+")} if show else {})


def _titles(response):
    return {item.title for column in response.context["columns"] for item in column["items"]}


@pytest.fixture
def cards(workflow, seller, member):
    """Mine (the seller's), someone else's in Ship, a stalled one, one due tomorrow."""
    mine = services.work_item_create(workflow=workflow, title="Mine", by=seller)
    WorkItem.objects.filter(pk=mine.pk).update(assignee=seller)
    shipped = services.work_item_create(workflow=workflow, title="Shipped", by=seller)
    transitions.handoff_submit(item=shipped, by=seller, **GATE)
    transitions.handoff_accept(item=shipped, by=member)
    stalled = services.work_item_create(workflow=workflow, title="Stalled", by=seller)
    StallEpisode.objects.create(
        item=stalled,
        kind=StallEpisode.Kind.STAGE_OVER_TARGET,
        started_at=timezone.now(),
        target=datetime.timedelta(hours=4),
        escalation_delay=datetime.timedelta(hours=8),
    )
    due = services.work_item_create(
        workflow=workflow,
        title="Due tomorrow",
        by=seller,
        due_date=timezone.localdate() + datetime.timedelta(days=1),
    )
    return {"mine": mine, "shipped": shipped, "stalled": stalled, "due": due}


@pytest.mark.parametrize(
    ("show", "expected"),
    [
        ("", {"Mine", "Shipped", "Stalled", "Due tomorrow"}),
        ("mine", {"Mine"}),
        ("team", {"Mine", "Stalled", "Due tomorrow"}),
        ("stalled", {"Stalled"}),
        ("due", {"Due tomorrow"}),
        ("nonsense", {"Mine", "Shipped", "Stalled", "Due tomorrow"}),
        ("team+due", {"Due tomorrow"}),
        ("team+stalled", {"Stalled"}),
        ("mine+team", {"Mine"}),
        ("mine+stalled", set()),
        ("team+nonsense", {"Mine", "Stalled", "Due tomorrow"}),
    ],
)
def test_the_board_filters_mine_my_team_stalled_and_due_soon(
    client, workflow, seller, cards, show, expected
):
    client.force_login(seller)
    response = _board(client, workflow, show)
    assert response.status_code == 200
    assert _titles(response) == expected
    counts = {c["stage"].name: c["count"] for c in response.context["columns"]}
    assert sum(counts.values()) == len(expected)


def test_a_card_offers_hand_off_to_its_team_and_accept_to_the_receiving_team(
    client, workflow, seller, lead, item
):
    client.force_login(seller)
    body = _board(client, workflow).content.decode()
    assert f'data-handoff="/work/{item.pk}/?panel=handoff"' in body
    assert "Hand off to Ship" in body

    transitions.handoff_submit(item=item, by=seller, **GATE)
    body = _board(client, workflow).content.decode()
    assert "Hand off to" not in body and ">Accept<" not in body  # Sales waits; Fulfilment accepts

    client.force_login(lead)
    body = _board(client, workflow).content.decode()
    assert ">Accept<" in body and 'draggable="true"' not in body


def test_accepting_from_a_card_returns_to_the_same_board(client, workflow, seller, lead, item):
    transitions.handoff_submit(item=item, by=seller, **GATE)
    client.force_login(lead)
    board = reverse("handoffs:item-board-workflow", args=[workflow.pk]) + "?show=team"
    response = client.post(reverse("handoffs:item-accept", args=[item.pk]), {"next": board})
    assert response.status_code == 302 and response["Location"] == board
    item.refresh_from_db()
    assert (item.state, item.assignee) == (WorkItem.State.IN_PROGRESS, lead)
    messages = [str(m) for m in client.get(board).context["messages"]]
    assert messages == ["Accepted “ACME order #1”: it is yours now."]


def test_accepting_twice_from_cards_says_someone_acted_and_changes_nothing(
    client, workflow, seller, lead, member, item
):
    transitions.handoff_submit(item=item, by=seller, **GATE)
    transitions.handoff_accept(item=item, by=member)
    client.force_login(lead)
    board = reverse("handoffs:item-board-workflow", args=[workflow.pk])
    response = client.post(
        reverse("handoffs:item-accept", args=[item.pk]), {"next": board}, follow=True
    )
    assert "not waiting for acceptance" in response.content.decode()
    item.refresh_from_db()
    assert item.assignee == member


def test_accept_never_returns_to_another_site(client, workflow, seller, lead, item):
    transitions.handoff_submit(item=item, by=seller, **GATE)
    client.force_login(lead)
    url = reverse("handoffs:item-accept", args=[item.pk])
    response = client.post(url, {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == item.get_absolute_url()


def test_an_outsider_cannot_accept_from_a_card(client, workflow, seller, outsider, item):
    transitions.handoff_submit(item=item, by=seller, **GATE)
    client.force_login(outsider)
    board = reverse("handoffs:item-board-workflow", args=[workflow.pk])
    response = client.post(
        reverse("handoffs:item-accept", args=[item.pk]), {"next": board}, follow=True
    )
    assert "Only the receiving team can accept" in response.content.decode()
    item.refresh_from_db()
    assert item.state == WorkItem.State.WAITING_ACCEPTANCE


@pytest.mark.parametrize("show", ["", "mine", "team", "stalled", "due", "mine+team+stalled+due"])
def test_the_boards_queries_do_not_grow_with_its_cards(
    client, workflow, seller, lead, cards, show, django_assert_max_num_queries
):
    """Card actions and filters cost a fixed number of queries, not one per card."""
    for n in range(10):
        extra = services.work_item_create(
            workflow=workflow, title=f"Extra {n}", by=seller, due_date=timezone.localdate()
        )
        if n % 2:
            transitions.handoff_submit(item=extra, by=seller, **GATE)
    client.force_login(lead)
    _board(client, workflow, show)
    with django_assert_max_num_queries(9):
        assert _board(client, workflow, show).status_code == 200


def test_my_teams_shows_nothing_to_someone_in_no_team_of_the_workflow(
    client, workflow, outsider, cards
):
    client.force_login(outsider)
    response = _board(client, workflow, "team")
    assert response.status_code == 200
    assert _titles(response) == set()
    assert "None that match." in response.content.decode()


def test_a_viewer_sees_the_board_without_card_actions(client, workflow, viewer, seller, item):
    transitions.handoff_submit(item=item, by=seller, **GATE)
    services.work_item_create(workflow=workflow, title="Still in Qualify", by=seller)
    client.force_login(viewer)
    body = _board(client, workflow).content.decode()
    assert "ACME order #1" in body and "Still in Qualify" in body
    assert ">Accept<" not in body and "Hand off to" not in body and "draggable" not in body


def test_the_toggles_say_which_filters_are_on_and_each_flips_only_itself(
    client, workflow, seller, cards
):
    client.force_login(seller)
    response = _board(client, workflow, "due+team")
    toggles = {t["name"]: t for t in response.context["filters"]}
    assert response.context["show"] == ["team", "due"]  # in the toggles' order
    assert [name for name, t in toggles.items() if t["on"]] == ["team", "due"]
    assert toggles["team"]["query"] == "show=due"
    assert toggles["stalled"]["query"] == "show=team&show=stalled&show=due"
    body = response.content.decode()
    assert 'href="?show=due"' in body and 'My teams<span class="visually-hidden"> (on)' in body
    assert "Clear: all open work" in body


def test_accepting_from_a_card_keeps_the_combined_filters(client, workflow, seller, lead, item):
    transitions.handoff_submit(item=item, by=seller, **GATE)
    client.force_login(lead)
    board = reverse("handoffs:item-board-workflow", args=[workflow.pk]) + "?show=team&show=due"
    response = client.post(
        reverse("handoffs:item-accept", args=[item.pk]), {"next": board}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 302 and response["Location"] == board
