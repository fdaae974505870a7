"""My work: a member's home after signing in; the scoreboard stays at `/` and one click away,
and a lead may choose it as their home. The navigation shows Inbox (with its count), Stalls
and Import/Export."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Decision, DecisionType, StallEpisode
from handoffs.work import transitions
from opshub.accounts.models import User
from reviews.models import ActionItem

pytestmark = pytest.mark.django_db

MY_WORK = reverse("home:my-work")


def _submit(item, seller):
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )


def test_my_work_lists_what_waits_for_the_person(client, workflow, item, seller, member, lead):
    _submit(item, seller)
    mine = transitions.handoff_accept(item=item, by=member)
    waiting = transitions.handoff_submit  # a second item, waiting for Fulfilment
    from handoffs.work.services import work_item_create

    second = work_item_create(workflow=workflow, title="Beta order", by=seller)
    waiting(item=second, by=seller, checklist=["signed"], fields={"po_number": "P", "amount": "1"})
    blocked = work_item_create(workflow=workflow, title="Gamma order", by=seller)
    transitions.item_block(item=blocked, by=seller, missing_input="Signed PO", owner=member)
    DecisionType.objects.ensure_builtins(workflow)
    Decision.objects.create(
        item=mine,
        decision_type=DecisionType.objects.filter(workflow=workflow).first(),
        requester=lead,
        role="lead",
        level="red",
        summary="Ship before payment",
        status=Decision.Status.PENDING,
        approver=member,
    )
    ActionItem.objects.create(
        title="Add the PO check to the protocol",
        owner=member,
        due_date=timezone.localdate() - datetime.timedelta(days=2),
    )
    StallEpisode.objects.create(
        item=mine,
        kind=StallEpisode.Kind.STAGE_OVER_TARGET,
        started_at=timezone.now(),
        target=datetime.timedelta(hours=1),
        escalation_delay=datetime.timedelta(hours=2),
        owner=member,
    )
    client.force_login(member)
    response = client.get(MY_WORK)
    assert response.status_code == 200
    context = response.context
    assert [i["title"] for i in context["waiting"]] == ["Beta order"]
    assert [i["title"] for i in context["in_progress"]] == ["ACME order #1"]
    assert [r["missing_input"] for r in context["recoveries"]] == ["Signed PO"]
    assert [d["summary"] for d in context["decisions"]] == ["Ship before payment"]
    assert [a["title"] for a in context["actions"]] == ["Add the PO check to the protocol"]
    assert [s["item_id"] for s in context["stalls"]] == [mine.pk]
    page = response.content.decode()
    assert f'href="{reverse("scoreboard:dashboard")}"' in page


def test_someone_else_sees_none_of_it(client, item, seller, outsider):
    _submit(item, seller)
    client.force_login(outsider)
    context = client.get(MY_WORK).context
    assert not any(context[k] for k in ("waiting", "in_progress", "recoveries", "decisions"))


def test_my_work_needs_a_login(client):
    response = client.get(MY_WORK)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_my_work_has_a_fixed_query_count(
    client, workflow, item, seller, member, django_assert_max_num_queries
):
    from handoffs.work.services import work_item_create

    for n in range(5):
        extra = work_item_create(workflow=workflow, title=f"Order {n}", by=seller)
        _submit(extra, seller)
        transitions.handoff_accept(item=extra, by=member)
    client.force_login(member)
    client.get(MY_WORK)
    # The session, the user, the navigation's counts and the six lists in one statement.
    with django_assert_max_num_queries(4):
        assert client.get(MY_WORK).status_code == 200


def test_signing_in_lands_a_member_on_my_work(client, member):
    response = client.post(
        reverse("login"), {"username": member.email, "password": "correct-horse-battery"}
    )
    assert response["Location"] == reverse("accounts:home")
    assert client.get(reverse("accounts:home"))["Location"] == MY_WORK


def test_the_home_url_stays_the_scoreboard(client, member):
    client.force_login(member)
    response = client.get("/")
    assert response.status_code == 200
    assert response.resolver_match.namespace == "scoreboard"


def test_a_lead_may_choose_the_scoreboard_as_home(client, lead):
    client.force_login(lead)
    assert client.get(reverse("accounts:home"))["Location"] == MY_WORK
    assert "After signing in, open" in client.get(reverse("accounts:settings")).content.decode()
    response = client.post(reverse("accounts:home-choose"), {"home": "scoreboard"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.home == User.Home.SCOREBOARD
    assert client.get(reverse("accounts:home"))["Location"] == reverse("scoreboard:dashboard")


def test_a_member_cannot_choose_a_home(client, member):
    client.force_login(member)
    assert "After signing in, open" not in client.get(reverse("accounts:settings")).content.decode()
    assert client.post(reverse("accounts:home-choose"), {"home": "scoreboard"}).status_code == 403
    member.refresh_from_db()
    assert member.home == User.Home.MY_WORK


def test_a_bad_home_choice_says_so_and_changes_nothing(client, lead):
    client.force_login(lead)
    response = client.post(reverse("accounts:home-choose"), {"home": "nowhere"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    lead.refresh_from_db()
    assert lead.home == User.Home.MY_WORK


def test_a_viewer_lands_on_the_scoreboard(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("accounts:home"))["Location"] == reverse("scoreboard:dashboard")


def test_the_nav_shows_inbox_with_its_count_stalls_and_import(client, item, seller, member):
    _submit(item, seller)
    client.force_login(member)
    page = client.get(MY_WORK).content.decode()
    assert f'href="{reverse("handoffs:inbox")}"' in page
    assert '1<span class="visually-hidden"> waiting to accept</span>' in page
    assert f'href="{reverse("handoffs:stall-list")}"' in page
    assert f'href="{reverse("handoffs:import-upload")}"' in page


def test_viewers_get_no_my_work_or_import_link(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("handoffs:item-list")).content.decode()
    assert f'href="{MY_WORK}"' not in page
    assert f'href="{reverse("handoffs:import-upload")}"' not in page
    assert f'href="{reverse("handoffs:stall-list")}"' in page
