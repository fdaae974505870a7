import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews.models import ActionItem, Review
from reviews.tasks import review_summary_send_task

pytestmark = pytest.mark.django_db


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
    # Nothing is sent inside the transaction: one enqueue waits for the commit.
    assert len(callbacks) == 1 and smtp_mailers.messages == []

    assert review_summary_send_task(ready_review.pk) == 1
    [message] = smtp_mailers.parsed()
    assert sorted(smtp_mailers.messages[0].rcpt_tos) == [
        "lead@example.com",
        "member@example.com",
        "seller@example.com",
    ]
    assert message["Subject"].startswith(f"Breakage review {ready_review.week_label}")
    body = message.get_content()
    assert "Address becomes a required field — owner Member" in body
    assert "Address missing at handoff" in body
    assert f"/reviews/{ready_review.pk}/" in body


def test_the_summary_goes_out_once_when_the_task_runs_twice(ready_review, lead, smtp_mailers):
    Review.objects.filter(pk=ready_review.pk).update(status="closed", closed_at=timezone.now())
    assert review_summary_send_task(ready_review.pk) == 1
    assert review_summary_send_task(ready_review.pk) == 0
    assert len(smtp_mailers.messages) == 1


def test_an_open_review_sends_nothing(ready_review, smtp_mailers):
    assert review_summary_send_task(ready_review.pk) == 0
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
