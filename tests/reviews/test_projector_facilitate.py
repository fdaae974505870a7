"""The facilitator's verdicts and action items from the projector: what the server answers."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews import services
from reviews.models import ActionItem, AgendaEntry

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def breakage(review, log_breakage):
    return log_breakage(title="Address missing at handoff")


def _mark(client, review, key, state, **headers):
    url = reverse("reviews:entry-mark", args=[review.pk])
    return client.post(url, {"key": key, "state": state, "from": "projector"}, headers=headers)


def test_a_verdict_from_the_projector_answers_the_slides_and_a_toast(client, review, lead):
    client.force_login(lead)
    response = _mark(client, review, "scoreboard", "reviewed", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-key="overview"' in html and "<html" not in html
    assert '"projectorToast": {"message": "Marked reviewed."}' in response["HX-Trigger"]
    assert AgendaEntry.objects.get(review=review, key="scoreboard").state == "reviewed"


def test_without_htmx_a_verdict_returns_to_the_projector(client, review, lead):
    client.force_login(lead)
    response = _mark(client, review, "scoreboard", "dismissed")
    assert response.status_code == 302
    assert response["Location"] == reverse("reviews:review-projector", args=[review.pk])


def test_a_refused_verdict_on_the_projector_changes_nothing_and_says_why(client, review, lead):
    client.force_login(lead)
    response = _mark(client, review, "breakage:999999", "reviewed", **HTMX)
    assert "not on this review" in response["HX-Trigger"]
    assert not AgendaEntry.objects.exists()


def test_others_cannot_give_verdicts_from_the_projector(client, review, member):
    client.force_login(member)
    assert _mark(client, review, "scoreboard", "reviewed", **HTMX).status_code == 403
    assert not AgendaEntry.objects.exists()


def _record(client, review, **data):
    url = reverse("reviews:action-create", args=[review.pk])
    return client.post(url, {"from": "projector", **data}, headers=HTMX)


def test_a_refused_action_item_comes_back_in_the_dialog_field_by_field(
    client, review, lead, breakage
):
    client.force_login(lead)
    response = _record(client, review, breakage=breakage.pk, title="")
    assert response.status_code == 400
    html = response.content.decode()
    assert html.lstrip().startswith("<form") and 'id="record-action-form"' in html
    assert html.count('class="field-error"') == 3  # title, owner, due date
    assert not ActionItem.objects.exists()


def test_a_recorded_action_item_updates_the_slides_and_empties_the_dialog(
    client, review, lead, member, breakage, handoff
):
    client.force_login(lead)
    due = timezone.localdate() + datetime.timedelta(days=7)
    response = _record(
        client,
        review,
        breakage=breakage.pk,
        title="Address becomes a required field",
        owner=member.pk,
        due_date=due.isoformat(),
        handoff=handoff.pk,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#deck" and response["HX-Reswap"] == "innerHTML"
    assert "projectorActionRecorded" in response["HX-Trigger"]
    html = response.content.decode()
    assert "Address becomes a required field" in html  # on the breakage's slide
    assert 'hx-swap-oob="true"' in html  # a fresh, empty form for the next change
    action = ActionItem.objects.get()
    assert (action.breakage, action.owner, action.due_date) == (breakage, member, due)


def test_the_projector_offers_the_keys_only_to_facilitators_of_an_open_review(
    client, review, lead, member, breakage
):
    url = reverse("reviews:review-projector", args=[review.pk])
    client.force_login(lead)
    assert b'aria-keyshortcuts="R"' in client.get(url).content
    assert b'id="record-action"' in client.get(url).content
    client.force_login(member)
    assert b"aria-keyshortcuts" not in client.get(url).content
    services.review_close(review=review, by=lead)
    client.force_login(lead)
    page = client.get(url).content
    assert b"aria-keyshortcuts" not in page and b'id="record-action"' not in page
