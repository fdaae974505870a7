"""Immediate notification emails go through the outbox: the relay is talked to with no
transaction open and no row locked, so a slow SMTP server never holds up the database
(STYLE.md: claim, then act)."""

import datetime
import threading

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from handoffs.models import EmailDelivery
from opshub.mail import outbox
from opshub.mail.notifications import notify

pytestmark = pytest.mark.django_db(transaction=True)


def _row_is_free(pk):
    """From another connection: can the outbox row be locked right now, without waiting?"""
    outcome = {}

    def probe():
        try:
            with transaction.atomic():
                EmailDelivery.objects.select_for_update(nowait=True).get(pk=pk)
            outcome["free"] = True
        except OperationalError:
            outcome["free"] = False
        finally:
            connection.close()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(10)
    return outcome.get("free")


def test_no_row_lock_or_transaction_is_held_while_the_relay_answers(lead, smtp_mailers):
    [note] = notify([lead], message="Red decision waiting", subject="Decision needed")
    email = note.email
    assert email.kind == EmailDelivery.Kind.NOTIFICATION
    sender = connections["default"]  # this thread's connection, the one that sends
    seen = {}
    accept = smtp_mailers.handle_DATA

    async def handle_DATA(server, session, envelope):
        from asgiref.sync import sync_to_async

        seen["free"] = await sync_to_async(_row_is_free, thread_sensitive=False)(email.pk)
        seen["in_transaction"] = sender.in_atomic_block
        return await accept(server, session, envelope)

    smtp_mailers.handle_DATA = handle_DATA
    assert outbox.send_one(email.pk) is True
    assert seen == {"free": True, "in_transaction": False}
    email.refresh_from_db()
    assert email.status == EmailDelivery.Status.SENT and email.sent_at is not None
    assert len(smtp_mailers.messages) == 1


def test_a_claimed_row_is_left_alone_until_its_lease_ends(lead, smtp_mailers):
    [note] = notify([lead], message="Red decision waiting", subject="Decision needed")
    now = timezone.now()
    EmailDelivery.objects.filter(pk=note.email_id).update(
        status=EmailDelivery.Status.SENDING, next_attempt_at=now + datetime.timedelta(1)
    )
    assert outbox.send_one(note.email_id, now=now) is None
    assert smtp_mailers.messages == []
    later = now + outbox.SEND_LEASE + datetime.timedelta(days=1)
    assert outbox.send_one(note.email_id, now=later) is True
    assert outbox.send_one(note.email_id, now=later) is None
    assert len(smtp_mailers.messages) == 1


def test_a_refused_send_gives_the_row_back_with_a_backoff_and_the_same_message_id(
    lead, smtp_mailers
):
    [note] = notify([lead], message="Red decision waiting", subject="Decision needed")
    now = timezone.now()
    smtp_mailers.refuse = True
    assert outbox.send_one(note.email_id, now=now) is False
    email = EmailDelivery.objects.get(pk=note.email_id)
    assert (email.status, email.sent_at, email.attempts) == ("pending", None, 1)
    assert email.next_attempt_at == now + datetime.timedelta(minutes=1)
    assert "451" in email.last_error
    smtp_mailers.refuse = False
    assert outbox.send_one(note.email_id, now=now) is None  # still backing off
    assert outbox.send_one(note.email_id, now=email.next_attempt_at) is True
    [message] = smtp_mailers.parsed()
    assert message["Message-ID"] == email.message_id
