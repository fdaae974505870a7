import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from handoffs.models import EmailDelivery
from opshub.mail import outbox
from reviews import services
from reviews.models import ActionItem

pytestmark = pytest.mark.django_db

SUMMARY = EmailDelivery.Kind.REVIEW_SUMMARY


def _confirm(review):
    """The close form's fields, for the agenda as it stands."""
    return {"confirm": "close", "undiscussed": str(len(services.undiscussed_entries(review)))}


def test_closing_emails_the_summary_to_attendees_after_commit(
    client, ready_review, lead, smtp_mailers, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("reviews:review-close", args=[ready_review.pk]), _confirm(ready_review)
        )
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
        body = message.get_body(preferencelist=("plain",)).get_content()
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
    data = _confirm(ready_review)
    client.post(url, data)
    response = client.post(url, data, follow=True)
    assert "This review is already closed." in response.content.decode()
    assert EmailDelivery.objects.filter(kind=SUMMARY).count() == 3


# --- Confirming what cannot be undone ---------------------------------------------------------


def test_a_close_without_confirmation_says_what_it_would_do_and_changes_nothing(
    client, ready_review, lead
):
    client.force_login(lead)
    agenda = services.build_agenda(ready_review)
    response = client.post(reverse("reviews:review-close", args=[ready_review.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{len(agenda)} entries were not discussed; close anyway?" in page
    assert "Address missing at handoff" in page  # the undiscussed entries, by title
    assert "emailed now to 3 people: Lead, Member, Seller" in page
    assert "It cannot be reopened." in page
    assert "Close anyway and email 3 people" in page
    ready_review.refresh_from_db()
    assert ready_review.is_open and not EmailDelivery.objects.exists()


def test_the_question_counts_only_the_entries_without_a_verdict(client, ready_review, lead):
    agenda = services.build_agenda(ready_review)
    for entry in agenda[1:]:
        services.agenda_entry_mark(review=ready_review, by=lead, key=entry.key, state="reviewed")
    client.force_login(lead)
    page = client.get(reverse("reviews:review-close", args=[ready_review.pk])).content.decode()
    assert "1 entry was not discussed; close anyway?" in page
    for entry in agenda[0:1]:
        services.agenda_entry_mark(review=ready_review, by=lead, key=entry.key, state="dismissed")
    page = client.get(reverse("reviews:review-close", args=[ready_review.pk])).content.decode()
    assert "Every entry was discussed. Close the review?" in page
    assert "Close review and email 3 people" in page


def test_a_verdict_given_after_the_question_asks_again(client, ready_review, lead):
    client.force_login(lead)
    url = reverse("reviews:review-close", args=[ready_review.pk])
    asked = _confirm(ready_review)
    services.agenda_entry_mark(review=ready_review, by=lead, key="scoreboard", state="reviewed")
    response = client.post(url, asked)
    assert response.status_code == 200
    assert "The agenda changed since you were asked" in response.content.decode()
    ready_review.refresh_from_db()
    assert ready_review.is_open and not EmailDelivery.objects.exists()
    assert client.post(url, _confirm(ready_review)).status_code == 302
    ready_review.refresh_from_db()
    assert not ready_review.is_open


def test_with_htmx_the_question_is_a_panel_on_the_review_page(client, ready_review, lead):
    client.force_login(lead)
    detail = client.get(reverse("reviews:review-detail", args=[ready_review.pk])).content
    assert b'hx-target="#close-confirm"' in detail and b'id="close-confirm"' in detail
    response = client.get(
        reverse("reviews:review-close", args=[ready_review.pk]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card close-confirm"')
    assert "<html" not in html and "close anyway?" in html


@pytest.mark.parametrize("persona", ["member", "outsider", "viewer"])
def test_only_facilitators_are_asked(client, ready_review, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("reviews:review-close", args=[ready_review.pk])).status_code == 403


def test_a_closed_review_is_not_asked_about_again(client, ready_review, lead):
    services.review_close(review=ready_review, by=lead)
    client.force_login(lead)
    response = client.get(reverse("reviews:review-close", args=[ready_review.pk]), follow=True)
    assert "This review is already closed." in response.content.decode()


# --- The summary email: text and HTML -----------------------------------------------------


def test_the_summary_has_an_html_version_with_user_text_escaped(
    ready_review, lead, member, log_breakage, smtp_mailers
):
    log_breakage(title="<script>alert('x')</script> & the PO <b>field</b>")
    undiscussed = len(services.undiscussed_entries(ready_review))
    services.review_close(review=ready_review, by=lead)
    assert outbox.send_due() == (3, 0)
    message = smtp_mailers.parsed()[0]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>alert('x')</script> & the PO <b>field</b>" in text
    assert "<script>" not in html and "<b>field</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; the PO &lt;b&gt;field" in html
    assert "Address becomes a required field" in html and "Member" in html
    assert f'href="http://127.0.0.1:8000/reviews/{ready_review.pk}/"' in html
    assert f"Agenda: 0 reviewed, 0 dismissed, {undiscussed} not discussed." in text
    assert f"{undiscussed} not discussed" in html


def test_one_action_item_is_singular_in_the_subject(ready_review, lead, smtp_mailers):
    services.review_close(review=ready_review, by=lead)
    outbox.send_due()
    subjects = {m["Subject"] for m in smtp_mailers.parsed()}
    assert subjects == {f"Breakage review {ready_review.week_label}: 1 action item"}


def test_several_action_items_are_plural_in_the_subject(ready_review, lead, member):
    ActionItem.objects.create(
        review=ready_review,
        title="A second change",
        owner=member,
        due_date=timezone.localdate() + datetime.timedelta(days=3),
    )
    services.review_close(review=ready_review, by=lead)
    subject = EmailDelivery.objects.filter(kind=SUMMARY).values_list("subject", flat=True)[0]
    assert subject.endswith(": 2 action items")
