"""A refusal that no form field owns (a closed review, an entry not on the agenda) answers an
htmx request with a client redirect to the review page, where the message shows, instead of
swapping the whole page into the one agenda entry that asked."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from reviews.models import ActionItem, AgendaEntry, Review

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _close(review):
    Review.objects.filter(pk=review.pk).update(
        status=Review.Status.CLOSED, closed_at=timezone.now()
    )


def test_marking_an_entry_of_a_closed_review_reloads_the_review_with_the_reason(
    client, review, lead
):
    _close(review)
    client.force_login(lead)
    url = reverse("reviews:entry-mark", args=[review.pk])
    response = client.post(url, {"key": "scoreboard", "state": "reviewed"}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == review.get_absolute_url()
    assert "<html" not in response.content.decode()
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "This review is closed; reopen a new week instead."
    ]
    assert not AgendaEntry.objects.exists()


def test_marking_an_entry_not_on_the_agenda_reloads_the_review_with_the_reason(
    client, review, lead
):
    client.force_login(lead)
    url = reverse("reviews:entry-mark", args=[review.pk])
    response = client.post(url, {"key": "breakage:999", "state": "reviewed"}, headers=HTMX)
    assert response["HX-Redirect"] == review.get_absolute_url()
    assert "not on this review's agenda" in " ".join(
        str(m) for m in get_messages(response.wsgi_request)
    )
    assert not AgendaEntry.objects.exists()


def test_an_action_item_for_a_closed_review_reloads_the_review_with_the_reason(
    client, review, lead
):
    _close(review)
    client.force_login(lead)
    response = client.post(
        reverse("reviews:action-create", args=[review.pk]),
        {
            "title": "Checklist asks for the address",
            "owner": lead.pk,
            "due_date": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
        },
        headers=HTMX,
    )
    assert response["HX-Redirect"] == review.get_absolute_url()
    assert not ActionItem.objects.exists()


def test_an_empty_action_item_over_htmx_answers_400_with_its_entry_and_messages(
    client, review, lead
):
    client.force_login(lead)
    response = client.post(reverse("reviews:action-create", args=[review.pk]), {}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 400
    assert body.lstrip().startswith("<li") and "<html" not in body
    assert body.count("This field is required.") >= 3
    assert not ActionItem.objects.exists()
