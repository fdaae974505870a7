import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Event, Recovery
from reviews.audit import (
    decision_model,
    never_bouncing_stages,
    quiet_checklist_items,
    rubber_stamp_red_decisions,
    unread_fields,
)

pytestmark = pytest.mark.django_db


def _bounce(item, handoff, missing):
    return Recovery.objects.create(
        item=item,
        handoff=handoff,
        kind=Recovery.Kind.BOUNCE,
        missing_input=missing,
        next_check_at=timezone.now(),
        closed_at=timezone.now(),
        cause="process",
    )


def _handed_off(item, version, times):
    for _ in range(times):
        Event.objects.create(item=item, kind=Event.Kind.HANDOFF_SUBMITTED, protocol_version=version)


def test_checklist_items_no_bounce_named_are_candidates(item, handoff):
    _bounce(item, handoff, "Contract signed copy")
    _handed_off(item, handoff.published(), 3)
    findings = quiet_checklist_items()
    assert [f.subject for f in findings] == ["Intro call booked"]
    assert "Passed by 3 handoffs in 90 days" in findings[0].evidence
    assert "no bounce or recovery named it (1 recovery at this handoff)" in findings[0].evidence


def test_old_bounces_do_not_count_as_evidence(item, handoff):
    old = _bounce(item, handoff, "intro call")
    Recovery.objects.filter(pk=old.pk).update(
        opened_at=timezone.now() - datetime.timedelta(days=120)
    )
    assert {f.subject for f in quiet_checklist_items()} == {"Contract signed", "Intro call booked"}


def test_fields_nobody_names_are_listed_with_their_fill_rate(item, handoff):
    item.fields = {"po_number": "PO-1", "amount": "10.00", "notes": ""}
    item.save()
    _bounce(item, handoff, "PO number")
    findings = {f.subject: f for f in unread_fields()}
    assert set(findings) == {"Amount", "Notes"}
    assert findings["Notes"].evidence.startswith("Filled on 0 of 1 items in 90 days")
    assert findings["Amount"].evidence.startswith("Filled on 1 of 1 items")
    assert "(optional)" in findings["Notes"].where


def test_a_busy_stage_that_never_bounces_is_a_candidate(item, handoff):
    _handed_off(item, handoff.published(), 12)
    [finding] = never_bouncing_stages()
    assert finding.subject == "Qualify"
    assert finding.evidence.startswith("12 handoffs out of this stage in 90 days, 0 bounces")
    _bounce(item, handoff, "anything")
    assert never_bouncing_stages() == []


@pytest.mark.skipif(decision_model() is None, reason="decision rights not installed")
def test_red_decisions_nearly_always_approved_with_long_waits(item, seller, lead):
    from handoffs.models import DecisionType

    decision = decision_model()
    kind = DecisionType.objects.create(
        workflow=item.workflow, key="discount", name="Give a discount", default_level="red"
    )
    for n in range(6):
        requested = timezone.now() - datetime.timedelta(days=n + 1)
        decision.objects.create(
            item=item,
            decision_type=kind,
            requester=seller,
            role="member",
            level="red",
            summary=f"Discount {n}",
            status="approved",
            approver=lead,
            decided_by=lead,
            requested_at=requested,
            decided_at=requested + datetime.timedelta(hours=10),
        )
    [finding] = rubber_stamp_red_decisions()
    assert finding.subject == "Give a discount"
    assert "6 of 6 red requests approved (100%)" in finding.evidence
    assert "waited 10.0 h on average" in finding.evidence


def test_the_audit_page_shows_each_section_with_evidence(client, viewer, item, handoff):
    _handed_off(item, handoff.published(), 12)
    client.force_login(viewer)
    response = client.get(reverse("reviews:audit"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Checklist items that have not caught a problem" in body
    assert "Stages that never bounce" in body and "12 handoffs out of this stage" in body
    assert "Fields nobody reads" in body


def test_the_audit_and_patterns_pages_need_a_login(client):
    for name in ("audit", "patterns"):
        response = client.get(reverse(f"reviews:{name}"))
        assert response.status_code == 302 and "/accounts/login/" in response.url
