"""The page an approval email's Deny link opens, in Chromium, signed out: a comment is asked
for at the Comment field, then the request is denied and the link is used."""

import pytest
from playwright.sync_api import expect

from handoffs.decisions import links
from handoffs.decisions import services as decision_services
from handoffs.models import Decision, DecisionType

pytestmark = pytest.mark.django_db(transaction=True)


def test_denying_from_the_email_link_signed_out(
    page, live_server, screenshot, item, seller, teams, workflow
):
    red = DecisionType.objects.create(
        workflow=workflow, key="terms", name="Change contract terms", default_level="red"
    )
    decision = decision_services.decision_record(
        item=item, by=seller, decision_type=red, summary="Net 60 for ACME"
    )
    url = live_server.url + links.answer_url(decision, teams["sales"].lead, "deny")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(url)
    expect(page.get_by_text("Net 60 for ACME")).to_be_visible()
    page.get_by_role("button", name="Deny").click()
    comment = page.locator(".field.has-error").filter(has_text="Comment")
    expect(comment.get_by_text("Say why it is denied")).to_be_visible()
    screenshot("decision-email-deny-refused")
    assert Decision.objects.get(pk=decision.pk).status == Decision.Status.PENDING

    page.get_by_label("Comment").fill("Net 45 at most; ask Finance for more.")
    page.get_by_role("button", name="Deny").click()
    expect(page.locator("#link-answered")).to_contain_text("This link is now used")
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("decision-email-denied-1080p")
    assert Decision.objects.get(pk=decision.pk).status == Decision.Status.DENIED

    page.goto(url)
    expect(page.locator("#link-refused")).to_contain_text("The link has been used")
