"""The audit trail: who changed protocols, decision rights, users and intake sources."""

import pytest
from django.test import Client

from handoffs.decisions import rules as rights
from handoffs.models import DecisionType, Handoff, IntakeSource
from handoffs.workflows import services as wf
from opshub.accounts.models import ApiToken, AuditEntry, User

pytestmark = pytest.mark.django_db


def test_publishing_a_protocol_records_what_it_replaced(workflow, lead):
    handoff = Handoff.objects.get(workflow=workflow)
    draft = wf.protocol_draft(handoff=handoff, by=lead)
    wf.checklist_save(version=draft, by=lead, text="Delivery address confirmed")

    published = wf.protocol_publish(version=draft, by=lead)

    entry = AuditEntry.objects.for_object(published).get()
    assert entry.action == AuditEntry.Action.PUBLISH
    assert entry.actor == lead and entry.actor_email == lead.email
    assert "Published protocol v2 of Order to delivery" in entry.summary
    assert entry.before["number"] == 1
    assert "Delivery address confirmed" not in str(entry.before["checklist"])
    assert "Delivery address confirmed" in str(entry.after["checklist"])


def test_a_refused_publish_records_nothing(workflow, lead, outsider):
    draft = wf.protocol_draft(handoff=Handoff.objects.get(workflow=workflow), by=lead)
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied; the point is no entry
        wf.protocol_publish(version=draft, by=outsider)
    assert not AuditEntry.objects.exists()


def test_a_decision_right_change_is_in_the_trail(workflow, lead):
    refund = DecisionType.objects.create(workflow=workflow, key="refund", name="Refund")
    rights.matrix_set_right(decision_type=refund, role="member", team=None, by=lead, level="red")
    entry = AuditEntry.objects.for_object(refund).get()
    assert entry.actor == lead
    assert entry.summary.startswith("Decision rights v1: Refund")
    assert entry.after["level"] == "red"


def test_admin_changes_to_users_are_recorded(admin_user, member):
    client = Client()
    client.force_login(admin_user)
    change = client.get(f"/admin/accounts/user/{member.pk}/change/")
    assert change.status_code == 200
    data = {
        "email": member.email,
        "full_name": member.full_name,
        "role": User.Role.LEAD,
        "time_zone": member.time_zone,
        "email_delivery": member.email_delivery,
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": member.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": member.date_joined.strftime("%H:%M:%S"),
    }
    response = client.post(f"/admin/accounts/user/{member.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]

    entry = AuditEntry.objects.for_object(member).get()
    assert entry.action == AuditEntry.Action.UPDATE and entry.actor == admin_user
    assert entry.before["role"] == "member" and entry.after["role"] == "lead"
    assert entry.summary == f"Changed user {member.email}: role"
    assert "password" not in entry.after

    response = client.post(
        f"/admin/accounts/user/{member.pk}/password/",
        {"password1": "a-much-better-passphrase", "password2": "a-much-better-passphrase"},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.for_object(member).filter(action=AuditEntry.Action.PASSWORD)


def test_intake_source_changes_through_the_api_are_recorded_without_the_secret(
    workflow, admin_user
):
    _, raw = ApiToken.issue(user=admin_user, name="script")
    api = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    body = {
        "name": "HubSpot",
        "slug": "hubspot",
        "workflow": workflow.pk,
        "stage": workflow.stages.get(name="Ship").pk,
        "mapping": {"title": "deal.name"},
    }
    created = api.post("/api/v1/intake-sources/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    source = IntakeSource.objects.get()
    url = f"/api/v1/intake-sources/{source.pk}/"
    patched = api.patch(url, {"is_active": False}, content_type="application/json")
    assert patched.status_code == 200, patched.content
    assert api.post(f"{url}rotate-secret/").status_code == 200
    assert api.delete(url).status_code == 204

    entries = list(AuditEntry.objects.filter(object_type="handoffs.intakesource").order_by("pk"))
    assert [e.action for e in entries] == ["create", "update", "rotate_secret", "delete"]
    assert entries[1].summary == "Changed intake source HubSpot: is_active"
    assert entries[1].before["is_active"] is True and entries[1].after["is_active"] is False
    trail = str([(e.before, e.after, e.summary) for e in entries])
    assert "whsec_" not in trail and "secret" not in str([e.after for e in entries])


def test_the_admin_lists_the_trail_read_only(admin_user, lead, workflow):
    handoff = Handoff.objects.get(workflow=workflow)
    wf.protocol_publish(version=wf.protocol_draft(handoff=handoff, by=lead), by=lead)
    client = Client()
    client.force_login(admin_user)
    response = client.get("/admin/accounts/auditentry/")
    assert response.status_code == 200
    assert "Published protocol v2" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert client.get("/admin/accounts/auditentry/add/").status_code == 403
    assert client.post(f"/admin/accounts/auditentry/{entry.pk}/delete/").status_code == 403
    assert AuditEntry.objects.count() == 1


def test_the_audit_list_is_for_admins_only(lead):
    client = Client()
    client.force_login(lead)
    assert client.get("/admin/accounts/auditentry/").status_code == 302  # to the admin login
