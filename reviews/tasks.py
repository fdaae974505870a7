"""Background work for the breakage review: the summary email after a review closes."""

import datetime

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from reviews.models import Review


@shared_task(name="reviews.review_summary_send")
def review_summary_send_task(review_id):
    """Email a closed review's summary to its attendees and facilitator.

    At-most-once: the row is claimed (summary_sent_at set) before sending, so a retry or a
    second worker never sends a duplicate; a crash between claim and send loses that one
    email, which beats a meeting summary arriving twice in everyone's inbox.
    """
    claimed = Review.objects.filter(
        pk=review_id, status=Review.Status.CLOSED, summary_sent_at=None
    ).update(summary_sent_at=timezone.now())
    if not claimed:
        return 0
    from reviews.services import summary_context

    review = Review.objects.select_related("facilitator").get(pk=review_id)
    recipients = sorted(
        {u.email for u in review.attendees.filter(is_active=True)}
        | ({review.facilitator.email} if review.facilitator else set())
    )
    if not recipients:
        return 0
    context = summary_context(review)
    context["url"] = settings.OPSHUB_BASE_URL + review.get_absolute_url()
    body = render_to_string("reviews/review_summary_email.txt", context)
    subject = f"Breakage review {review.week_label}: {len(context['actions'])} action items"
    return send_mail(subject, body, None, recipients)


# A closed review still without its summary this long after closing lost its task.
SUMMARY_CATCH_UP_AFTER = datetime.timedelta(minutes=2)
# Older reviews are history: a summary arriving days late would only confuse.
SUMMARY_CATCH_UP_WINDOW = datetime.timedelta(days=2)


def review_summaries_catch_up(*, now=None):
    """Sends the summaries whose task was lost (Redis was down when the review closed)."""
    now = now or timezone.now()
    ids = Review.objects.filter(
        status=Review.Status.CLOSED,
        summary_sent_at=None,
        closed_at__range=(now - SUMMARY_CATCH_UP_WINDOW, now - SUMMARY_CATCH_UP_AFTER),
    ).values_list("pk", flat=True)
    return sum(review_summary_send_task(pk) for pk in list(ids))
