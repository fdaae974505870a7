"""A lead acknowledges a stall in the browser; an admin checks the scheduler is alive."""

import datetime

import pytest
from django.utils import timezone

from handoffs.models import StallEpisode, WorkItem
from handoffs.stalls.detection import run_scan
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def episode(workflow, seller):
    for title, hours in (("ACME order #1", 30), ("Globex renewal", 6)):
        item = services.work_item_create(workflow=workflow, title=title, by=seller)
        transitions.handoff_submit(
            item=item,
            by=seller,
            checklist=["signed"],
            fields={"po_number": "PO-1", "amount": "120"},
        )
        WorkItem.objects.filter(pk=item.pk).update(
            state_changed_at=timezone.now() - datetime.timedelta(hours=hours)
        )
    run_scan()
    return StallEpisode.objects.order_by("started_at").first()


def test_the_lead_acknowledges_a_stall_without_a_reload(
    episode, lead, login, live_server, screenshot
):
    page = login(lead)
    page.goto(f"{live_server.url}/stalls/")
    page.get_by_role("link", name="ACME order #1").click()
    page.wait_for_url(f"**/stalls/{episode.pk}/")
    screenshot("stalls-detail")
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("Acknowledged: no reminders or escalation until").wait_for()
    episode.refresh_from_db()
    assert episode.acknowledged_by == lead
    page.goto(f"{live_server.url}/stalls/")
    screenshot("stalls-list")


def test_an_admin_sees_the_scheduler_and_queues_a_test_alert(
    episode, admin_user, login, live_server, screenshot
):
    page = login(admin_user)
    page.goto(f"{live_server.url}/ops/scheduler/")
    page.get_by_text("Open stalls", exact=True).wait_for()
    page.get_by_role("button", name="Send me a test alert now").click()
    page.get_by_text("Test alert queued for admin@example.com").wait_for()
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("stalls-scheduler")


def test_a_digest_reader_unsubscribes_from_the_digest_without_logging_in(
    member, page, live_server, screenshot
):
    from opshub.accounts.models import User
    from opshub.mail import preferences as email_preferences

    User.objects.filter(pk=member.pk).update(email_delivery=User.Delivery.DIGEST)
    member.refresh_from_db()
    link = email_preferences.switch_url(member, User.Delivery.IMMEDIATE)
    page.goto(live_server.url + link.removeprefix("http://127.0.0.1:8000"))
    page.get_by_role("heading", name="Unsubscribe from the daily digest?").wait_for()
    screenshot("stalls-unsubscribe-confirm")
    member.refresh_from_db()
    assert member.email_delivery == User.Delivery.DIGEST
    page.get_by_role("button", name="Unsubscribe from the digest").click()
    page.get_by_role("heading", name="Your emails arrive as they happen").wait_for()
    screenshot("stalls-unsubscribe-done")
    member.refresh_from_db()
    assert member.email_delivery == User.Delivery.IMMEDIATE
