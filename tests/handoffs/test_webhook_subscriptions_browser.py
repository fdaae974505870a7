"""Managing a webhook subscription in Chromium: edit, delete (confirm), the kept log."""

from handoffs.integrations import webhooks


def test_edit_and_delete_a_subscription(page, live_server, login, screenshot, admin_user):
    subscription = webhooks.subscription_create(
        name="ERP order feed",
        url="https://erp.example.com/hooks/opshub",
        event_kinds=["delivered"],
        by=admin_user,
    )
    page.set_viewport_size({"width": 1366, "height": 768})
    login(admin_user)
    page.goto(f"{live_server.url}{subscription.get_absolute_url()}")
    screenshot("webhook-detail-laptop")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Stall started").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{subscription.get_absolute_url()}")
    assert page.get_by_text("Stall started").first.is_visible()
    page.get_by_role("link", name="Delete…").click()
    screenshot("webhook-delete-confirm")
    page.get_by_role("button", name="Delete subscription").click()
    page.wait_for_url(f"**{subscription.get_absolute_url()}")
    assert page.get_by_text("the log below is kept read-only").is_visible()
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{live_server.url}/integrations/webhooks/")
    page.get_by_text("Deleted subscriptions (1)").click()
    screenshot("webhook-list-deleted-projector")
