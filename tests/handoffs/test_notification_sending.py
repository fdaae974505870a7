"""Immediate notification emails: the relay is talked to with no transaction open and no row
locked, so a slow SMTP server never holds up the database (STYLE.md: claim, then act)."""

import datetime
import threading

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from handoffs import notifications
from handoffs.models import NotificationEmail
from handoffs.notifications import notify

pytestmark = pytest.mark.django_db(transaction=True)


def _row_is_free(pk):
    """From another connection: can the outbox row be locked right now, without waiting?"""
    outcome = {}

    def probe():
        try:
            with transaction.atomic():
                NotificationEmail.objects.select_for_update(nowait=True).get(pk=pk)
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
    email = NotificationEmail.objects.get(notification=note)
    sender = connections["default"]  # this thread's connection, the one that sends
    seen = {}
    accept = smtp_mailers.handle_DATA

    async def handle_DATA(server, session, envelope):
        from asgiref.sync import sync_to_async

        seen["free"] = await sync_to_async(_row_is_free, thread_sensitive=False)(email.pk)
        seen["in_transaction"] = sender.in_atomic_block
        return await accept(server, session, envelope)

    smtp_mailers.handle_DATA = handle_DATA
    assert notifications.send_immediate(email.pk) is True
    assert seen == {"free": True, "in_transaction": False}
    email.refresh_from_db()
    assert email.sent_at is not None
    assert len(smtp_mailers.messages) == 1


def test_a_claimed_row_is_left_alone_until_its_lease_ends(lead, smtp_mailers):
    [note] = notify([lead], message="Red decision waiting", subject="Decision needed")
    email = NotificationEmail.objects.get(notification=note)
    now = timezone.now()
    NotificationEmail.objects.filter(pk=email.pk).update(claimed_until=now + datetime.timedelta(1))
    assert notifications.send_immediate(email.pk, now=now) is False
    assert smtp_mailers.messages == []
    later = now + notifications.SEND_LEASE + datetime.timedelta(days=1)
    assert notifications.send_immediate(email.pk, now=later) is True
    assert notifications.send_immediate(email.pk, now=later) is False
    assert len(smtp_mailers.messages) == 1


def test_a_refused_send_gives_the_lease_back_for_the_retry(lead, smtp_mailers):
    [note] = notify([lead], message="Red decision waiting", subject="Decision needed")
    email = NotificationEmail.objects.get(notification=note)
    smtp_mailers.refuse = True
    with pytest.raises(Exception):  # noqa: B017 - whichever SMTP error the server's 451 raises
        notifications.send_immediate(email.pk)
    email.refresh_from_db()
    assert (email.sent_at, email.claimed_until) == (None, None)
    smtp_mailers.refuse = False
    assert notifications.send_immediate(email.pk) is True
