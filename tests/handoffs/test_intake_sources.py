"""Creating an intake source and rotating its secret: the page and the API share one service,
and the change and its audit entry are written together or not at all."""

import pytest
from django.test import Client

from handoffs.integrations import intake
from handoffs.models import IntakeSource
from opshub.accounts.models import AuditEntry
from tests.handoffs import test_intake

pytestmark = pytest.mark.django_db

crm_source = test_intake.crm_source


@pytest.fixture
def audit_fails(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(intake, "source_audit", broken)


def _page_post(workflow):
    return {
        "name": "HubSpot",
        "slug": "hubspot",
        "stage": workflow.stages.get(name="Ship").pk,
        "title_path": "deal.name",
        "external_ref_path": "deal.id",
        "is_active": "on",
    }


def _api_post(workflow):
    return {
        "name": "HubSpot",
        "slug": "hubspot",
        "workflow": workflow.pk,
        "stage": workflow.stages.get(name="Ship").pk,
        "mapping": {"title": "deal.name", "external_ref": "deal.id"},
    }


def test_the_service_creates_a_source_with_a_secret_and_an_audit_entry(workflow, admin_user):
    source = IntakeSource(
        name="HubSpot", slug="hubspot", workflow=workflow, stage=workflow.stages.get(name="Ship")
    )
    source = intake.source_create(source=source, by=admin_user)
    assert source.pk and source.secret.startswith("whsec_") and source.created_by == admin_user
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CREATE)
    assert entry.summary == "Created intake source HubSpot"

    old = source.secret
    intake.source_rotate_secret(source=source, by=admin_user)
    source.refresh_from_db()
    assert source.secret != old
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ROTATE_SECRET).count() == 1


def test_a_failed_audit_creates_no_source_from_the_page(client, admin_user, workflow, audit_fails):
    client.force_login(admin_user)
    with pytest.raises(RuntimeError):
        client.post("/integrations/intake/new/", _page_post(workflow))
    assert not IntakeSource.objects.exists()


def test_a_failed_audit_creates_no_source_from_the_api(admin_user, workflow, audit_fails):
    api = test_intake._token_client(admin_user)
    with pytest.raises(RuntimeError):
        api.post("/api/v1/intake-sources/", _api_post(workflow), content_type="application/json")
    assert not IntakeSource.objects.exists()


def test_a_failed_audit_keeps_the_old_secret(client, admin_user, crm_source, audit_fails):
    client.force_login(admin_user)
    with pytest.raises(RuntimeError):
        client.post(f"/integrations/intake/{crm_source.pk}/rotate/")
    api = test_intake._token_client(admin_user)
    with pytest.raises(RuntimeError):
        api.post(f"/api/v1/intake-sources/{crm_source.pk}/rotate-secret/")
    crm_source.refresh_from_db()
    assert crm_source.secret == test_intake.SECRET


def test_the_api_and_the_page_create_the_same_source(client, admin_user, workflow):
    api = test_intake._token_client(admin_user)
    created = api.post(
        "/api/v1/intake-sources/", _api_post(workflow), content_type="application/json"
    )
    assert created.status_code == 201
    source = IntakeSource.objects.get()
    assert created.json()["secret"] == source.secret and source.created_by == admin_user
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CREATE).count() == 1
    assert Client().post("/api/v1/intake-sources/", {}).status_code == 401
