"""Stall alerts and the daily digest, the switch links, the resolved notice to the lead.

A real SMTP server (aiosmtpd) in the test process, and time-machine for the days.
"""

import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from handoffs.models import EmailDelivery, StallEpisode, StallNotice
from handoffs.stalls import digest as daily_digest
from handoffs.stalls.alerts import action_token
from handoffs.stalls.detection import run_scan
from handoffs.work import services, transitions
from opshub.accounts.models import User
from opshub.mail import notifications
from opshub.mail import preferences as email_preferences
from opshub.mail.outbox import send_due

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
# A Monday, 08:00 UTC = 09:00 in Berlin.
MONDAY = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def _digest_user(user):
    user.email_delivery = User.Delivery.DIGEST
    user.time_zone = "Europe/Berlin"
    user.work_starts, user.work_ends = datetime.time(9), datetime.time(17)
    user.save()


def _handed_off(workflow, seller, lead, assignee=None):
    item = services.work_item_create(workflow=workflow, title="ACME order #1", by=seller)
    item = transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    if assignee is not None:
        services.work_item_assign(item=item, by=lead, assignee=assignee)
    return item


def _hour(clock, hours=1):
    """Time passes; each hour the beat runs the scan and the digest, and the outbox sends
    what they queued."""
    for _ in range(hours):
        clock.shift(H)
        run_scan()
        daily_digest.send_digests()
        send_due()


def _to(smtp, address):
    return [message for message in smtp.parsed() if message["To"] == address]


def _link(body, path):
    return re.search(rf"https?://\S+{re.escape(path)}\S+/", body).group(0)


def test_a_digest_user_gets_the_stall_in_one_daily_digest_with_their_notifications(
    clock, workflow, seller, lead, member, smtp_mailers, client
):
    _digest_user(member)
    notifications.notify([member], message="Refund #1 approved", subject="Refund #1")
    daily_digest.send_digests()  # 09:00 in Berlin: today's digest, before the stall
    send_due()
    [monday] = _to(smtp_mailers, member.email)
    assert "Refund #1 approved" in monday.get_body(("plain",)).get_content()

    _handed_off(workflow, seller, lead, assignee=member)
    _hour(clock, 4)  # 13:00 in Berlin: stalled (target 4 h), owner on the digest
    episode = StallEpisode.objects.get()
    assert episode.alerted_at is not None
    assert len(_to(smtp_mailers, member.email)) == 1  # no immediate alert
    [parked] = StallNotice.objects.filter(recipient=member)
    assert parked.kind == StallNotice.Kind.ALERT and parked.delivery is None
    client.force_login(member)
    detail = client.get(reverse("handoffs:stall-detail", args=[episode.pk]))
    assert b"Waiting for the daily digest" in detail.content

    notifications.notify([member], message="Refund #2 approved", subject="Refund #2")
    _hour(clock, 4)  # 8 h after the handoff: the lead (immediate) is escalated to at once
    [escalation] = _to(smtp_mailers, lead.email)
    assert escalation["Subject"].startswith("Escalation: ACME order #1 stalled 8 h")

    _hour(clock, 15)  # through the night: still one email for the member
    assert len(_to(smtp_mailers, member.email)) == 1
    _hour(clock, 1)  # Tuesday 09:00 in Berlin: the start of the member's working day
    [_, digest] = _to(smtp_mailers, member.email)
    assert digest["Subject"] == "opshub daily digest: 1 new, 1 stalled work item"
    text = digest.get_body(("plain",)).get_content()
    assert "Refund #2 approved" in text and "Refund #1" not in text
    assert "STALLED WORK (1)" in text and "NEWLY STALLED" in text and "ACME order #1" in text
    assert "Waiting 1 d against a target of 4 h: 20 h over." in text
    parked.refresh_from_db()
    assert parked.delivery.kind == EmailDelivery.Kind.DIGEST
    # Unsubscribe from the digest: a link in the body and the List-Unsubscribe header.
    unsubscribe = _link(text, "/email/delivery/")
    assert digest["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert digest["List-Unsubscribe-Post"] is None  # leaving the digest is confirmed on a page

    _hour(clock, 3)
    assert len(_to(smtp_mailers, member.email)) == 2  # once a day


def test_escalations_reach_a_digest_lead_at_once_and_the_resolved_notice_waits(
    clock, workflow, seller, lead, member, smtp_mailers
):
    _digest_user(lead)
    clock.shift(-2 * H)  # 07:00 in Berlin
    notifications.notify([lead], message="Refund #1 approved", subject="Refund #1")
    item = _handed_off(workflow, seller, lead, assignee=member)
    _hour(clock, 4)  # 11:00 in Berlin; the lead got Monday's digest at 09:00
    monday, alert = smtp_mailers.parsed()
    assert monday["To"] == lead.email and monday["Subject"] == "opshub daily digest: 1 new"
    # The member is on immediate delivery: unchanged, with a one-click switch to the digest.
    assert alert["To"] == member.email and alert["Subject"].startswith("Stalled 4 h:")
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/one-click/" in alert["List-Unsubscribe"]
    assert "Switch to the daily digest" in alert.get_body(("plain",)).get_content()

    _hour(clock, 4)  # 15:00 in Berlin: 8 h after the handoff
    escalation = smtp_mailers.parsed()[-1]
    assert escalation["To"] == lead.email and escalation["Subject"].startswith("Escalation:")
    assert escalation["List-Unsubscribe"] is None  # urgent, not a mailing list
    assert "Get every alert as it" in escalation.get_body(("plain",)).get_content()

    transitions.handoff_accept(item=item, by=lead)
    _hour(clock)
    resolved = smtp_mailers.parsed()[-1]
    assert resolved["To"] == member.email and resolved["Subject"].startswith("Resolved:")
    assert len(_to(smtp_mailers, lead.email)) == 2  # the lead's notice waits for the digest
    _hour(clock, 17)  # Tuesday 09:00 in Berlin
    tuesday = _to(smtp_mailers, lead.email)[-1]
    assert tuesday["Subject"] == "opshub daily digest: 1 stalled work item"
    text = tuesday.get_body(("plain",)).get_content()
    assert "RESOLVED" in text and "No longer stalled: it waited 9 h" in text
    assert len(smtp_mailers.messages) == 5


def test_the_lead_who_was_escalated_to_hears_once_that_it_resolved(
    clock, workflow, seller, lead, member, smtp_mailers
):
    item = _handed_off(workflow, seller, lead, assignee=member)
    _hour(clock, 8)
    assert [m["To"] for m in smtp_mailers.parsed()] == [member.email, lead.email]
    transitions.handoff_accept(item=item, by=lead)
    _hour(clock)
    _hour(clock)
    owner_notice, lead_notice = smtp_mailers.parsed()[2:]
    assert {owner_notice["To"], lead_notice["To"]} == {member.email, lead.email}
    assert lead_notice["Subject"] == owner_notice["Subject"]
    assert lead_notice["Subject"].startswith("Resolved: ACME order #1 is moving again after 9 h")
    assert len(smtp_mailers.messages) == 4
    assert StallNotice.objects.filter(kind=StallNotice.Kind.RESOLVED_LEAD).count() == 1

    # The unique constraint is behind the claim: a second notice is refused by the database.
    episode = StallEpisode.objects.get()
    with pytest.raises(Exception, match="stall_notice_once"):
        StallNotice.objects.create(
            episode=episode, kind=StallNotice.Kind.RESOLVED_LEAD, recipient=lead
        )


def test_a_lead_who_owns_the_stall_is_never_escalated_to_and_gets_one_resolved_notice(
    clock, workflow, seller, lead, smtp_mailers
):
    item = _handed_off(workflow, seller, lead)  # no assignee: the lead owns it
    _hour(clock, 8)
    # Nobody above the lead (no workflow owner, no admin): no escalation to themself.
    assert StallEpisode.objects.get().escalate_to is None
    assert [m["Subject"].split(":")[0] for m in smtp_mailers.parsed()] == ["Stalled 4 h"]
    transitions.handoff_accept(item=item, by=lead)
    _hour(clock, 2)
    assert [m["Subject"].split(":")[0] for m in smtp_mailers.parsed()][1:] == ["Resolved"]


# --- The switch links ----------------------------------------------------------------------


def test_the_switch_link_shows_a_page_and_only_a_post_switches(member, client):
    url = reverse(
        "handoffs:email-delivery",
        args=[email_preferences.token_for(member, User.Delivery.DIGEST)],
    )
    page = client.get(url)
    assert page.status_code == 200
    assert b"Switch to the daily digest?" in page.content and b"member@example.com" in page.content
    member.refresh_from_db()
    assert member.email_delivery == User.Delivery.IMMEDIATE  # GET changed nothing

    csrf = Client(enforce_csrf_checks=True)
    assert csrf.post(url).status_code == 403  # the page's form is CSRF-protected
    csrf.get(url)
    done = csrf.post(url, {"csrfmiddlewaretoken": csrf.cookies["csrftoken"].value}, follow=True)
    assert b"You get one daily digest" in done.content
    member.refresh_from_db()
    assert member.email_delivery == User.Delivery.DIGEST

    # And back, from the digest's "unsubscribe from the digest" link.
    back = reverse(
        "handoffs:email-delivery",
        args=[email_preferences.token_for(member, User.Delivery.IMMEDIATE)],
    )
    assert b"Unsubscribe from the daily digest?" in client.get(back).content
    client.post(back)
    member.refresh_from_db()
    assert member.email_delivery == User.Delivery.IMMEDIATE


def test_forged_or_foreign_tokens_are_refused_and_change_nothing(member, workflow, seller):
    client = Client()
    good = email_preferences.token_for(member, User.Delivery.DIGEST)
    episode_token = action_token(StallEpisode(pk=1), member)  # signed, but for another purpose
    for token in (good[:-2] + "xx", good.replace(":", ":A", 1), episode_token, "nonsense"):
        url = reverse("handoffs:email-delivery", args=[token])
        assert client.get(url).status_code == 400
        assert client.post(url).status_code == 400
        one_click = reverse("handoffs:email-delivery-one-click", args=[token])
        assert client.post(one_click, {"List-Unsubscribe": "One-Click"}).status_code == 400
    member.refresh_from_db()
    assert member.email_delivery == User.Delivery.IMMEDIATE


def test_one_click_unsubscribe_switches_with_the_signed_url_alone(member):
    client = Client(enforce_csrf_checks=True)  # mail clients send no cookie, no CSRF token
    url = email_preferences.one_click_url(member, User.Delivery.DIGEST)
    path = url.removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 200  # opening it in a browser shows the page
    assert client.post(path, {}).status_code == 200  # a plain POST is not one-click
    member.refresh_from_db()
    assert member.email_delivery == User.Delivery.IMMEDIATE
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    member.refresh_from_db()
    assert member.email_delivery == User.Delivery.DIGEST
