"""The integrations pages in Chromium: screenshots to judge on a laptop and a projector."""

import pytest

from handoffs.integrations import webhooks
from handoffs.models import ImportBatch, IntakeDelivery
from tests.handoffs import test_intake
from tests.handoffs.test_intake import DEAL, post_signed

crm_source = test_intake.crm_source


@pytest.fixture
def populated(crm_source, admin_user):
    post_signed(DEAL)
    post_signed(DEAL)
    post_signed(DEAL, secret="forged")
    post_signed({"event": {"id": "e2"}, "deal": {"name": "Half a deal", "company": "Initech"}})
    subscription = webhooks.subscription_create(
        name="ERP order feed",
        url="http://127.0.0.1:9/hook",
        event_kinds=["delivered"],
        by=admin_user,
    )
    webhooks.send_test(subscription)
    return subscription


def test_integration_pages_render_cleanly(
    page, live_server, login, screenshot, populated, crm_source, admin_user, workflow
):
    page.set_viewport_size({"width": 1366, "height": 768})
    login(admin_user)
    page.goto(f"{live_server.url}{crm_source.get_absolute_url()}")
    assert page.get_by_role("heading", name="Deliveries").is_visible()
    screenshot("integrations-intake-laptop", full_page=True)
    page.get_by_label("Show").select_option("rejected")
    page.wait_for_url("**status=rejected")
    assert page.locator("#delivery-log tbody tr").count() == 2
    rejected = IntakeDelivery.objects.filter(status="rejected").first()
    page.goto(f"{live_server.url}/integrations/deliveries/{rejected.pk}/")
    screenshot("integrations-delivery-laptop", full_page=True)
    page.goto(f"{live_server.url}{populated.get_absolute_url()}")
    screenshot("integrations-webhook-laptop", full_page=True)
    page.goto(f"{live_server.url}/integrations/intake/new/")
    screenshot("integrations-intake-form-laptop", full_page=True)

    page.goto(f"{live_server.url}/work/import/")
    page.get_by_label("Workflow").select_option(str(workflow.pk))
    page.get_by_label("File").set_input_files(
        files=[
            {
                "name": "orders.csv",
                "mimeType": "text/csv",
                "buffer": b"Title,External reference,PO number,Amount,Notes\n"
                b"ACME,R1,PO-1,10,first\nGlobex,R2,PO-2,oops,second\nInitech,R3,,5,third\n",
            }
        ]
    )
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_role("button", name="Dry run").click()
    assert page.get_by_text("1 row with problems").is_visible()
    screenshot("integrations-import-laptop", full_page=True)
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("integrations-import-projector")
    assert ImportBatch.objects.get().committed_at is None

    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/account/settings/")
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_role("button", name="Create token").click()
    assert page.locator(".token-key").is_visible()
    screenshot("account-settings-laptop", full_page=True)
