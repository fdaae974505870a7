"""Decision rights end to end: green moves on, yellow informs, red pauses for an approver."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from handoffs.decisions import rules as rights
from handoffs.decisions import services as decision_services
from handoffs.models import (
    Decision,
    DecisionMatrixChange,
    DecisionType,
    EmailDelivery,
    Event,
    Notification,
    WorkItem,
)
from handoffs.stalls import digest
from handoffs.work import services, transitions
from opshub.accounts.models import User
from opshub.mail import outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sales_lead(teams):
    return teams["sales"].lead


def _type(workflow, name, **extra):
    return DecisionType.objects.create(workflow=workflow, key=name.lower()[:20], name=name, **extra)


def _set(decision_type, role, level, by, **routing):
    if routing:
        routing = {"inform_users": [], **routing}
    return rights.matrix_set_right(
        decision_type=decision_type, role=role, team=None, by=by, level=level, **routing
    )


def _builtin(workflow, key):
    DecisionType.objects.ensure_builtins(workflow)
    return DecisionType.objects.get(workflow=workflow, key=key)


def test_green_is_recorded_and_the_work_moves_on(item, seller, sales_lead, workflow):
    discount = _type(workflow, "Discount up to 10%")
    _set(discount, "member", "green", sales_lead)
    decision = decision_services.decision_record(
        item=item, by=seller, decision_type=discount, summary="8% discount", why="Volume deal"
    )
    item.refresh_from_db()
    assert decision.status == Decision.Status.RECORDED and decision.level == "green"
    assert item.state == WorkItem.State.IN_PROGRESS
    event = item.events.get(kind=Event.Kind.DECISION_RECORDED)
    assert event.payload["decision_id"] == decision.pk and event.payload["level"] == "green"
    assert event.payload["matrix_version"] == 1
    assert not Notification.objects.exists()


def test_yellow_informs_the_named_people_by_email_after_commit(
    item,
    seller,
    sales_lead,
    lead,
    member,
    workflow,
    smtp_mailers,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    refund = _type(workflow, "Refund")
    _set(refund, "member", "yellow", sales_lead, inform_users=[lead, member])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        decision_services.decision_record(
            item=item, by=seller, decision_type=refund, summary="Refund €120", why="Late parcel"
        )
        assert smtp_mailers.messages == []  # nothing leaves before the commit
    assert len(callbacks) == 2
    assert sorted(m.rcpt_tos[0] for m in smtp_mailers.messages) == [lead.email, member.email]
    message = smtp_mailers.parsed()[0]
    assert "Refund €120" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Seller" in text and "Late parcel" in text and "ACME order #1" in text
    assert f"http://testserver/work/{item.pk}/" in text or "/work/" in text
    html = message.get_body(("html",)).get_content()
    assert "Open in opshub" in html
    assert Notification.objects.filter(user=lead, item=item).count() == 1
    assert not EmailDelivery.objects.exclude(status=EmailDelivery.Status.SENT).exists()
    assert {e.kind for e in EmailDelivery.objects.all()} == {EmailDelivery.Kind.NOTIFICATION}


def test_red_pauses_the_item_until_the_approver_answers(
    item,
    seller,
    sales_lead,
    workflow,
    smtp_mailers,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    contract = _type(workflow, "Contract change", default_level="red")
    with django_capture_on_commit_callbacks(execute=True):
        decision = decision_services.decision_record(
            item=item, by=seller, decision_type=contract, summary="Net 60 payment terms"
        )
    item.refresh_from_db()
    assert item.state == WorkItem.State.AWAITING_DECISION
    assert decision.status == Decision.Status.PENDING and decision.approver == sales_lead
    assert [m.rcpt_tos for m in smtp_mailers.messages] == [[sales_lead.email]]
    assert list(Decision.objects.awaiting(sales_lead)) == [decision]

    with django_capture_on_commit_callbacks(execute=True):
        decision_services.decision_approve(decision=decision, by=sales_lead, comment="OK this once")
    item.refresh_from_db()
    decision.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS and item.resume_state == ""
    assert decision.status == Decision.Status.APPROVED and decision.decided_by == sales_lead
    approved = item.events.get(kind=Event.Kind.DECISION_APPROVED)
    assert approved.payload["paused_seconds"] >= 0 and approved.payload["comment"] == "OK this once"
    assert smtp_mailers.messages[-1].rcpt_tos == [seller.email]
    assert "Approved" in smtp_mailers.parsed()[-1]["Subject"]
    assert item.replayed_state()[1] == WorkItem.State.IN_PROGRESS


def test_a_denied_request_needs_a_reason_and_resumes_the_item(item, seller, sales_lead, workflow):
    contract = _type(workflow, "Contract change", default_level="red")
    decision = decision_services.decision_record(
        item=item, by=seller, decision_type=contract, summary="Net 90"
    )
    with pytest.raises(ValidationError):
        decision_services.decision_deny(decision=decision, by=sales_lead, comment="")
    decision_services.decision_deny(decision=decision, by=sales_lead, comment="Too long for us")
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS
    assert item.events.filter(kind=Event.Kind.DECISION_DENIED).count() == 1
    with pytest.raises(services.StateConflict):
        decision_services.decision_approve(decision=decision, by=sales_lead)


def test_nobody_approves_their_own_request(item, sales_lead, admin_user, workflow):
    contract = _type(workflow, "Contract change", default_level="red")
    decision = decision_services.decision_record(
        item=item, by=sales_lead, decision_type=contract, summary="Net 60"
    )
    # The team lead asked, so the request goes past them to an admin.
    assert decision.approver == admin_user
    with pytest.raises(PermissionDenied, match="own request"):
        decision_services.decision_approve(decision=decision, by=sales_lead)
    decision.refresh_from_db()
    assert decision.status == Decision.Status.PENDING
    decision_services.decision_approve(decision=decision, by=admin_user)


def test_only_the_approver_or_an_admin_answers(item, seller, member, lead, workflow):
    contract = _type(workflow, "Contract change", default_level="red")
    decision = decision_services.decision_record(
        item=item, by=seller, decision_type=contract, summary="Net 60"
    )
    for someone in (member, lead):
        with pytest.raises(PermissionDenied):
            decision_services.decision_approve(decision=decision, by=someone)


def test_an_approved_override_lets_exactly_one_handoff_through(
    item, seller, sales_lead, member, workflow
):
    override = _builtin(workflow, rights.OVERRIDE_CHECKLIST)
    decision = decision_services.decision_record(
        item=item,
        by=seller,
        decision_type=override,
        summary="Ship before the signature",
        why="Customer's legal is on holiday; signature promised Monday",
        payload={"checklist": ["signed"]},
    )
    assert decision.level == "red"
    fields = {"po_number": "PO-9", "amount": "500"}
    decision_services.decision_approve(decision=decision, by=sales_lead)
    item = transitions.handoff_submit(item=item, by=seller, checklist=[], fields=fields)
    submitted = item.events.get(kind=Event.Kind.HANDOFF_SUBMITTED)
    assert submitted.payload["overridden"] == ["signed"]
    decision.refresh_from_db()
    assert decision.consumed_at is not None

    transitions.handoff_bounce(item=item, by=member, missing_input="Signed contract")
    transitions.item_unblock(item=item, by=seller, cause="process")
    with pytest.raises(services.GateError) as err:
        transitions.handoff_submit(item=item, by=seller, checklist=[], fields=fields)
    assert err.value.missing_checklist == ["signed"]


def test_a_pending_override_does_not_open_the_gate(item, seller, workflow):
    override = _builtin(workflow, rights.OVERRIDE_CHECKLIST)
    decision_services.decision_record(
        item=item,
        by=seller,
        decision_type=override,
        summary="Skip",
        payload={"checklist": ["signed"]},
    )
    assert (
        rights.approved_checklist_overrides(item=item, version=workflow.handoffs.get().published())
        == set()
    )


def test_a_bad_override_is_refused_and_changes_nothing(item, seller, workflow):
    override = _builtin(workflow, rights.OVERRIDE_CHECKLIST)
    with pytest.raises(ValidationError) as err:
        decision_services.decision_record(
            item=item,
            by=seller,
            decision_type=override,
            summary="x",
            payload={"checklist": ["nope"]},
        )
    assert "checklist" in err.value.message_dict
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS
    assert not Decision.objects.exists()
    assert item.events.count() == 1


def test_changing_the_due_date_is_yellow_and_sets_the_date(item, seller, sales_lead, workflow):
    change = _builtin(workflow, rights.CHANGE_DUE_DATE)
    new_date = timezone.localdate() + datetime.timedelta(days=10)
    decision = decision_services.decision_record(
        item=item,
        by=seller,
        decision_type=change,
        summary="Customer moved the launch",
        payload={"due_date": new_date.isoformat()},
    )
    item.refresh_from_db()
    assert decision.level == "yellow" and item.due_date == new_date
    # Nobody named: the lead of the team doing the work is informed.
    assert list(decision.informed.all()) == [sales_lead]


def test_outsiders_and_viewers_cannot_record_decisions(item, outsider, viewer, workflow):
    change = _builtin(workflow, rights.CHANGE_DUE_DATE)
    for someone in (outsider, viewer):
        with pytest.raises(PermissionDenied):
            decision_services.decision_record(
                item=item, by=someone, decision_type=change, summary="x"
            )


def test_matrix_edits_need_a_lead_of_the_workflow_and_are_versioned(
    workflow, sales_lead, lead, outsider, member, admin_user
):
    refund = _type(workflow, "Refund")
    with pytest.raises(PermissionDenied):
        rights.matrix_cycle_level(decision_type=refund, role="member", team=None, by=outsider)
    with pytest.raises(PermissionDenied):
        rights.matrix_cycle_level(decision_type=refund, role="member", team=None, by=member)
    rights.matrix_cycle_level(decision_type=refund, role="member", team=None, by=sales_lead)
    rights.matrix_cycle_level(decision_type=refund, role="member", team=None, by=lead)
    assert rights.cell_for(refund, "member", None).level == "green"
    changes = list(DecisionMatrixChange.objects.filter(workflow=workflow).order_by("number"))
    assert [c.number for c in changes] == [1, 2]
    assert changes[0].before == {"level": "yellow"} and changes[0].after["level"] == "red"
    assert rights.matrix_version(workflow) == 2

    org_wide = DecisionType.objects.create(key="gift", name="Client gift", workflow=None)
    with pytest.raises(PermissionDenied):
        rights.matrix_cycle_level(decision_type=org_wide, role="lead", team=None, by=sales_lead)
    rights.matrix_cycle_level(decision_type=org_wide, role="lead", team=None, by=admin_user)


def test_a_team_specific_right_wins_over_the_general_one(workflow, teams, sales_lead, item, seller):
    discount = _type(workflow, "Discount up to 10%", default_level="red")
    rights.matrix_set_right(
        decision_type=discount, role="member", team=teams["sales"], by=sales_lead, level="green"
    )
    assert rights.level_for(seller, item, discount).level == "green"
    assert rights.cell_for(discount, "member", None).level == "red"


def test_digest_users_get_one_email_a_day(
    item, seller, lead, workflow, smtp_mailers, eager_tasks, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=lead.pk).update(
        email_delivery=User.Delivery.DIGEST, work_starts=datetime.time(9, 0)
    )
    refund = _type(workflow, "Refund")
    _set(refund, "member", "yellow", seller.teams.get().lead, inform_users=[lead])
    with django_capture_on_commit_callbacks(execute=True):
        for n in (1, 2):
            decision_services.decision_record(
                item=item, by=seller, decision_type=refund, summary=f"Refund #{n}"
            )
    assert smtp_mailers.messages == []
    day = timezone.now().replace(hour=8, minute=0, second=0, microsecond=0)
    assert digest.send_digests(now=day) == 0  # before the working day starts
    assert digest.send_digests(now=day.replace(hour=9, minute=5)) == 1
    assert outbox.send_due(now=day.replace(hour=9, minute=5)) == (1, 0)
    assert digest.send_digests(now=day.replace(hour=10)) == 0  # once a day
    [message] = smtp_mailers.parsed()
    assert message["To"] == lead.email
    body = message.get_body(("plain",)).get_content()
    assert "Refund #1" in body and "Refund #2" in body


def test_an_immediate_email_is_sent_once_even_if_the_task_runs_twice(
    item, seller, lead, workflow, smtp_mailers
):
    refund = _type(workflow, "Refund")
    _set(refund, "member", "yellow", seller.teams.get().lead, inform_users=[lead])
    decision_services.decision_record(
        item=item, by=seller, decision_type=refund, summary="Refund €40"
    )
    email = Notification.objects.get().email
    assert email.kind == EmailDelivery.Kind.NOTIFICATION
    assert outbox.send_one(email.pk) is True
    assert outbox.send_one(email.pk) is None
    assert len(smtp_mailers.messages) == 1


def test_a_failed_send_stays_unsent_for_the_retry(item, seller, lead, workflow, smtp_mailers):
    refund = _type(workflow, "Refund")
    _set(refund, "member", "yellow", seller.teams.get().lead, inform_users=[lead])
    decision_services.decision_record(
        item=item, by=seller, decision_type=refund, summary="Refund €40"
    )
    email = Notification.objects.get().email
    smtp_mailers.refuse = True
    now = timezone.now()
    assert outbox.send_one(email.pk, now=now) is False
    email.refresh_from_db()
    assert (email.status, email.sent_at, email.attempts) == ("pending", None, 1)
    smtp_mailers.refuse = False
    assert outbox.send_one(email.pk, now=now + outbox.backoff(1)) is True


def test_seed_demo_writes_a_matrix_and_a_history_with_red_requests_waiting():
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", items=60, days=30, seed=5, stdout=StringIO())
    order = DecisionType.objects.get(workflow__name="Order to delivery", key="discount_10")
    sales = order.workflow.stages.get(team__name="Sales").team
    assert rights.cell_for(order, "member", sales).level == "green"
    assert rights.cell_for(order, "member", None).level == "yellow"
    assert DecisionType.objects.get(workflow=None, key="client_gift")
    assert Decision.objects.filter(status=Decision.Status.PENDING).exists()
    assert Decision.objects.filter(status=Decision.Status.APPROVED).exists()
    assert Decision.objects.filter(level="yellow").exists()
    for decision in Decision.objects.pending().select_related("item"):
        assert decision.item.state == WorkItem.State.AWAITING_DECISION
        assert decision.approver_id != decision.requester_id
    for item in WorkItem.objects.filter(decisions__isnull=False).distinct():
        assert item.replayed_state()[1] == item.state
