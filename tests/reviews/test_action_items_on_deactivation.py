"""A leaver's open review action items go where their work goes (handoffs tells reviews by
the person_deactivated signal; handoffs never imports reviews)."""

import datetime

import pytest
from django.utils import timezone

from handoffs.people import services
from opshub.accounts.models import AuditEntry
from reviews.models import ActionItem

pytestmark = pytest.mark.django_db


def _action(owner, title, status=ActionItem.Status.OPEN):
    return ActionItem.objects.create(
        title=title,
        owner=owner,
        status=status,
        closed_at=None if status == ActionItem.Status.OPEN else timezone.now(),
        due_date=timezone.localdate() + datetime.timedelta(days=7),
    )


def test_open_action_items_go_to_the_person_who_takes_the_work(admin_user, member, lead):
    open_one = _action(member, "Address becomes a required field")
    done_one = _action(member, "Old change", status=ActionItem.Status.DONE)
    result = services.person_deactivate(person=member, by=admin_user, reassign_to=lead)
    assert result["action items"] == 1
    open_one.refresh_from_db()
    done_one.refresh_from_db()
    assert open_one.owner == lead
    assert done_one.owner == member  # history: a finished change stays its owner's
    entry = AuditEntry.objects.for_object(open_one).get()
    assert (entry.before, entry.after) == ({"owner": member.pk}, {"owner": lead.pk})


def test_with_nobody_chosen_the_person_deactivating_takes_them(admin_user, member):
    action = _action(member, "Address becomes a required field")
    result = services.person_deactivate(person=member, by=admin_user, reassign_to=None)
    action.refresh_from_db()
    assert action.owner == admin_user
    assert result["action items to"] == str(admin_user)


def test_the_people_page_says_where_the_action_items_went(client, admin_user, member, lead):
    _action(member, "Address becomes a required field")
    client.force_login(admin_user)
    response = client.post(
        f"/people/{member.pk}/deactivate/", {"reassign_to": lead.pk}, follow=True
    )
    assert f"1 open review action item(s) went to {lead}." in response.text
