"""POST/PATCH /api/v1/action-items/: record, close with the outcome, under the role rules."""

import datetime

import pytest
from django.utils import timezone

from opshub.accounts.models import ApiToken
from reviews.models import ActionItem, Review, week_of

pytestmark = pytest.mark.django_db


def _auth(user):
    _, raw = ApiToken.issue(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Token {raw}"}


def _post(client, user, body):
    return client.post(
        "/api/v1/action-items/", body, content_type="application/json", **_auth(user)
    )


def _patch(client, user, action, body):
    return client.patch(
        f"/api/v1/action-items/{action.pk}/", body, content_type="application/json", **_auth(user)
    )


@pytest.fixture
def action(review, member):
    return ActionItem.objects.create(
        review=review,
        title="Require a PO number",
        owner=member,
        due_date=timezone.localdate() + datetime.timedelta(days=7),
    )


def test_a_lead_records_an_action_on_this_weeks_review(client, lead, member, workflow):
    due = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    response = _post(
        client, lead, {"title": " Add a PO check ", "owner": member.pk, "due_date": due}
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["title"] == "Add a PO check" and data["owner"] == member.pk
    assert data["review"] == Review.objects.get(week=week_of()).pk
    assert data["status"] == "open"


def test_a_member_cannot_record_and_nothing_is_written(client, member, workflow):
    due = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    response = _post(client, member, {"title": "x", "owner": member.pk, "due_date": due})
    assert response.status_code == 403
    assert not ActionItem.objects.exists() and not Review.objects.exists()


def test_a_viewer_is_refused_before_the_body_is_read(client, viewer):
    response = _post(client, viewer, {"nonsense": True})
    assert response.status_code == 403


def test_bad_fields_get_a_message_each(client, lead, workflow, review):
    response = _post(client, lead, {"title": "", "owner": 999999, "due_date": "soon"})
    assert response.status_code == 400
    errors = response.json()
    assert {"title", "owner", "due_date"} <= errors.keys()
    assert not ActionItem.objects.exists()


def test_a_due_date_before_the_reviews_week_is_refused(client, lead, member, review):
    early = (review.week - datetime.timedelta(days=1)).isoformat()
    response = _post(
        client, lead, {"title": "x", "owner": member.pk, "due_date": early, "review": review.pk}
    )
    assert response.status_code == 400
    assert "due_date" in response.json()


def test_the_owner_closes_it_with_the_outcome(client, member, action):
    response = _patch(client, member, action, {"status": "done", "outcome": "PO is now required"})
    assert response.status_code == 200, response.json()
    action.refresh_from_db()
    assert action.status == "done" and action.outcome == "PO is now required"
    assert action.closed_at is not None and action.repeat_check_due is not None
    assert response.json()["outcome"] == "PO is now required"


def test_closing_without_an_outcome_is_refused_and_changes_nothing(client, member, action):
    response = _patch(client, member, action, {"status": "dropped"})
    assert response.status_code == 400
    assert "outcome" in response.json()
    action.refresh_from_db()
    assert action.status == "open" and action.closed_at is None


def test_the_owner_cannot_hand_the_action_to_someone_else(client, member, lead, action):
    response = _patch(client, member, action, {"owner": lead.pk})
    assert response.status_code == 403
    action.refresh_from_db()
    assert action.owner == member


def test_the_facilitator_moves_the_due_date_and_reassigns(client, lead, action):
    later = (timezone.localdate() + datetime.timedelta(days=21)).isoformat()
    response = _patch(client, lead, action, {"due_date": later, "owner": lead.pk})
    assert response.status_code == 200, response.json()
    action.refresh_from_db()
    assert action.due_date.isoformat() == later and action.owner == lead


def test_someone_else_cannot_touch_it(client, seller, action):
    response = _patch(client, seller, action, {"status": "done", "outcome": "x"})
    assert response.status_code == 403
    action.refresh_from_db()
    assert action.status == "open"


def test_reopening_clears_the_close(client, member, action):
    _patch(client, member, action, {"status": "done", "outcome": "Done it"})
    response = _patch(client, member, action, {"status": "open"})
    assert response.status_code == 200
    action.refresh_from_db()
    assert action.status == "open" and action.closed_at is None


def test_put_is_not_offered(client, lead, action):
    response = client.put(
        f"/api/v1/action-items/{action.pk}/", {}, content_type="application/json", **_auth(lead)
    )
    assert response.status_code == 405


def test_an_unknown_action_is_404(client, lead):
    response = client.patch(
        "/api/v1/action-items/999999/",
        {"status": "done"},
        content_type="application/json",
        **_auth(lead),
    )
    assert response.status_code == 404
