"""The README's Features screenshots, taken on seed_demo's organisation at 1366×768, and the
pages a team shows on a projector again at 1920×1080 (NAME-1920.png).

Each area's page is opened as the person who would use it; every screenshot lands in
tests/screenshots/feature-*.png, and `--update-docs-screenshots` writes it over
docs/img/ as well (README.md, "Features"): run this file with it after changing a page.
"""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from handoffs.models import Handoff, IntakeSource, Workflow, WorkItem
from handoffs.stalls.detection import run_scan
from opshub.accounts.models import User
from reviews.models import Review
from tests.conftest import DOCS_VIEWPORT

PROJECTOR = {"width": 1920, "height": 1080}

pytestmark = pytest.mark.django_db(transaction=True)

CHARTS = (
    "() => [...document.querySelectorAll('canvas[data-scoreboard-chart]')]"
    ".every(c => Chart.getChart(c))"
)


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", items=200, days=120, seed=7, fresh_stall=True, stdout=StringIO())
    run_scan()
    order = Workflow.objects.get(name="Order to delivery")
    return {
        "order": order,
        "into_fulfilment": Handoff.objects.get(
            workflow=order, from_stage__name="Credit check & invoice"
        ),
        "review": Review.objects.get(status=Review.Status.OPEN),
        "intake_source": IntakeSource.objects.get(),
        "rush_order": WorkItem.objects.filter(title="Nakatomi rush order #1").first(),
    }


def test_the_readme_shows_every_area_on_the_demo_data(
    page, live_server, login, docs_screenshot, demo
):
    page.set_viewport_size(DOCS_VIEWPORT)
    url = live_server.url

    page.goto(f"{url}{reverse('login')}")
    page.get_by_label("Email").fill("lead@example.com")
    docs_screenshot("feature-sign-in")

    lead = User.objects.get(email="lead@example.com")
    login(lead, password=settings.OPSHUB_DEMO_PASSWORD)

    page.goto(f"{url}{reverse('scoreboard:dashboard')}")
    page.wait_for_function(CHARTS)
    docs_screenshot("feature-scoreboard")

    page.goto(f"{url}{reverse('handoffs:item-board-workflow', args=[demo['order'].pk])}")
    expect(page.get_by_text("Nakatomi rush order #1").first).to_be_visible()
    docs_screenshot("feature-work-board")

    page.goto(f"{url}{demo['rush_order'].get_absolute_url()}")
    expect(page.get_by_role("heading", name="Nakatomi rush order #1")).to_be_visible()
    docs_screenshot("feature-work-item")

    page.goto(f"{url}{demo['into_fulfilment'].get_absolute_url()}")
    expect(page.get_by_text("Credit check passed or prepayment received").first).to_be_visible()
    docs_screenshot("feature-protocol")

    page.goto(f"{url}{reverse('handoffs:decision-matrix', args=[demo['order'].pk])}")
    docs_screenshot("feature-decision-rights")

    page.goto(f"{url}{reverse('handoffs:stall-list')}")
    expect(page.get_by_text("Nakatomi rush order #1").first).to_be_visible()
    docs_screenshot("feature-stalls")

    page.goto(f"{url}{reverse('reviews:review-projector', args=[demo['review'].pk])}")
    docs_screenshot("feature-review-projector")

    # The same pages on a projector, as a team looks at them together.
    page.set_viewport_size(PROJECTOR)
    page.goto(f"{url}{reverse('scoreboard:dashboard')}")
    page.wait_for_function(CHARTS)
    docs_screenshot("feature-scoreboard-1920")
    page.goto(f"{url}{reverse('handoffs:item-board-workflow', args=[demo['order'].pk])}")
    expect(page.get_by_text("Nakatomi rush order #1").first).to_be_visible()
    docs_screenshot("feature-work-board-1920")
    page.goto(f"{url}{demo['rush_order'].get_absolute_url()}")
    expect(page.get_by_role("heading", name="Nakatomi rush order #1")).to_be_visible()
    docs_screenshot("feature-work-item-1920")
    page.goto(f"{url}{reverse('reviews:review-projector', args=[demo['review'].pk])}")
    docs_screenshot("feature-review-projector-1920")
    page.set_viewport_size(DOCS_VIEWPORT)

    page.context.clear_cookies()
    login(User.objects.get(email="admin@example.com"), password=settings.OPSHUB_DEMO_PASSWORD)
    page.goto(f"{url}{reverse('handoffs:intake-detail', args=[demo['intake_source'].pk])}")
    docs_screenshot("feature-integrations")
