"""The one email outbox: every kind of email is a row written in its caller's transaction,
listed for admins, watched by /healthz, and the rows of the old notification outbox move in."""

import datetime

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from handoffs.models import EmailDelivery, Heartbeat, Notification
from opshub.mail import outbox
from opshub.mail.notifications import notify


@pytest.mark.django_db
def test_a_notification_in_a_rolled_back_transaction_sends_nothing(
    lead, smtp_mailers, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify([lead], message="Red decision waiting", subject="Decision needed")
        raise RuntimeError("the decision failed after notifying")
    assert callbacks == []
    assert not EmailDelivery.objects.exists() and not Notification.objects.exists()
    assert outbox.send_due() == (0, 0) and smtp_mailers.messages == []


@pytest.mark.django_db
def test_healthz_is_degraded_while_an_email_waits_for_a_sender(client, lead):
    Heartbeat.beat("scan_stalls")
    [note] = notify([lead], message="Red decision waiting", subject="Decision needed")
    assert client.get("/healthz").json()["checks"]["scheduler"]["status"] == "ok"

    EmailDelivery.objects.filter(pk=note.email_id).update(
        next_attempt_at=timezone.now() - datetime.timedelta(minutes=6)
    )
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["checks"]["scheduler"]["reason"] == "emails have waited for a sender for 5 minutes"

    # A relay that refuses is retried later: backing off is not "no sender".
    EmailDelivery.objects.filter(pk=note.email_id).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=4), attempts=3
    )
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.django_db
def test_the_scheduler_page_lists_every_kind_of_email(client, admin_user, lead):
    from reviews import services as review_services
    from reviews.models import Review, week_of

    review = Review.objects.create(week=week_of(), facilitator=lead)
    notify([lead], message="Red decision waiting", subject="Decision needed")
    review_services.review_close(review=review, by=lead)
    client.force_login(admin_user)
    page = client.get(reverse("handoffs:scheduler")).content.decode()
    assert "<td>Notification</td><td>Decision needed</td>" in page
    assert "<td>Review summary</td><td>Breakage review" in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_latest_schema_after")
def test_the_migration_moves_pending_notification_emails_into_the_outbox(lead, member):
    before = [("handoffs", "0011_notification_email_lease")]
    after = [("handoffs", "0014_delete_notificationemail")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Notification_, NotificationEmail = (
        old.get_model("handoffs", "Notification"),
        old.get_model("handoffs", "NotificationEmail"),
    )

    def old_note(user, message, delivery, sent_at=None):
        note = Notification_.objects.create(user_id=user.pk, message=message, url="/work/1/")
        NotificationEmail.objects.create(
            notification=note,
            user_id=user.pk,
            delivery=delivery,
            subject=f"About {message}",
            body=f"Why: {message}",
            sent_at=sent_at,
        )
        return note.pk

    waiting = old_note(lead, "Refund #1", "immediate")
    sent = old_note(lead, "Refund #2", "immediate", sent_at=timezone.now())
    digest = old_note(member, "Refund #3", "digest")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)

    [email] = EmailDelivery.objects.all()
    assert (email.kind, email.to_email, email.status) == ("notification", lead.email, "pending")
    assert email.subject == "About Refund #1" and "Why: Refund #1" in email.body_text
    assert Notification.objects.get(pk=waiting).email == email
    assert Notification.objects.get(pk=sent).email is None
    assert Notification.objects.get(pk=digest).awaits_digest is True
    assert Notification.objects.get(pk=digest).body == "Why: Refund #3"


@pytest.fixture
def _latest_schema_after():
    """Migrating back unapplies every later migration, of every app that depends on them
    (tables of later areas included): put the schema back for the tests that follow."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
