import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from handoffs.mail import outbox
from handoffs.models import EmailDelivery
from reviews import services
from reviews.models import ActionItem

pytestmark = pytest.mark.django_db

SUMMARY = EmailDelivery.Kind.REVIEW_SUMMARY


@pytest.fixture
def ready_review(review, lead, member, seller, log_breakage):
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


def test_closing_emails_the_summary_to_attendees_after_commit(
    client, ready_review, lead, smtp_mailers, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("reviews:review-close", args=[ready_review.pk]))
    assert response.status_code == 302
    ready_review.refresh_from_db()
    assert ready_review.status == "closed" and ready_review.closed_at is not None
    # Nothing is sent inside the transaction: one outbox email per person waits for the commit.
    assert len(callbacks) == 3 and smtp_mailers.messages == []

    assert outbox.send_due() == (3, 0)
    assert sorted(m.rcpt_tos[0] for m in smtp_mailers.messages) == [
        "lead@example.com",
        "member@example.com",
        "seller@example.com",
    ]
    for message in smtp_mailers.parsed():
        assert message["Subject"].startswith(f"Breakage review {ready_review.week_label}")
        body = message.get_content()
        assert "Address becomes a required field — owner Member" in body
        assert "Address missing at handoff" in body
        assert f"/reviews/{ready_review.pk}/" in body


def test_the_summary_goes_out_once_when_the_sender_runs_twice(ready_review, lead, smtp_mailers):
    services.review_close(review=ready_review, by=lead)
    [first, *_] = EmailDelivery.objects.filter(kind=SUMMARY)
    assert outbox.send_one(first.pk) is True
    assert outbox.send_one(first.pk) is None
    assert outbox.send_due() == (2, 0)
    assert outbox.send_due() == (0, 0)
    assert len(smtp_mailers.messages) == 3


def test_a_close_that_rolls_back_sends_nothing(ready_review, lead, smtp_mailers):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.review_close(review=ready_review, by=lead)
        raise RuntimeError("the request failed after the close")
    ready_review.refresh_from_db()
    assert ready_review.is_open
    assert not EmailDelivery.objects.exists()
    assert outbox.send_due() == (0, 0) and smtp_mailers.messages == []


def test_a_refused_close_queues_nothing(ready_review, lead, smtp_mailers):
    services.review_close(review=ready_review, by=lead)
    with pytest.raises(ValidationError):
        services.review_close(review=ready_review, by=lead)
    assert EmailDelivery.objects.filter(kind=SUMMARY).count() == 3


def test_an_smtp_outage_is_retried_until_the_summary_goes(ready_review, lead, smtp_mailers):
    services.review_close(review=ready_review, by=lead)
    now = timezone.now()
    smtp_mailers.refuse = True
    assert outbox.send_due(now=now) == (0, 3)
    smtp_mailers.refuse = False
    assert outbox.send_due(now=now) == (0, 0)  # backing off
    assert outbox.send_due(now=now + datetime.timedelta(minutes=1)) == (3, 0)
    assert len(smtp_mailers.messages) == 3


def test_an_open_review_sends_nothing(ready_review, smtp_mailers):
    assert not EmailDelivery.objects.exists()
    assert outbox.send_due() == (0, 0)
    assert smtp_mailers.messages == []


@pytest.mark.parametrize("persona", ["member", "outsider", "viewer"])
def test_only_facilitators_close(client, ready_review, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.post(reverse("reviews:review-close", args=[ready_review.pk])).status_code == 403
    ready_review.refresh_from_db()
    assert ready_review.is_open


def test_closing_twice_is_refused_with_a_message(client, ready_review, lead):
    client.force_login(lead)
    url = reverse("reviews:review-close", args=[ready_review.pk])
    client.post(url)
    response = client.post(url, follow=True)
    assert "This review is already closed." in response.content.decode()
