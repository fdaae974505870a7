"""Overdue and due-soon markers on the list, the board and the item page."""

import datetime

import pytest
from django.utils import timezone

from handoffs.models import DueForecast, WorkItem
from handoffs.work import services

pytestmark = pytest.mark.django_db


def _item(workflow, seller, title, due):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    WorkItem.objects.filter(pk=item.pk).update(due_date=due)
    return item


@pytest.fixture
def items(workflow, seller):
    today = timezone.localdate()
    return {
        "late": _item(workflow, seller, "Late order", today - datetime.timedelta(days=1)),
        "soon": _item(workflow, seller, "Soon order", today + datetime.timedelta(days=1)),
        "later": _item(workflow, seller, "Later order", today + datetime.timedelta(days=30)),
    }


def _row(body, title):
    start = body.index(title)
    return body[start : body.index("</tr>", start)] if "</tr>" in body[start:] else body[start:]


def test_the_list_marks_overdue_and_due_soon_items(client, member, items):
    client.force_login(member)
    body = client.get("/work/").content.decode()
    assert "Overdue" in _row(body, "Late order")
    assert "Due soon" in _row(body, "Soon order")
    later = _row(body, "Later order")
    assert "Overdue" not in later and "Due soon" not in later


def test_the_board_marks_an_overdue_card(client, member, items, workflow):
    client.force_login(member)
    body = client.get(f"/work/board/{workflow.pk}/").content.decode()
    card = body[body.index("Late order") : body.index("</article>", body.index("Late order"))]
    assert "Overdue" in card


def test_the_item_page_marks_the_due_date_and_a_delivered_item_is_never_overdue(
    client, member, items
):
    client.force_login(member)
    late = items["late"]
    assert "Overdue" in client.get(f"/work/{late.pk}/").content.decode()
    WorkItem.objects.filter(pk=late.pk).update(
        state=WorkItem.State.DONE, delivered_at=timezone.now()
    )
    late.refresh_from_db()
    assert late.due_status == ""


def test_the_item_page_marks_an_item_whose_stored_forecast_falls_after_its_due_date(
    client, member, items
):
    later = items["later"]
    DueForecast.objects.create(
        item=later,
        p85_at=timezone.now() + datetime.timedelta(days=45),
        method=DueForecast.Method.FORECAST,
        computed_at=timezone.now(),
    )
    client.force_login(member)
    assert ">At risk</span>" in client.get(f"/work/{later.pk}/").content.decode()
    assert ">At risk</span>" not in client.get(f"/work/{items['soon'].pk}/").content.decode()
