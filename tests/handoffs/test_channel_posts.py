"""Red decision requests and handoffs waiting for a team, posted to the channels that
subscribe, through the channel outbox, to a real receiver on 127.0.0.1."""

import re

import pytest
from django.conf import settings
from django.db import transaction

from handoffs.decisions import links
from handoffs.decisions import services as decision_services
from handoffs.models import ChannelDelivery, DecisionType, NotificationChannel
from handoffs.stalls.channels import send_due
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db

Event = NotificationChannel.Event


def _channel(receiver, path, events, **owner):
    return NotificationChannel.objects.create(
        name=path, url=receiver.url(path), events=events, **owner
    )


def _hand_off(workflow, seller, title="ACME order #1", note=""):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    transitions.handoff_submit(
        item=item,
        by=seller,
        checklist=["signed"],
        fields={"po_number": "PO-1", "amount": "120"},
        note=note,
    )
    return item


def test_a_handoff_waiting_for_a_team_is_posted_to_its_subscribed_channels(
    chat_receiver, workflow, seller, teams
):
    _channel(chat_receiver, "fulfilment", [Event.HANDOFF_WAITING], team=teams["fulfilment"])
    _channel(chat_receiver, "stalls-only", [Event.STALL_ALERT], team=teams["fulfilment"])
    _channel(chat_receiver, "sales", [Event.HANDOFF_WAITING], team=teams["sales"])
    item = _hand_off(workflow, seller, note="Rush, please")

    assert send_due() == (1, 0)
    [post] = chat_receiver.messages("fulfilment")
    assert post["title"] == "Waiting for Fulfilment: ACME order #1"
    assert "from Qualify to Ship" in post["message"] and "Note: Rush, please" in post["message"]
    assert f"{settings.OPSHUB_BASE_URL}{item.get_absolute_url()}" in post["message"]
    assert chat_receiver.messages("stalls-only") == chat_receiver.messages("sales") == []


def test_each_handoff_is_posted_once_however_often_the_outbox_runs(
    chat_receiver, workflow, seller, teams
):
    _channel(chat_receiver, "fulfilment", [Event.HANDOFF_WAITING], team=teams["fulfilment"])
    _hand_off(workflow, seller, title="First")
    _hand_off(workflow, seller, title="Second")
    send_due()
    send_due()
    titles = sorted(post["title"] for post in chat_receiver.messages("fulfilment"))
    assert titles == ["Waiting for Fulfilment: First", "Waiting for Fulfilment: Second"]
    assert set(ChannelDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_handoff_that_rolls_back_posts_nothing(chat_receiver, workflow, seller, teams):
    _channel(chat_receiver, "fulfilment", [Event.HANDOFF_WAITING], team=teams["fulfilment"])
    with pytest.raises(RuntimeError), transaction.atomic():
        _hand_off(workflow, seller)
        raise RuntimeError("the request failed after the handoff")
    assert ChannelDelivery.objects.count() == 0


@pytest.fixture
def red_type(workflow):
    return DecisionType.objects.create(
        workflow=workflow, key="terms", name="Change contract terms", default_level="red"
    )


def test_a_red_request_reaches_the_approvers_channel_with_links_signed_for_them(
    chat_receiver, client, item, seller, teams, red_type
):
    approver = teams["sales"].lead
    _channel(chat_receiver, "approver", [Event.DECISION_REQUEST], user=approver)
    _channel(chat_receiver, "sales", [Event.DECISION_REQUEST], team=teams["sales"])
    _channel(chat_receiver, "seller", [Event.DECISION_REQUEST], user=seller)
    decision = decision_services.decision_record(
        item=item, by=seller, decision_type=red_type, summary="Net 60 for ACME", why="Big deal"
    )
    send_due()

    [mine] = chat_receiver.messages("approver")
    assert mine["title"] == "Approval needed: Net 60 for ACME"
    assert "Why: Big deal" in mine["message"]
    approve = re.search(r"^Approve: (\S+)", mine["message"], re.MULTILINE).group(1)
    path = approve.removeprefix(settings.OPSHUB_BASE_URL)
    token = re.search(r"[?&]t=([^&]+)", path).group(1)
    assert links.approver_from_link(token, decision) == approver
    assert client.get(path).status_code == 200  # the same answer page as the email's link

    [team_post] = chat_receiver.messages("sales")
    assert "?t=" not in team_post["message"]  # anyone in a team channel could follow it
    assert decision.get_absolute_url() in team_post["message"]
    assert chat_receiver.messages("seller") == []  # the requester is not asked


def test_a_red_request_goes_to_the_approving_team_named_by_the_right(
    chat_receiver, item, seller, teams, red_type, make_user
):
    from handoffs.models import DecisionRight, Team

    legal_lead = make_user("legal.lead@example.com", "lead")
    legal = Team.objects.create(name="Legal", lead=legal_lead)
    DecisionRight.objects.create(
        decision_type=red_type,
        role="member",
        level="red",
        approver_team=legal,
    )
    _channel(chat_receiver, "legal", [Event.DECISION_REQUEST], team=legal)
    _channel(chat_receiver, "sales", [Event.DECISION_REQUEST], team=teams["sales"])
    decision_services.decision_record(
        item=item, by=seller, decision_type=red_type, summary="Net 90"
    )
    send_due()
    assert len(chat_receiver.messages("legal")) == 1
    assert chat_receiver.messages("sales") == []


def test_the_scheduler_page_lists_the_posts_with_their_status(
    chat_receiver, client, admin_user, item, seller, teams, red_type
):
    _channel(chat_receiver, "sales", [Event.DECISION_REQUEST], team=teams["sales"])
    decision_services.decision_record(
        item=item, by=seller, decision_type=red_type, summary="Net 60 for ACME"
    )
    send_due()
    client.force_login(admin_user)
    page = client.get("/ops/scheduler/").text
    assert "Approval needed: Net 60 for ACME" in page and "Sent" in page
