"""Integrations pages: admins only (imports: the workflow's leads), secrets shown once."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from handoffs.integrations import webhooks
from handoffs.models import ImportBatch, IntakeDelivery, IntakeSource, WebhookDelivery, WorkItem
from tests.handoffs import test_intake
from tests.handoffs.test_intake import DEAL, post_signed

crm_source = test_intake.crm_source

ADMIN_PAGES = [
    "/integrations/",
    "/integrations/intake/new/",
    "/integrations/webhooks/",
]


@pytest.mark.parametrize("url", ADMIN_PAGES + ["/work/import/", "/account/settings/"])
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_integrations_pages_are_for_admins_only(client, lead, url):
    client.force_login(lead)
    assert client.get(url).status_code == 403


def test_source_pages_and_actions_are_refused_to_non_admins(client, crm_source, lead, viewer):
    post_signed(DEAL)
    delivery = IntakeDelivery.objects.get()
    for user in (lead, viewer):
        client.force_login(user)
        assert client.get(crm_source.get_absolute_url()).status_code == 403
        assert client.get(f"/integrations/deliveries/{delivery.pk}/").status_code == 403
        assert client.post(f"/integrations/intake/{crm_source.pk}/rotate/").status_code == 403
        assert client.get(f"/integrations/intake/{crm_source.pk}/edit/").status_code == 403
    assert IntakeSource.objects.get().secret == crm_source.secret


def test_an_admin_creates_a_source_and_sees_its_secret_once(client, admin_user, workflow):
    client.force_login(admin_user)
    ship = workflow.stages.get(name="Ship")

    response = client.post(
        "/integrations/intake/new/",
        {
            "name": "CRM",
            "slug": "crm",
            "stage": ship.pk,
            "title_path": "{deal.company}: {deal.name}",
            "external_ref_path": "deal.id",
            "requested_at_path": "deal.closed_at",
            "field_paths": "po_number = deal.po\namount = deal.amount",
            "event_id_path": "event.id",
            "is_active": "on",
        },
    )

    source = IntakeSource.objects.get()
    assert response.status_code == 200
    assert source.secret in response.content.decode()
    assert source.workflow == workflow
    assert source.mapping["fields"] == {"po_number": "deal.po", "amount": "deal.amount"}
    detail = client.get(source.get_absolute_url()).content.decode()
    assert source.secret not in detail and source.secret_hint in detail


def test_a_source_form_names_what_cannot_be_mapped(client, admin_user, workflow):
    client.force_login(admin_user)
    response = client.post(
        "/integrations/intake/new/",
        {
            "name": "CRM",
            "slug": "crm",
            "stage": workflow.stages.first().pk,
            "title_path": "deal.name",
            "field_paths": "colour = deal.colour\nnonsense",
        },
    )
    assert response.status_code == 200
    assert "Line 2: write field_key = payload.path." in response.content.decode()
    assert not IntakeSource.objects.exists()


def test_rotating_a_secret_shows_the_new_one_once(client, admin_user, crm_source):
    client.force_login(admin_user)
    response = client.post(f"/integrations/intake/{crm_source.pk}/rotate/")
    crm_source.refresh_from_db()
    assert crm_source.secret != "whsec_test-secret"
    assert crm_source.secret in response.content.decode()


def test_the_delivery_log_shows_each_delivery_and_its_payload(
    client, admin_user, crm_source, django_assert_max_num_queries
):
    post_signed(DEAL)
    post_signed(DEAL)
    post_signed(DEAL, secret="forged")
    client.force_login(admin_user)

    with django_assert_max_num_queries(10):
        page = client.get(crm_source.get_absolute_url()).content.decode()

    assert page.count("Payload</a>") == 3
    assert "Accepted" in page and "Duplicate" in page and "Rejected 401" in page
    rejected = IntakeDelivery.objects.get(status="rejected")
    detail = client.get(f"/integrations/deliveries/{rejected.pk}/").content.decode()
    assert "signature does not match" in detail and "ACME rollout" in detail
    filtered = client.get(
        crm_source.get_absolute_url(), {"status": "rejected"}, HTTP_HX_REQUEST="true"
    )
    assert filtered.content.decode().count("Payload</a>") == 1


def test_an_admin_subscribes_and_sends_a_test(
    client, admin_user, django_capture_on_commit_callbacks, settings
):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True
    client.force_login(admin_user)
    response = client.post(
        "/integrations/webhooks/",
        {"name": "ERP", "url": "http://127.0.0.1:9/hook", "event_kinds": ["delivered"]},
    )
    subscription = webhooks.WebhookSubscription.objects.get()
    assert subscription.secret in response.content.decode()

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(f"/integrations/webhooks/{subscription.pk}/test/")
    assert len(callbacks) == 1
    assert WebhookDelivery.objects.get().kind == "test"
    page = client.get(subscription.get_absolute_url()).content.decode()
    assert "Pending" in page and "every 3s" in page
    client.post(f"/integrations/webhooks/{subscription.pk}/toggle/")
    subscription.refresh_from_db()
    assert not subscription.is_active


def test_webhook_actions_are_refused_to_non_admins(client, lead, admin_user):
    subscription = webhooks.subscription_create(
        name="ERP", url="http://127.0.0.1:9/", event_kinds=["delivered"], by=admin_user
    )
    client.force_login(lead)
    assert client.post(f"/integrations/webhooks/{subscription.pk}/test/").status_code == 403
    assert client.get(subscription.get_absolute_url()).status_code == 403
    assert client.post(f"/integrations/webhooks/{subscription.pk}/toggle/").status_code == 403
    subscription.refresh_from_db()
    assert subscription.is_active and not WebhookDelivery.objects.exists()


# --- Import pages -------------------------------------------------------------------------------


CSV = "Title,External reference,PO number,Amount\nOne,R1,PO-1,10\nTwo,R2,PO-2,oops\n"


def _upload(client, workflow, text=CSV, name="orders.csv"):
    return client.post(
        "/work/import/",
        {"workflow": workflow.pk, "file": SimpleUploadedFile(name, text.encode())},
    )


def test_a_lead_uploads_dry_runs_and_commits_all_or_nothing(client, workflow, teams):
    sales_lead = teams["sales"].lead
    client.force_login(sales_lead)
    response = _upload(client, workflow)
    batch = ImportBatch.objects.get()
    assert response["Location"] == batch.get_absolute_url()
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "Preview" in page and "Amount must be a number." in page

    mapping = {"col_0": "title", "col_1": "external_ref", "col_2": "fields.po_number"}
    dry = client.post(batch.get_absolute_url(), {**mapping, "col_3": "fields.amount"})
    assert "1 row with problems" in dry.content.decode()
    commit = client.post(
        batch.get_absolute_url(), {**mapping, "col_3": "fields.amount", "action": "commit"}
    )
    assert "Nothing was imported" in commit.content.decode()
    assert not WorkItem.objects.exists()

    done = client.post(batch.get_absolute_url(), {**mapping, "action": "commit"})
    assert done.status_code == 302
    assert WorkItem.objects.count() == 2


def test_import_is_refused_to_outsiders_viewers_and_other_uploaders(
    client, workflow, outsider, viewer, lead
):
    client.force_login(outsider)
    response = _upload(client, workflow)
    assert "leads and admins import into it" in response.content.decode()
    client.force_login(viewer)
    assert client.get("/work/import/").status_code == 403
    client.force_login(lead)
    _upload(client, workflow)
    batch = ImportBatch.objects.get()
    client.force_login(outsider)
    assert client.get(batch.get_absolute_url()).status_code == 403


def test_an_unreadable_upload_is_named_on_the_form(client, workflow, lead):
    client.force_login(lead)
    response = _upload(client, workflow, text="a,,b\n1,2,3\n")
    assert "Column 2 has no name" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_exports_download_as_csv(client, item, member):
    client.force_login(member)
    response = client.get(f"/workflows/{item.workflow_id}/export/items.csv")
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1].startswith("ACME order #1,")
    events = client.get(f"/workflows/{item.workflow_id}/export/events.csv")
    assert b"".join(events.streaming_content).decode().startswith("case_id,activity")


def test_exports_need_a_login(client, workflow):
    assert client.get(f"/workflows/{workflow.pk}/export/items.csv").status_code == 302


def test_json_payload_detail_is_pretty_printed(client, admin_user, crm_source):
    post_signed(DEAL)
    client.force_login(admin_user)
    delivery = IntakeDelivery.objects.get()
    page = client.get(f"/integrations/deliveries/{delivery.pk}/").content.decode()
    assert json.dumps(DEAL, indent=2).splitlines()[1].replace('"', "&quot;") in page
