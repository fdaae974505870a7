"""Deliver asks first and can be undone for ten minutes, as its own event; the panels that
confirm Deliver and Accept show their own action (docs/work-items.md, "Deliver and undo")."""

import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Event, WorkItem
from handoffs.work import exports, transitions
from handoffs.work.services import StateConflict
from scoreboard.models import DeliveredItemFact, StageTimeFact
from scoreboard.services import snapshot_update

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(name, item):
    return reverse(f"handoffs:item-{name}", args=[item.pk])


@pytest.fixture
def shipping(item, seller, member):
    """The item accepted into Ship, the last stage, by the member of Fulfilment."""
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )
    transitions.handoff_accept(item=item, by=member)
    item.refresh_from_db()
    return item


@pytest.fixture
def delivered(shipping, member):
    return transitions.item_deliver(item=shipping, by=member)


def _age_delivery(item, minutes):
    WorkItem.objects.filter(pk=item.pk).update(
        delivered_at=timezone.now() - datetime.timedelta(minutes=minutes)
    )
    item.refresh_from_db()


def test_the_deliver_button_opens_a_confirmation_saying_what_will_happen(client, shipping, member):
    client.force_login(member)
    page = client.get(shipping.get_absolute_url()).content.decode()
    assert "?panel=deliver" in page
    panel = client.get(shipping.get_absolute_url() + "?panel=deliver", **HTMX).content.decode()
    assert "Deliver “ACME order #1”?" in panel
    assert "undo it for 10 minutes" in panel
    assert "Deliver it" in panel and "Cancel the item" not in panel
    assert f'action="{_url("deliver", shipping)}"' in panel
    shipping.refresh_from_db()
    assert shipping.state == WorkItem.State.IN_PROGRESS


def test_the_accept_panel_shows_accept_not_cancel(client, item, seller, member):
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )
    client.force_login(member)
    panel = client.get(item.get_absolute_url() + "?panel=accept").content.decode()
    assert "Cancel the item" not in panel and "Cancel this work item" not in panel
    assert f'action="{_url("accept", item)}"' in panel
    assert "Accept “ACME order #1” into Ship?" in panel


def test_a_panel_the_person_may_not_use_is_not_shown(client, shipping, seller):
    client.force_login(seller)
    page = client.get(shipping.get_absolute_url() + "?panel=deliver").content.decode()
    assert "Deliver it" not in page


@pytest.mark.parametrize("panel", ["undo_delivery", "claim", "nonsense"])
def test_a_panel_name_that_is_not_a_panel_shows_the_page(client, shipping, member, panel):
    client.force_login(member)
    assert client.get(shipping.get_absolute_url() + f"?panel={panel}").status_code == 200


def test_undo_within_the_window_reopens_the_item_with_its_own_event(client, delivered, member):
    client.force_login(member)
    page = client.get(delivered.get_absolute_url()).content.decode()
    assert _url("undo-delivery", delivered) in page
    response = client.post(_url("undo-delivery", delivered), **HTMX)
    assert "Delivery undone" in response.content.decode()
    delivered.refresh_from_db()
    assert delivered.state == WorkItem.State.IN_PROGRESS and delivered.delivered_at is None
    kinds = list(delivered.events.values_list("kind", flat=True))
    assert kinds[-2:] == [Event.Kind.DELIVERED, Event.Kind.DELIVERY_UNDONE]
    stage_id, state, _, delivered_at = delivered.replayed_state()
    assert (stage_id, state, delivered_at) == (delivered.stage_id, "in_progress", None)


def test_undo_after_the_window_is_refused_and_changes_nothing(client, delivered, member):
    _age_delivery(delivered, 11)
    client.force_login(member)
    page = client.get(delivered.get_absolute_url()).content.decode()
    assert _url("undo-delivery", delivered) not in page
    assert "The undo window of its delivery has closed." in page
    response = client.post(_url("undo-delivery", delivered), follow=True)
    assert "undo window has closed" in response.content.decode()
    delivered.refresh_from_db()
    assert delivered.state == WorkItem.State.DONE
    assert not delivered.events.filter(kind=Event.Kind.DELIVERY_UNDONE).exists()


def test_someone_outside_the_team_cannot_undo_a_delivery(client, delivered, outsider):
    client.force_login(outsider)
    assert client.post(_url("undo-delivery", delivered)).status_code == 403
    delivered.refresh_from_db()
    assert delivered.state == WorkItem.State.DONE


def test_a_viewer_cannot_undo_and_anonymous_visitors_are_sent_to_log_in(client, delivered, viewer):
    response = client.post(_url("undo-delivery", delivered))
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(viewer)
    assert client.post(_url("undo-delivery", delivered)).status_code == 403
    delivered.refresh_from_db()
    assert delivered.state == WorkItem.State.DONE


def test_undoing_an_item_that_is_not_delivered_is_a_conflict(shipping, member):
    with pytest.raises(StateConflict):
        transitions.item_deliver_undo(item=shipping, by=member)


def test_undoing_twice_records_one_undo(delivered, member):
    transitions.item_deliver_undo(item=delivered, by=member)
    with pytest.raises(StateConflict):
        transitions.item_deliver_undo(item=delivered, by=member)
    assert delivered.events.filter(kind=Event.Kind.DELIVERY_UNDONE).count() == 1


def test_the_service_refuses_someone_outside_the_team(delivered, seller):
    with pytest.raises(PermissionDenied):
        transitions.item_deliver_undo(item=delivered, by=seller)


def test_the_scoreboard_drops_an_undone_delivery_and_counts_the_redelivery(delivered, member):
    snapshot_update(item_ids=[delivered.pk])
    assert DeliveredItemFact.objects.filter(item=delivered).exists()
    transitions.item_deliver_undo(item=delivered, by=member)
    snapshot_update(item_ids=[delivered.pk])
    assert not DeliveredItemFact.objects.filter(item=delivered).exists()
    again = transitions.item_deliver(item=delivered, by=member)
    snapshot_update(item_ids=[delivered.pk])
    fact = DeliveredItemFact.objects.get(item=delivered)
    assert fact.delivered_at == again.delivered_at


def test_the_event_log_export_ends_an_undone_and_redelivered_item_once(delivered, member):
    transitions.item_deliver_undo(item=delivered, by=member)
    transitions.item_deliver(item=delivered, by=member)
    rows = list(csv.reader(io.StringIO("".join(exports.export_events_rows(delivered.workflow)))))
    activities = [row[1] for row in rows[1:]]
    assert activities == ["Qualify", "Ship", "Ship"]


def test_stage_time_of_a_redelivered_item_covers_the_undone_stretch(delivered, member):
    transitions.item_deliver_undo(item=delivered, by=member)
    again = transitions.item_deliver(item=delivered, by=member)
    snapshot_update(item_ids=[again.pk])
    first = again.events.order_by("at", "pk").first().at
    total = sum(StageTimeFact.objects.filter(item=again).values_list("total_seconds", flat=True))
    assert total == pytest.approx((again.delivered_at - first).total_seconds(), abs=1e-5)


def test_the_undo_button_says_until_when_in_the_viewers_time_zone(client, delivered, member):
    member.time_zone = "Asia/Kolkata"  # UTC+05:30 all year: never the server's clock
    member.save(update_fields=["time_zone"])
    client.force_login(member)
    until = delivered.undo_delivery_until().astimezone(
        datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    )
    page = client.get(delivered.get_absolute_url()).content.decode()
    assert f"(until {until:%H:%M} IST)" in page
