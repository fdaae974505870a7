"""Action items that don't die between meetings: reminders before the due date and while
overdue, one email per owner per scan, once however many workers run the scan."""

import datetime
import threading
from email import message_from_bytes

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from handoffs.models import EmailDelivery
from opshub.mail.outbox import send_due
from reviews.models import ActionItem, ActionReminder
from reviews.reminders import send_action_reminders

MONDAY = datetime.date(2026, 11, 30)


def _action(review, owner, due, title="Add a PO check to the handoff"):
    return ActionItem.objects.create(review=review, title=title, owner=owner, due_date=due)


@pytest.fixture
def old_review(lead):
    from reviews.models import Review

    return Review.objects.create(week=MONDAY - datetime.timedelta(weeks=2), facilitator=lead)


def _emails():
    return list(EmailDelivery.objects.order_by("pk"))


@pytest.mark.django_db
def test_an_owner_is_reminded_two_days_before_the_due_date_once(old_review, member):
    _action(old_review, member, MONDAY + datetime.timedelta(days=2))
    assert send_action_reminders(today=MONDAY - datetime.timedelta(days=1)) == 0
    assert send_action_reminders(today=MONDAY) == 1
    assert send_action_reminders(today=MONDAY) == 0
    assert send_action_reminders(today=MONDAY + datetime.timedelta(days=1)) == 0
    [email] = _emails()
    assert email.to_email == member.email
    assert email.subject == "Your action items: 1 due soon"
    assert "Add a PO check to the handoff" in email.body_text


@pytest.mark.django_db
def test_an_overdue_action_is_reminded_the_day_after_and_then_weekly(old_review, member):
    _action(old_review, member, MONDAY)
    days = [MONDAY + datetime.timedelta(days=n) for n in range(0, 16)]
    sent_on = [day for day in days if send_action_reminders(today=day)]
    # Due soon before, then overdue on Tuesday, and a week and two weeks later.
    assert sent_on[1:] == [MONDAY + datetime.timedelta(days=n) for n in (1, 8, 15)]
    assert [e.subject for e in _emails()][-1] == "Your action items: 1 overdue"


@pytest.mark.django_db
def test_everything_due_for_one_owner_is_one_email(old_review, member, lead):
    _action(old_review, member, MONDAY - datetime.timedelta(days=3), title="Overdue change")
    _action(old_review, member, MONDAY + datetime.timedelta(days=1), title="Soon change")
    _action(old_review, lead, MONDAY + datetime.timedelta(days=2), title="Lead's change")
    assert send_action_reminders(today=MONDAY) == 2
    mine = EmailDelivery.objects.get(to_email=member.email)
    assert mine.subject == "Your action items: 1 overdue, 1 due soon"
    assert "Overdue change" in mine.body_text and "Soon change" in mine.body_text
    assert "Lead's change" not in mine.body_text


@pytest.mark.django_db
def test_closed_actions_and_inactive_owners_get_no_reminder(old_review, member, lead):
    done = _action(old_review, member, MONDAY)
    done.status, done.closed_at = ActionItem.Status.DONE, timezone.now()
    done.save()
    lead.is_active = False
    lead.save()
    _action(old_review, lead, MONDAY)
    assert send_action_reminders(today=MONDAY + datetime.timedelta(days=3)) == 0


@pytest.mark.django_db
def test_a_moved_due_date_earns_a_new_reminder(old_review, member):
    action = _action(old_review, member, MONDAY)
    assert send_action_reminders(today=MONDAY) == 1
    action.due_date = MONDAY + datetime.timedelta(days=14)
    action.save()
    assert send_action_reminders(today=MONDAY + datetime.timedelta(days=12)) == 1


@pytest.mark.django_db
def test_the_beat_task_reminds_by_the_sites_today(old_review, member):
    from reviews.tasks import send_action_reminders_task

    _action(old_review, member, MONDAY)
    with time_machine.travel(datetime.datetime(2026, 12, 2, 10, tzinfo=datetime.UTC)):
        assert send_action_reminders_task() == 1
    assert ActionReminder.objects.get().kind == ActionReminder.Kind.OVERDUE


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_reminder_once(lead, member, smtp_mailers):
    from reviews.models import Review

    review = Review.objects.create(week=MONDAY - datetime.timedelta(weeks=2), facilitator=lead)
    _action(review, member, MONDAY - datetime.timedelta(days=1))
    _action(review, lead, MONDAY + datetime.timedelta(days=1))
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=10)
            send_action_reminders(today=MONDAY)
            send_due()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    for _ in range(2):  # two beats, each with two workers
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert ActionReminder.objects.count() == 2
    recipients = sorted(message_from_bytes(m.original_content)["To"] for m in smtp_mailers.messages)
    assert recipients == sorted([member.email, lead.email])


@pytest.mark.django_db
def test_an_owners_chat_channel_gets_the_reminder_once(old_review, member):
    from handoffs.models import ChannelDelivery, NotificationChannel

    NotificationChannel.objects.create(
        user=member,
        name="Phone",
        url="json://93.184.215.14/hook",
        events=[NotificationChannel.Event.ACTION_REMINDER],
    )
    NotificationChannel.objects.create(
        user=member,
        name="Stalls only",
        url="json://93.184.215.14/stalls",
        events=[NotificationChannel.Event.STALL_ALERT],
    )
    _action(old_review, member, MONDAY)
    send_action_reminders(today=MONDAY)
    send_action_reminders(today=MONDAY)
    [post] = ChannelDelivery.objects.all()
    assert post.channel.name == "Phone"
    assert post.title == "Your action items: 1 due soon"
    assert "Add a PO check to the handoff" in post.body
