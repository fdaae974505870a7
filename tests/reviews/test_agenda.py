import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Cause, Recovery
from reviews.models import ActionItem, AgendaEntry, Review, week_of
from reviews.services import build_agenda

pytestmark = pytest.mark.django_db


def _keys(review):
    return [entry.key for entry in build_agenda(review)]


def test_the_agenda_builds_itself_from_the_weeks_data(review, item, log_breakage, lead):
    breakage = log_breakage()
    recovery = Recovery.objects.create(
        item=item,
        kind=Recovery.Kind.BLOCK,
        missing_input="credit check",
        next_check_at=timezone.now(),
    )
    last_week = log_breakage(occurred_at=timezone.now() - datetime.timedelta(days=8))
    ActionItem.objects.create(
        title="Make PO required", owner=lead, due_date=timezone.localdate(), breakage=last_week
    )
    keys = _keys(review)
    assert keys == [
        "scoreboard",
        f"breakage:{breakage.pk}",
        f"recovery:{recovery.pk}",
        "stalls",
        "repeats",
        "actions",
        "checks",
    ]
    entries = {e.key: e for e in build_agenda(review)}
    assert [a.title for a in entries["actions"].data] == ["Make PO required"]
    # Same place and kind twice in four weeks: a repeat, highlighted.
    assert entries[f"breakage:{breakage.pk}"].is_repeat
    assert entries["repeats"].data[0]["times"] == 2


def test_scoreboard_movement_compares_with_last_week(review, workflow, deliver):
    monday = timezone.make_aware(datetime.datetime.combine(review.week, datetime.time(12)))
    now = timezone.now()
    deliver(workflow, days=4, ago=now - monday)
    deliver(workflow, days=6, ago=now - monday)
    deliver(workflow, days=8, ago=now - monday + datetime.timedelta(days=7))
    movement = build_agenda(review)[0].data
    assert movement["this"]["count"] == 2
    assert movement["this"]["avg_days"] == 5.0
    assert movement["last"]["avg_days"] == 8.0
    assert movement["delta"] == -3.0


def test_the_facilitator_marks_entries_reviewed_or_dismissed(client, review, lead, log_breakage):
    breakage = log_breakage()
    client.force_login(lead)
    url = reverse("reviews:entry-mark", args=[review.pk])
    key = f"breakage:{breakage.pk}"
    response = client.post(url, {"key": key, "state": "reviewed"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "✓ Reviewed" in response.content.decode()
    assert "<html" not in response.content.decode()
    client.post(url, {"key": key, "state": "dismissed"})
    assert AgendaEntry.objects.get(review=review, key=key).state == "dismissed"
    assert {e.key: e.state for e in build_agenda(review)}[key] == "dismissed"


def test_marking_an_unknown_entry_or_state_changes_nothing(client, review, lead):
    client.force_login(lead)
    url = reverse("reviews:entry-mark", args=[review.pk])
    client.post(url, {"key": "breakage:999", "state": "reviewed"})
    client.post(url, {"key": "scoreboard", "state": "maybe"})
    assert not AgendaEntry.objects.exists()


@pytest.mark.parametrize("persona", ["member", "outsider", "viewer"])
def test_only_facilitators_mark_entries(client, review, persona, request):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("reviews:entry-mark", args=[review.pk])
    assert client.post(url, {"key": "scoreboard", "state": "reviewed"}).status_code == 403
    assert not AgendaEntry.objects.exists()


def test_the_review_page_lists_the_agenda_in_bounded_queries(
    client, review, lead, log_breakage, item, django_assert_max_num_queries
):
    for n in range(6):
        log_breakage(title=f"Breakage {n}", items=[item], kind=Cause.TOOL)
    client.force_login(lead)
    with django_assert_max_num_queries(40):
        response = client.get(review.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('class="card agenda-entry') == 6 + 5


def test_anonymous_users_are_sent_to_login(client, review):
    for name in ("review-detail", "review-projector"):
        response = client.get(reverse(f"reviews:{name}", args=[review.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response.url
    assert client.get(reverse("reviews:review-list")).status_code == 302


def test_a_lead_opens_this_weeks_review_and_a_member_cannot(client, lead, member, workflow):
    url = reverse("reviews:review-current")
    client.force_login(member)
    assert client.post(url).status_code == 403
    client.force_login(lead)
    response = client.post(url)
    review = Review.objects.get()
    assert response.url == review.get_absolute_url()
    assert review.week == week_of() and review.facilitator == lead


def test_review_list_pins_its_queries(
    client, viewer, lead, workflow, django_assert_max_num_queries
):
    for weeks in range(5):
        Review.objects.create(week=week_of() - datetime.timedelta(weeks=weeks), facilitator=lead)
    client.force_login(viewer)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("reviews:review-list")).status_code == 200


def test_the_quarters_target_comes_from_the_scoreboard(review, workflow, deliver, lead):
    from scoreboard.models import QuarterTarget

    QuarterTarget.objects.create(
        workflow=workflow, metric="average", target=datetime.timedelta(days=5), set_by=lead
    )
    deliver(workflow, days=4)
    deliver(workflow, days=8)
    [target] = build_agenda(review)[0].data["targets"]
    assert target["workflow"] == "Order to delivery"
    assert (target["target_days"], target["value_days"], target["on_target"]) == (5.0, 6.0, False)
