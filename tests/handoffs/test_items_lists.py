"""The list, board and inbox: filters, pagination, and query counts that do not grow with rows."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from handoffs.models import WorkItem
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db

GATE = {"checklist": ["signed"], "fields": {"po_number": "PO-1", "amount": "10"}}


@pytest.fixture
def many(workflow, seller, member):
    """Twelve items: some handed off and waiting, some accepted, one bounced, one old."""
    items = []
    for n in range(12):
        requested = timezone.now() - datetime.timedelta(days=40 if n == 0 else n % 3)
        item = services.work_item_create(
            workflow=workflow,
            title=f"Order {n}",
            by=seller,
            requested_at=requested,
            external_ref=f"D-{n}",
        )
        if n % 2:
            transitions.handoff_submit(item=item, by=seller, **GATE)
        if n % 4 == 1:
            transitions.handoff_accept(item=item, by=member)
        if n == 3:
            transitions.handoff_bounce(item=item, by=member, missing_input="PO number")
        items.append(item)
    return items


def _titles(response):
    return [item.title for item in response.context["page"]]


def test_the_list_filters_by_state_stage_team_owner_age_and_search(client, many, seller, member):
    client.force_login(member)
    url = reverse("handoffs:item-list")
    assert len(_titles(client.get(url))) == 12
    waiting = _titles(client.get(url, {"state": "waiting_acceptance"}))
    assert sorted(waiting) == ["Order 11", "Order 7"]
    ship = many[1].stage.workflow.stages.get(name="Ship")
    assert len(_titles(client.get(url, {"stage": ship.pk}))) == 5
    fulfilment = ship.team
    assert len(_titles(client.get(url, {"team": fulfilment.pk}))) == 5
    assert _titles(client.get(url, {"owner": member.pk})) == ["Order 9", "Order 1", "Order 5"]
    assert _titles(client.get(url, {"age": "30"})) == ["Order 0"]
    assert sorted(_titles(client.get(url, {"q": "order 1"}))) == ["Order 1", "Order 10", "Order 11"]
    assert _titles(client.get(url, {"q": "d-7"})) == ["Order 7"]
    blocked = _titles(client.get(url, {"state": "blocked"}))
    assert blocked == ["Order 3"]


def test_the_list_paginates_and_htmx_gets_only_the_results(client, many, member, settings):
    client.force_login(member)
    response = client.get(reverse("handoffs:item-list"), {"page": 1}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="results"' in html and "<html" not in html and "12 items" in html


def test_list_board_and_inbox_queries_do_not_grow_with_items(
    client, many, member, workflow, django_assert_max_num_queries
):
    client.force_login(member)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("handoffs:item-list"), {"state": "all"}).status_code == 200
    with django_assert_max_num_queries(10):
        board = client.get(reverse("handoffs:item-board-workflow", args=[workflow.pk]))
    assert board.status_code == 200
    assert [c["count"] for c in board.context["columns"]] == [7, 5]
    with django_assert_max_num_queries(12):
        inbox = client.get(reverse("handoffs:inbox"))
    assert len(inbox.context["waiting"]) == 2


def test_the_inbox_shows_what_waits_for_my_team_and_the_inputs_i_owe(client, many, seller, lead):
    client.force_login(lead)
    html = client.get(reverse("handoffs:inbox")).content.decode()
    assert "Order 7" in html and "Order 11" in html
    team = many[0].workflow.stages.get(name="Ship").team
    html = client.get(reverse("handoffs:inbox"), {"team": team.pk}).content.decode()
    assert "Bounced back by the team" in html and "PO number" in html
    client.force_login(seller)
    mine = client.get(reverse("handoffs:inbox"))
    assert [r.item.title for r in mine.context["recoveries"]] == ["Order 3"]
    assert not mine.context["waiting"]


def test_the_board_redirects_to_a_workflow_and_marks_stalls(client, many, member, workflow):
    from handoffs.models import StallEpisode

    item = many[7]
    StallEpisode.objects.create(
        item=item,
        kind=StallEpisode.Kind.HANDOFF_UNACCEPTED,
        started_at=timezone.now() - datetime.timedelta(days=1),
        target=datetime.timedelta(hours=4),
        escalation_delay=datetime.timedelta(hours=8),
    )
    client.force_login(member)
    response = client.get(reverse("handoffs:item-board"))
    assert response.status_code == 302
    html = client.get(response.url).content.decode()
    assert "Order 7" in html and "card is-stalled" in html


def test_every_item_replays_to_its_state(many):
    for item in WorkItem.objects.all():
        assert item.replayed_state() == (
            item.stage_id,
            item.state,
            item.assignee_id,
            item.delivered_at,
        ), item.title


def test_the_list_counts_only_so_far_past_the_page_and_older_pages_stay_reachable(
    client, many, member, monkeypatch
):
    """At 100,000 items an exact count of a broad filter costs more than the page itself:
    the list counts `COUNT_AHEAD` rows past the page and says "N+" (opshub.lib.paginator)."""
    monkeypatch.setattr("opshub.lib.paginator.COUNT_AHEAD", 5)
    monkeypatch.setattr("handoffs.work.views.ITEMS_PER_PAGE", 2)
    client.force_login(member)
    url = reverse("handoffs:item-list")
    first = client.get(url, {"state": "all"})
    html = first.content.decode()
    assert "5+ items · page 1 of 3+" in html
    assert "page=2" in html  # "Older →"
    # Page 5 counts five rows past its own first row: all twelve are in reach now.
    fifth = client.get(url, {"state": "all", "page": 5})
    assert "12 items · page 5 of 6" in fifth.content.decode()
    assert len(_titles(fifth)) == 2
    # Past the end, or not a number: the last page, or the first.
    assert client.get(url, {"state": "all", "page": 99}).context["page"].number == 6
    assert client.get(url, {"state": "all", "page": "x"}).context["page"].number == 1


def test_a_search_counts_fewer_matches_past_the_page_than_a_filter(
    client, many, member, monkeypatch
):
    """A title search's count rechecks each match in the table, so it stops sooner
    (SEARCH_COUNT_AHEAD) than a filter's, which an index answers."""
    monkeypatch.setattr("opshub.lib.paginator.COUNT_AHEAD", 8)
    monkeypatch.setattr("handoffs.work.views.SEARCH_COUNT_AHEAD", 3)
    monkeypatch.setattr("handoffs.work.views.ITEMS_PER_PAGE", 2)
    client.force_login(member)
    url = reverse("handoffs:item-list")
    assert "8+ items · page 1 of 4+" in client.get(url, {"state": "all"}).content.decode()
    searched = client.get(url, {"state": "all", "q": "order"}).content.decode()
    assert "3+ items · page 1 of 2+" in searched
    assert "page=2" in searched  # "Older →" goes on past the count


def test_board_cards_escape_what_users_typed(client, workflow, seller, member):
    services.work_item_create(workflow=workflow, title="<script>alert(1)</script> & co", by=seller)
    client.force_login(member)
    html = client.get(reverse("handoffs:item-board-workflow", args=[workflow.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<script>alert(1)" not in html
    assert "no owner" in html and 'class="badge state-in_progress">In progress<' in html


def test_list_rows_escape_what_users_typed(client, workflow, seller, member):
    services.work_item_create(
        workflow=workflow, title="<b>bold</b> & co", by=seller, external_ref='R"><script>x'
    )
    client.force_login(member)
    html = client.get(reverse("handoffs:item-list")).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html and "<b>bold" not in html
    assert "R&quot;&gt;&lt;script&gt;x" in html and "<script>x" not in html
