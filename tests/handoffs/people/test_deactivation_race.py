"""Two admins deactivating one person at once, each on its own database connection, with
different choices: one wins, the other is told it is already done, and the items are handed
on once."""

import threading
import time

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from handoffs.models import Event
from handoffs.work import services as work
from opshub.accounts.models import User
from tests.handoffs.test_handoff_race import _waiting_on_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_deactivations_hand_the_work_on_once(
    make_user, admin_user, lead, member, seller, item
):
    work.work_item_assign(item=item, by=seller, assignee=member)
    other_admin = make_user("admin2@example.com", User.Role.ADMIN)
    calls = [(admin_user, lead), (other_admin, seller)]
    answers = [None, None]

    def post(i, by, to):
        try:
            client = APIClient()
            client.force_authenticate(by)
            answers[i] = client.post(
                f"/api/v1/users/{member.pk}/deactivate/", {"reassign_to": to.pk}, format="json"
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i, *c)) for i, c in enumerate(calls)]
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=member.pk).values_list("pk").get()
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 15
        while _waiting_on_a_lock() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(a.status_code for a in answers) == [200, 400]
    loser = next(a for a in answers if a.status_code == 400)
    assert "already deactivated" in str(loser.json())
    handed_on = Event.objects.filter(
        item=item, kind=Event.Kind.ASSIGNED, payload__reason="deactivated"
    )
    assert handed_on.count() == 1
    item.refresh_from_db()
    assert item.assignee_id == handed_on.get().payload["assignee_id"]
