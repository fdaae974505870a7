import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from reviews.models import ActionItem, Review
from reviews.services import action_item_set_status, build_agenda, repeat_checks

pytestmark = pytest.mark.django_db


def _post_action(client, review, **data):
    return client.post(reverse("reviews:action-create", args=[review.pk]), data)


def test_the_facilitator_records_the_one_small_change(
    client, review, lead, member, log_breakage, handoff
):
    breakage = log_breakage(handoff=handoff)
    client.force_login(lead)
    due = timezone.localdate() + datetime.timedelta(days=7)
    response = _post_action(
        client,
        review,
        title="PO number required on the Qualify handoff",
        owner=member.pk,
        due_date=due.isoformat(),
        breakage=breakage.pk,
    )
    assert response.status_code == 302
    action = ActionItem.objects.get()
    assert (action.owner, action.due_date, action.review) == (member, due, review)
    # Linked to the breakage's handoff protocol, at the version enforced today.
    assert action.handoff == handoff
    assert action.protocol_version == handoff.published()


def test_an_action_needs_a_title_an_owner_and_a_future_due_date(client, review, lead):
    client.force_login(lead)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = _post_action(client, review, title="", due_date=yesterday.isoformat())
    body = response.content.decode()
    assert response.status_code == 400
    assert "The due date cannot be in the past." in body
    assert body.count("This field is required.") >= 2
    assert not ActionItem.objects.exists()


def test_htmx_records_an_action_and_swaps_the_breakage_entry(client, review, lead, log_breakage):
    breakage = log_breakage()
    client.force_login(lead)
    response = client.post(
        reverse("reviews:action-create", args=[review.pk]),
        {
            "title": "Checklist asks for the address",
            "owner": lead.pk,
            "due_date": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
            "breakage": breakage.pk,
        },
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith("<li") and "Checklist asks for the address" in body


@pytest.mark.parametrize("persona", ["member", "outsider", "viewer"])
def test_non_facilitators_cannot_record_actions(client, review, persona, request, lead):
    client.force_login(request.getfixturevalue(persona))
    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = _post_action(client, review, title="x", owner=lead.pk, due_date=due)
    assert response.status_code == 403
    assert not ActionItem.objects.exists()


def test_closed_reviews_take_no_more_actions(client, review, lead):
    Review.objects.filter(pk=review.pk).update(status="closed", closed_at=timezone.now())
    client.force_login(lead)
    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = _post_action(client, review, title="late", owner=lead.pk, due_date=due)
    assert response.status_code == 302
    assert "This review is closed" in str(list(get_messages(response.wsgi_request))[0])
    assert not ActionItem.objects.exists()


def test_the_owner_closes_an_action_and_a_repeat_check_is_scheduled(client, member, lead, review):
    action = ActionItem.objects.create(
        review=review, title="x", owner=member, due_date=timezone.localdate()
    )
    client.force_login(member)
    client.post(reverse("reviews:action-status", args=[action.pk]), {"status": "done"})
    action.refresh_from_db()
    assert action.status == "done" and action.closed_at is not None
    assert action.repeat_check_due == timezone.localdate() + datetime.timedelta(weeks=4)


def test_someone_else_cannot_close_my_action(client, member, seller, viewer, review):
    action = ActionItem.objects.create(title="x", owner=member, due_date=timezone.localdate())
    for persona in (seller, viewer):
        client.force_login(persona)
        url = reverse("reviews:action-status", args=[action.pk])
        assert client.post(url, {"status": "done"}).status_code == 403
    action.refresh_from_db()
    assert action.is_open


def test_overdue_actions_show_on_the_agenda(review, lead):
    overdue = ActionItem.objects.create(
        title="Late", owner=lead, due_date=timezone.localdate() - datetime.timedelta(days=2)
    )
    ActionItem.objects.create(
        title="Done",
        owner=lead,
        due_date=timezone.localdate(),
        status="done",
        closed_at=timezone.now(),
    )
    actions = {e.key: e for e in build_agenda(review)}["actions"].data
    assert actions == [overdue]
    assert overdue.is_overdue


def test_did_it_repeat_counts_breakages_at_the_same_place_after_the_fix(
    lead, log_breakage, handoff, review
):
    first = log_breakage(handoff=handoff, occurred_at=timezone.now() - datetime.timedelta(weeks=6))
    fixed = ActionItem.objects.create(
        title="Fix A", owner=lead, due_date=timezone.localdate(), breakage=first
    )
    action_item_set_status(action=fixed, by=lead, status="done")
    ActionItem.objects.filter(pk=fixed.pk).update(
        closed_at=timezone.now() - datetime.timedelta(weeks=5),
        repeat_check_due=timezone.localdate() - datetime.timedelta(days=1),
    )
    other = log_breakage(
        title="Elsewhere", kind="tool", occurred_at=timezone.now() - datetime.timedelta(weeks=6)
    )
    held = ActionItem.objects.create(
        title="Fix B",
        owner=lead,
        due_date=timezone.localdate(),
        breakage=other,
        status="done",
        closed_at=timezone.now() - datetime.timedelta(weeks=5),
        repeat_check_due=timezone.localdate(),
    )
    log_breakage(handoff=handoff, title="It broke again")  # same place and kind, after the fix
    checks = {a.title: a.repeats for a in repeat_checks(review.week)}
    assert checks == {"Fix A": 1, "Fix B": 0}
    assert held.repeats_since_close().count() == 0
