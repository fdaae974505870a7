"""The leads' overdue list: every open action past its due date, closable with an outcome."""

import datetime

import pytest
from django.utils import timezone

from reviews.models import ActionItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue(review, member):
    return ActionItem.objects.create(
        review=review,
        title="Fix the <b>intake</b> form",
        owner=member,
        due_date=timezone.localdate() - datetime.timedelta(days=3),
    )


def test_a_lead_sees_overdue_actions_and_can_close_them(client, lead, overdue, member, review):
    ActionItem.objects.create(
        review=review, title="Not yet due", owner=member, due_date=timezone.localdate()
    )
    client.force_login(lead)
    response = client.get("/reviews/actions/overdue/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Fix the &lt;b&gt;intake&lt;/b&gt; form" in body
    assert "Not yet due" not in body
    assert 'name="outcome"' in body


def test_a_viewer_reads_the_list_without_close_buttons(client, viewer, overdue):
    client.force_login(viewer)
    body = client.get("/reviews/actions/overdue/").content.decode()
    assert "Fix the &lt;b&gt;intake&lt;/b&gt; form" in body
    assert 'name="outcome"' not in body


def test_anonymous_visitors_are_sent_to_log_in(client, overdue):
    response = client.get("/reviews/actions/overdue/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_closing_from_the_list_keeps_the_outcome(client, member, overdue):
    client.force_login(member)
    response = client.post(
        f"/reviews/actions/{overdue.pk}/status/",
        {
            "status": "done",
            "outcome": "Form now requires a PO",
            "next": "/reviews/actions/overdue/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/reviews/actions/overdue/"
    overdue.refresh_from_db()
    assert overdue.status == "done" and overdue.outcome == "Form now requires a PO"


def test_the_list_costs_a_fixed_number_of_queries(
    client, lead, review, member, django_assert_max_num_queries
):
    for n in range(12):
        ActionItem.objects.create(
            review=review,
            title=f"Change {n}",
            owner=member,
            due_date=timezone.localdate() - datetime.timedelta(days=n + 1),
        )
    client.force_login(lead)
    with django_assert_max_num_queries(12):
        assert client.get("/reviews/actions/overdue/").status_code == 200
