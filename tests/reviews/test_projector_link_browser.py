"""The facilitator picks how long a projector link works, in real Chromium, and sees until when."""

import pytest
from django.utils import dateformat, timezone
from playwright.sync_api import expect

from reviews.models import ProjectorLink

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_facilitator_creates_a_one_day_link_and_sees_its_expiry(
    page, live_server, login, lead, review, screenshot
):
    login(lead)
    page.goto(live_server.url + review.get_absolute_url())
    links = page.locator("#projector-links")
    expect(links.get_by_label("Works for")).to_have_value("7")

    links.get_by_label("Works for").select_option(label="1 day")
    links.get_by_role("button", name="Create link").click()

    link = ProjectorLink.objects.get()
    expiry = dateformat.format(timezone.localtime(link.expires_at), "j M Y H:i")
    expect(page.locator("#projector-links")).to_contain_text(f"Expires {expiry}")
    page.locator("#projector-links").scroll_into_view_if_needed()
    screenshot("reviews-projector-link-expiry")
    lifetime = (link.expires_at - link.created_at).total_seconds()
    assert lifetime == pytest.approx(86400, abs=5)
