"""Decision-rights pages: the matrix editor, recording and answering on an item, the log,
the inbox section and notifications, with their permissions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from handoffs.decisions import rules as rights
from handoffs.decisions import services as decision_services
from handoffs.models import Decision, DecisionMatrixChange, DecisionType, Notification, WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sales_lead(teams):
    return teams["sales"].lead


@pytest.fixture
def contract(workflow):
    return DecisionType.objects.create(
        workflow=workflow, key="contract", name="Contract change", default_level="red"
    )


def _builtin(workflow, key):
    DecisionType.objects.ensure_builtins(workflow)
    return DecisionType.objects.get(workflow=workflow, key=key)


def _matrix(workflow):
    return reverse("handoffs:decision-matrix", args=[workflow.pk])


# --- Access -------------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client, workflow, item):
    for url in (
        _matrix(workflow),
        reverse("handoffs:decision-log", args=[workflow.pk]),
        reverse("handoffs:decision-print", args=[workflow.pk]),
        reverse("handoffs:decision-create", args=[item.pk]),
        reverse("handoffs:notification-list"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_viewers_and_outsiders_cannot_change_the_matrix(client, workflow, viewer, outsider):
    override = _builtin(workflow, rights.OVERRIDE_CHECKLIST)
    for someone in (viewer, outsider):
        client.force_login(someone)
        page = client.get(_matrix(workflow))
        assert page.status_code == 200 and b"matrix-toggle chip" not in page.content
        response = client.post(
            reverse("handoffs:decision-cell", args=[workflow.pk]),
            {"decision_type": override.pk, "role": "member"},
        )
        assert response.status_code == 403
        assert (
            client.get(reverse("handoffs:decision-type-create", args=[workflow.pk])).status_code
            == 403
        )
        url = reverse("handoffs:decision-right-edit", args=[workflow.pk, override.pk, "member"])
        assert client.post(url, {"level": "green"}).status_code == 403
    assert not DecisionMatrixChange.objects.exists()


def test_viewers_and_outsiders_cannot_record_or_answer(
    client, item, viewer, outsider, seller, contract
):
    decision = decision_services.decision_record(
        item=item, by=seller, decision_type=contract, summary="Net 60"
    )
    for someone in (viewer, outsider):
        client.force_login(someone)
        url = reverse("handoffs:decision-create", args=[item.pk])
        assert client.post(url, {"decision_type": contract.pk, "summary": "x"}).status_code == 403
        answer = reverse("handoffs:decision-answer", args=[decision.pk])
        assert client.post(answer, {"answer": "approve"}).status_code == 403
    decision.refresh_from_db()
    assert decision.status == Decision.Status.PENDING


# --- The matrix -------------------------------------------------------------------------------


def test_a_lead_toggles_a_cell_with_htmx(
    client, workflow, sales_lead, django_assert_max_num_queries
):
    client.force_login(sales_lead)
    with django_assert_max_num_queries(20):
        page = client.get(_matrix(workflow))
    assert b"Override a handoff checklist item" in page.content
    change = _builtin(workflow, rights.CHANGE_DUE_DATE)
    response = client.post(
        reverse("handoffs:decision-cell", args=[workflow.pk]),
        {"decision_type": change.pk, "role": "member"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<td") and "chip-red" in html
    assert 'id="matrix-version" hx-swap-oob="true">Matrix v1' in html
    assert rights.cell_for(change, "member", None).level == "red"


def test_a_lead_adds_a_type_and_sets_who_is_informed(client, workflow, sales_lead, lead):
    client.force_login(sales_lead)
    response = client.post(
        reverse("handoffs:decision-type-create", args=[workflow.pk]),
        {
            "name": "Refund",
            "good_looks_like": "Under €500, customer told",
            "default_level": "yellow",
        },
    )
    assert response.status_code == 302
    refund = DecisionType.objects.get(workflow=workflow, name="Refund")
    url = reverse("handoffs:decision-right-edit", args=[workflow.pk, refund.pk, "member"])
    response = client.post(url, {"level": "yellow", "inform_users": [lead.pk]})
    assert response.status_code == 302
    cell = rights.cell_for(refund, "member", None)
    assert cell.level == "yellow" and list(cell.right.inform_users.all()) == [lead]
    page = client.get(_matrix(workflow)).content.decode()
    assert "informs Lena" in page or "informs Lead" in page
    assert DecisionMatrixChange.objects.filter(workflow=workflow).count() == 2


def test_a_bad_type_shows_a_message_per_field(client, workflow, sales_lead):
    client.force_login(sales_lead)
    response = client.post(
        reverse("handoffs:decision-type-create", args=[workflow.pk]),
        {"name": "", "default_level": "purple"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name", "default_level"}
    assert not DecisionType.objects.filter(workflow=workflow, is_builtin=False).exists()


def test_the_print_view_is_one_sheet(client, workflow, member):
    client.force_login(member)
    response = client.get(reverse("handoffs:decision-print", args=[workflow.pk]))
    assert response.status_code == 200
    assert response.content.count(b'<article class="print-page') == 1


# --- On the item ---------------------------------------------------------------------------


def test_the_item_page_loads_the_decision_form_with_levels_when_opened(client, item, seller):
    client.force_login(seller)
    page = client.get(item.get_absolute_url()).content.decode()
    form_url = reverse("handoffs:decision-create", args=[item.pk])
    assert 'id="decision-panel"' in page
    assert f'hx-get="{form_url}" hx-trigger="toggle once"' in page
    assert f'<a href="{form_url}">Open the decision form</a>' in page  # without JavaScript
    assert "Override a handoff checklist item" not in page  # built when opened
    panel = client.get(form_url, headers={"HX-Request": "true"}).content.decode()
    assert '<details class="inline-panel decision-form" open>' in panel
    assert "Override a handoff checklist item · red" in panel
    assert "Change the requested delivery date · yellow" in panel


def test_the_decision_form_creates_missing_built_in_types_once_and_then_only_reads(
    client, item, seller
):
    client.force_login(seller)
    DecisionType.objects.filter(workflow=item.workflow).delete()
    form_url = reverse("handoffs:decision-create", args=[item.pk])
    assert client.get(form_url).status_code == 200
    keys = set(DecisionType.objects.filter(workflow=item.workflow).values_list("key", flat=True))
    assert {rights.OVERRIDE_CHECKLIST, rights.CHANGE_DUE_DATE} <= keys
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(item.get_absolute_url()).status_code == 200
        assert client.get(form_url).status_code == 200
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert not writes, "reading the item page writes nothing"


def test_a_member_records_a_red_decision_and_sees_who_answers(
    client, item, seller, sales_lead, contract
):
    client.force_login(seller)
    url = reverse("handoffs:decision-create", args=[item.pk])
    response = client.post(
        url,
        {"decision_type": contract.pk, "summary": "Net 60 terms", "why": "Big client"},
        follow=True,
    )
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.state == WorkItem.State.AWAITING_DECISION
    html = response.content.decode()
    assert f"Waiting for {sales_lead}" in html
    assert f"Asked {sales_lead} to approve" in html


def test_a_bad_decision_comes_back_with_errors_and_changes_nothing(client, item, seller, workflow):
    client.force_login(seller)
    override = _builtin(workflow, rights.OVERRIDE_CHECKLIST)
    response = client.post(
        reverse("handoffs:decision-create", args=[item.pk]),
        {"decision_type": override.pk, "summary": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#decision-panel"
    assert set(response.context["decision_form"].errors) == {"summary", "checklist"}
    assert not Decision.objects.exists()


def test_changing_the_type_rerenders_the_form_with_its_fields(client, item, seller, workflow):
    client.force_login(seller)
    change = _builtin(workflow, rights.CHANGE_DUE_DATE)
    response = client.get(
        reverse("handoffs:decision-create", args=[item.pk]),
        {"decision_type": change.pk},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert 'name="due_date"' in html and 'name="checklist"' not in html
    assert "Sales.Lead will be informed" in html


def test_the_approver_answers_from_the_inbox(client, item, seller, sales_lead, contract):
    decision = decision_services.decision_record(
        item=item, by=seller, decision_type=contract, summary="Net 60"
    )
    client.force_login(sales_lead)
    inbox = client.get(reverse("handoffs:inbox")).content.decode()
    assert f'id="inbox-decision-{decision.pk}"' in inbox
    answer = reverse("handoffs:decision-answer", args=[decision.pk])
    denied = client.post(
        answer, {"answer": "deny", "from": "inbox"}, headers={"HX-Request": "true"}
    )
    assert "Say why it is denied" in denied.content.decode()
    response = client.post(
        answer,
        {"answer": "approve", "comment": "Fine", "from": "inbox"},
        headers={"HX-Request": "true"},
    )
    assert (
        response.content.decode().lstrip().startswith("<tr")
        and "Approved" in response.content.decode()
    )
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS


def test_the_requester_cannot_answer_their_own_request(
    client, item, sales_lead, contract, admin_user
):
    decision = decision_services.decision_record(
        item=item, by=sales_lead, decision_type=contract, summary="x"
    )
    client.force_login(sales_lead)
    answer = reverse("handoffs:decision-answer", args=[decision.pk])
    assert client.post(answer, {"answer": "approve"}).status_code == 403
    decision.refresh_from_db()
    assert decision.status == Decision.Status.PENDING


def test_the_decision_log_filters(
    client, item, seller, sales_lead, contract, workflow, django_assert_max_num_queries
):
    decision_services.decision_record(
        item=item, by=seller, decision_type=contract, summary="Net 60"
    )
    change = _builtin(workflow, rights.CHANGE_DUE_DATE)
    decision_services.decision_record(
        item=item,
        by=seller,
        decision_type=change,
        summary="Later",
        payload={"due_date": "2099-01-01"},
    )
    client.force_login(sales_lead)
    url = reverse("handoffs:decision-log", args=[workflow.pk])
    with django_assert_max_num_queries(12):
        everything = client.get(url)
    assert len(everything.context["decisions"]) == 2
    red = client.get(url, {"level": "red"}, headers={"HX-Request": "true"})
    assert [d.summary for d in red.context["decisions"]] == ["Net 60"]
    assert b"<html" not in red.content


# --- Notifications ------------------------------------------------------------------------------


def test_notifications_list_and_mark_read(client, lead, django_assert_max_num_queries):
    for n in range(5):
        Notification.objects.create(user=lead, message=f"Note {n}", url="/work/")
    client.force_login(lead)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("handoffs:notification-list"))
    assert page.content.count(b"is-unread") == 5
    note = Notification.objects.first()
    response = client.post(
        reverse("handoffs:notification-read", args=[note.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and b"is-unread" not in response.content
    assert Notification.objects.unread_count_for(lead) == 4
    client.post(reverse("handoffs:notification-read-all"))
    assert Notification.objects.unread_count_for(lead) == 0


def test_nobody_marks_someone_elses_notification(client, lead, member):
    note = Notification.objects.create(user=lead, message="Mine")
    client.force_login(member)
    assert client.post(reverse("handoffs:notification-read", args=[note.pk])).status_code == 404


def test_users_choose_the_daily_digest(client, member):
    client.force_login(member)
    client.post(reverse("handoffs:notification-preference"), {"email_delivery": "digest"})
    member.refresh_from_db()
    assert member.email_delivery == "digest"
    assert (
        client.post(
            reverse("handoffs:notification-preference"), {"email_delivery": "x"}
        ).status_code
        == 400
    )


def test_the_approver_answers_from_the_item_page(client, item, seller, sales_lead, contract):
    decision = decision_services.decision_record(
        item=item, by=seller, decision_type=contract, summary="Net 60"
    )
    client.force_login(sales_lead)
    page = client.get(item.get_absolute_url()).content.decode()
    assert 'value="approve"' in page and 'value="deny"' in page
    answer = reverse("handoffs:decision-answer", args=[decision.pk])
    response = client.post(answer, {"answer": "deny", "comment": "Too long"})
    assert response.status_code == 302 and response["Location"] == item.get_absolute_url()
    decision.refresh_from_db()
    assert decision.status == Decision.Status.DENIED
