import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from handoffs.models import Event, Recovery, WorkItem
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db


def _hand_off(item, by):
    return transitions.handoff_submit(
        item=item, by=by, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )


def test_it_refuses_a_handoff_with_missing_checklist_and_fields_and_changes_nothing(item, seller):
    with pytest.raises(services.GateError) as err:
        transitions.handoff_submit(item=item, by=seller, checklist=[], fields={"amount": "-5"})
    assert err.value.missing_checklist == ["signed"]
    assert err.value.missing_fields == ["po_number"]
    assert "amount" in err.value.field_errors
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS
    assert item.stage.name == "Qualify"
    assert list(item.events.values_list("kind", flat=True)) == [Event.Kind.CREATED]


def test_the_whole_life_of_an_item_replays_to_its_state(item, seller, member):
    _hand_off(item, seller)
    item, recovery = transitions.handoff_bounce(
        item=item, by=member, missing_input="Delivery address"
    )
    assert item.state == WorkItem.State.BLOCKED and item.stage.name == "Qualify"
    assert recovery.owner == seller
    transitions.item_unblock(item=item, by=seller, cause="process", note="Added the address")
    _hand_off(item, seller)
    transitions.handoff_accept(item=item, by=member)
    item = transitions.item_deliver(item=item, by=member)
    item.refresh_from_db()
    assert item.state == WorkItem.State.DONE
    assert item.replayed_state() == (item.stage_id, item.state, item.assignee_id, item.delivered_at)
    assert Recovery.objects.get().cause == "process"


def test_only_the_receiving_team_accepts(item, seller, outsider):
    _hand_off(item, seller)
    with pytest.raises(PermissionDenied):
        transitions.handoff_accept(item=item, by=seller)
    with pytest.raises(PermissionDenied):
        transitions.handoff_accept(item=item, by=outsider)


def test_accepting_twice_is_a_conflict(item, seller, member, lead):
    _hand_off(item, seller)
    transitions.handoff_accept(item=item, by=member)
    with pytest.raises(services.StateConflict):
        transitions.handoff_accept(item=item, by=lead)
    assert item.events.filter(kind=Event.Kind.HANDOFF_ACCEPTED).count() == 1


def test_events_are_append_only_in_the_database(item):
    event = item.events.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(kind="delivered")
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).delete()


def test_repeats_of_the_same_missing_input_show_on_the_protocol_page(client, item, seller, member):
    from handoffs.models import Handoff

    for _ in range(2):
        _hand_off(item, seller)
        transitions.handoff_bounce(item=item, by=member, missing_input="Delivery address")
        transitions.item_unblock(item=item, by=seller, cause="process")
    handoff = Handoff.objects.get(workflow=item.workflow)
    client.force_login(member)
    page = client.get(f"/protocols/{handoff.pk}/").content.decode()
    assert "Repeats at this handoff" in page
    assert "Delivery address" in page
