"""Approving or denying a red request from its email: signed, expiring, single-use links for
the approver only, sent over real SMTP (the aiosmtpd fixture)."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from handoffs.decisions import links
from handoffs.decisions import services as decision_services
from handoffs.models import Decision, DecisionType, EmailDelivery, WorkItem
from opshub.mail import outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def red_request(item, seller, workflow):
    red = DecisionType.objects.create(
        workflow=workflow, key="terms", name="Change contract terms", default_level="red"
    )
    return decision_services.decision_record(
        item=item, by=seller, decision_type=red, summary="Net 60 for ACME"
    )


def _mails_to(smtp, user):
    for email in EmailDelivery.objects.filter(to_email=user.email).order_by("pk"):
        outbox.send_one(email.pk)
    return [m for m in smtp.parsed() if user.email in m["To"]]


def _link(message, label):
    text = message.get_body(preferencelist=("plain",)).get_content()
    url = re.search(rf"^{label}: (\S+)", text, re.MULTILINE).group(1)
    assert url.startswith(settings.OPSHUB_BASE_URL)
    return url.removeprefix(settings.OPSHUB_BASE_URL)


def test_the_approver_approves_from_the_email_without_signing_in(
    client, smtp_mailers, red_request, teams, item
):
    approver = teams["sales"].lead
    assert red_request.approver == approver
    [mail] = _mails_to(smtp_mailers, approver)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert ">Approve</a>" in html and ">Deny</a>" in html
    url = _link(mail, "Approve")

    page = client.get(url)  # what a mail scanner following the link does: nothing changes
    assert page.status_code == 200 and "Net 60 for ACME" in page.content.decode()
    assert f"You answer as {approver}" in page.content.decode()
    assert Decision.objects.get(pk=red_request.pk).status == Decision.Status.PENDING

    token = page.context["token"]
    answered = client.post(url, {"t": token, "answer": "approve", "comment": ""})
    assert answered.status_code == 200
    assert "This link is now used" in answered.content.decode()
    decision = Decision.objects.get(pk=red_request.pk)
    assert (decision.status, decision.decided_by) == (Decision.Status.APPROVED, approver)
    assert WorkItem.objects.get(pk=item.pk).state == WorkItem.State.IN_PROGRESS


def test_a_used_link_says_who_answered_and_changes_nothing(
    client, smtp_mailers, red_request, teams
):
    [mail] = _mails_to(smtp_mailers, teams["sales"].lead)
    deny = _link(mail, "Deny")
    token = client.get(deny).context["token"]
    assert client.post(deny, {"t": token, "answer": "deny", "comment": "Not below Net 45"})
    again = client.post(deny, {"t": token, "answer": "approve"})
    body = again.content.decode()
    assert again.status_code == 409
    assert f"This request was denied by {teams['sales'].lead}" in body
    assert "The link has been used; nothing changed." in body
    assert Decision.objects.get(pk=red_request.pk).status == Decision.Status.DENIED
    assert client.get(deny).status_code == 409


def test_denying_from_the_email_asks_for_a_comment_at_the_comment_field(
    client, smtp_mailers, red_request, teams
):
    [mail] = _mails_to(smtp_mailers, teams["sales"].lead)
    deny = _link(mail, "Deny")
    token = client.get(deny).context["token"]
    refused = client.post(deny, {"t": token, "answer": "deny", "comment": "  "})
    body = refused.content.decode()
    assert refused.status_code == 400
    assert 'class="field has-error"' in body
    assert "Say why it is denied, so the requester can act on it." in body
    assert Decision.objects.get(pk=red_request.pk).status == Decision.Status.PENDING


def test_an_expired_link_explains_itself_and_changes_nothing(client, red_request, teams):
    url = links.answer_url(red_request, teams["sales"].lead, "approve")
    token = url.split("t=", 1)[1]
    later = timezone.now() + links.LINK_MAX_AGE + datetime.timedelta(minutes=1)
    with time_machine.travel(later):
        page = client.get(url)
        posted = client.post(url, {"t": token, "answer": "approve"})
    assert page.status_code == posted.status_code == 410
    assert "This link expired: approval links work for 7 days." in page.content.decode()
    assert Decision.objects.get(pk=red_request.pk).status == Decision.Status.PENDING


def test_a_changed_link_or_one_for_another_request_is_refused(client, red_request, teams):
    url = links.answer_url(red_request, teams["sales"].lead, "approve")
    page = client.get(url[:-3] + "abc")
    assert page.status_code == 410 and "This link is not valid" in page.content.decode()

    other = Decision.objects.get(pk=red_request.pk)
    other.pk = red_request.pk + 1000
    foreign = links.answer_url(other, teams["sales"].lead, "approve")
    token = foreign.split("t=", 1)[1]
    page = client.get(url.split("?")[0], {"t": token, "answer": "approve"})
    assert page.status_code == 410 and "This link is for another request." in page.content.decode()


def test_the_requester_gets_no_answer_links_and_a_made_up_one_is_refused(
    client, smtp_mailers, red_request, seller
):
    assert not EmailDelivery.objects.filter(to_email=seller.email).exists()
    url = links.answer_url(red_request, seller, "approve")
    token = url.split("t=", 1)[1]
    posted = client.post(url, {"t": token, "answer": "approve"})
    assert posted.status_code == 409
    assert "Nobody approves their own request." in posted.content.decode()
    assert Decision.objects.get(pk=red_request.pk).status == Decision.Status.PENDING


def test_a_link_for_someone_no_longer_the_approver_is_refused(client, red_request, lead):
    url = links.answer_url(red_request, lead, "approve")  # Fulfilment's lead: not the approver
    token = url.split("t=", 1)[1]
    posted = client.post(url, {"t": token, "answer": "approve"})
    assert posted.status_code == 409
    assert "waits for someone else" in posted.content.decode()
    assert Decision.objects.get(pk=red_request.pk).status == Decision.Status.PENDING
