"""A work item's dates stay in a sane range wherever they come in (opshub/lib/dates.py):
requested at from 2000-01-01 to a day ahead, a due date from 2000-01-01 to 2100-12-31.
Each entry point refuses the rest with a message on the field and creates or changes nothing."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from handoffs.models import Event, IntakeDelivery, WorkItem
from tests.handoffs.test_intake import DEAL, crm_source, post_signed  # noqa: F401
from tests.handoffs.test_item_edit import _form

pytestmark = pytest.mark.django_db

EARLY = "The request time must be on or after 2000-01-01."
AHEAD = "The request time cannot be more than a day in the future."
DUE_RANGE = "The due date must be between 2000-01-01 and 2100-12-31."


def _in(**delta):
    return (timezone.now() + datetime.timedelta(**delta)).isoformat()


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


REQUESTED = [
    ("0001-01-01T00:00:00Z", EARLY),
    ("1999-12-31T23:59:59Z", EARLY),
    ("1999-12-31T23:59:59-05:00", None),  # 04:59 UTC on 2000-01-01
    # Named, not by their value: parallel workers collect at different instants.
    pytest.param(_in(days=2), AHEAD, id="two-days-ahead"),
    pytest.param(_in(hours=20), None, id="twenty-hours-ahead"),
]


@pytest.mark.parametrize(("requested_at", "message"), REQUESTED)
def test_the_api_bounds_requested_at_on_create(workflow, seller, requested_at, message):
    body = {"workflow": workflow.pk, "title": "Order", "requested_at": requested_at}
    response = _api(seller).post("/api/v1/work-items/", body, format="json")

    if message is None:
        assert response.status_code == 201, response.json()
    else:
        assert response.status_code == 400
        assert response.json()["requested_at"] == [message]
        assert not WorkItem.objects.exists()


@pytest.mark.parametrize(
    ("due_date", "ok"),
    [("0001-01-01", False), ("1999-12-31", False), ("2000-01-01", True), ("2100-12-31", True)]
    + [("2101-01-01", False), ("9999-12-31", False)],
)
def test_the_api_bounds_the_due_date_on_create(workflow, seller, due_date, ok):
    body = {"workflow": workflow.pk, "title": "Order", "due_date": due_date}
    response = _api(seller).post("/api/v1/work-items/", body, format="json")

    assert response.status_code == (201 if ok else 400)
    if not ok:
        assert response.json()["due_date"] == [DUE_RANGE]


@pytest.mark.parametrize("due_date", ["0001-01-01", "2101-01-01"])
def test_the_api_refuses_an_out_of_range_due_date_on_edit(item, seller, due_date):
    before = item.updated_at
    response = _api(seller).patch(
        f"/api/v1/work-items/{item.pk}/", {"due_date": due_date}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["due_date"] == [DUE_RANGE]
    item.refresh_from_db()
    assert item.due_date is None and item.updated_at == before


def test_the_create_page_names_a_year_one_request_time_on_its_field(client, workflow, seller):
    client.force_login(seller)
    data = {"workflow": workflow.pk, "title": "Order", "priority": "normal"}
    response = client.post(
        reverse("handoffs:item-create"), {**data, "requested_at": "0001-01-01T00:00"}
    )

    assert response.status_code in (200, 400)
    assert response.context["form"].errors["requested_at"] == [EARLY]
    assert not WorkItem.objects.exists()


def test_the_edit_panel_names_an_out_of_range_due_date_on_its_field(client, item, seller):
    client.force_login(seller)
    response = client.post(
        reverse("handoffs:item-edit", args=[item.pk]), _form(item, due_date="2200-01-01")
    )

    assert DUE_RANGE in response.content.decode()
    item.refresh_from_db()
    assert item.due_date is None


@pytest.mark.parametrize(
    ("closed_at", "message"),
    [
        ("0001-01-01T00:00:00Z", EARLY),
        ("1999-12-31T23:59:59Z", EARLY),
        pytest.param(_in(days=2), AHEAD, id="two-days-ahead"),
    ],
)
def test_intake_refuses_a_requested_at_out_of_range_and_logs_it(crm_source, closed_at, message):  # noqa: F811
    response = post_signed({**DEAL, "deal": {**DEAL["deal"], "closed_at": closed_at}})

    assert response.status_code == 400
    assert response.json()["errors"]["requested_at"] == message
    assert not WorkItem.objects.exists() and not Event.objects.exists()
    assert IntakeDelivery.objects.get().status == "rejected"


def test_intake_takes_unix_seconds_of_year_one_as_no_more_than_a_bad_date(crm_source):  # noqa: F811
    response = post_signed({**DEAL, "deal": {**DEAL["deal"], "closed_at": -62135596800}})

    assert response.status_code == 400
    assert response.json()["errors"]["requested_at"] == EARLY
