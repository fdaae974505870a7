"""Handoff protocols: drafts, inline validation, publish (or why not), immutability, diffs."""

import pytest
from django.db import IntegrityError, InternalError, transaction
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Event, Handoff, ProtocolVersion
from handoffs.work import transitions
from handoffs.workflows import services as wf
from handoffs.workflows.forms import FieldDefinitionForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def handoff(workflow):
    return Handoff.objects.get(workflow=workflow)


@pytest.fixture
def draft(handoff, lead):
    return wf.protocol_draft(handoff=handoff, by=lead)


def _field_post(prefix="new", **values):
    data = {"label": "", "key": "", "type": "text", "required": "on"} | values
    return {f"{prefix}-{name}": value for name, value in data.items()}


# --- Immutability -------------------------------------------------------------------------------


def test_a_published_version_cannot_change_in_python(handoff, lead):
    published = handoff.published()
    with pytest.raises(Exception, match="Published versions cannot change"):
        wf.protocol_save(version=published, by=lead, ready_answer="Changed")
    published.refresh_from_db()
    assert published.ready_answer.startswith("The PO number")


def test_a_published_version_cannot_change_in_the_database(handoff):
    published = handoff.published()
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        ProtocolVersion.objects.filter(pk=published.pk).update(checklist=[])
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        ProtocolVersion.objects.filter(pk=published.pk).delete()
    assert ProtocolVersion.objects.get(pk=published.pk).checklist[0]["id"] == "signed"


# --- Drafts and publishing ------------------------------------------------------------------------


def test_editing_a_published_protocol_starts_a_draft_copying_it(client, lead, handoff):
    client.force_login(lead)
    response = client.post(reverse("handoffs:protocol-edit", args=[handoff.pk]))
    assert response.status_code == 302
    draft = handoff.draft()
    published = handoff.published()
    assert draft.number == 2 and draft.created_by == lead
    assert draft.checklist == published.checklist and draft.fields == published.fields
    # Asking again opens the same draft.
    client.post(reverse("handoffs:protocol-edit", args=[handoff.pk]))
    assert handoff.versions.count() == 2
    page = client.get(reverse("handoffs:protocol-edit", args=[handoff.pk])).content.decode()
    assert "Draft v2" in page and "v1 stays enforced until then" in page


def test_a_lead_writes_a_checklist_and_fields_and_publishes(client, lead, handoff, draft):
    client.force_login(lead)
    client.post(
        reverse("handoffs:protocol-checklist", args=[handoff.pk]),
        {"item-text": "Delivery address confirmed", "item-help": "With a contact on site"},
    )
    client.post(
        reverse("handoffs:protocol-field", args=[handoff.pk]),
        _field_post(label="Delivery date", type="date"),
    )
    draft.refresh_from_db()
    assert draft.checklist[-1] == {
        "id": "delivery_address_confirmed",
        "text": "Delivery address confirmed",
        "help": "With a contact on site",
        "required": False,  # an unticked checkbox is advisory
    }
    assert draft.fields[-1] == {
        "key": "delivery_date",
        "label": "Delivery date",
        "type": "date",
        "required": True,
    }
    response = client.post(reverse("handoffs:protocol-publish", args=[handoff.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published and draft.published_by == lead
    assert handoff.published() == draft


def test_publishing_is_refused_with_reasons_when_nothing_is_required(client, lead, handoff):
    fresh = Handoff.objects.get(pk=handoff.pk)
    draft = wf.protocol_draft(handoff=fresh, by=lead)
    wf.protocol_save(
        version=draft,
        by=lead,
        checklist=[{"id": "x", "text": "Nice to have", "help": "", "required": False}],
        fields=[],
    )
    client.force_login(lead)
    response = client.post(reverse("handoffs:protocol-publish", args=[handoff.pk]), follow=True)
    content = response.content.decode()
    assert "Not published yet" in content
    assert "at least one required checklist item or required field" in content
    draft.refresh_from_db()
    assert not draft.is_published
    assert handoff.published().number == 1


def test_the_editor_shows_why_it_cannot_publish_yet(client, lead, handoff, draft):
    wf.protocol_save(version=draft, by=lead, checklist=[], fields=[])
    client.force_login(lead)
    response = client.get(
        reverse("handoffs:protocol-problems", args=[handoff.pk]), headers={"HX-Request": "true"}
    )
    assert "Not ready yet" in response.content.decode()
    assert "otherwise it does not stop anything" in response.content.decode()


def test_an_invalid_field_definition_is_refused_per_attribute(client, lead, handoff, draft):
    client.force_login(lead)
    before = list(draft.fields)
    response = client.post(
        reverse("handoffs:protocol-field", args=[handoff.pk]),
        _field_post(label="Amount again", key="amount", type="money", min="lots"),
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert "Must be a number." in content
    assert "Another field of this protocol already uses this key." in content
    draft.refresh_from_db()
    assert draft.fields == before


def test_validation_as_you_type_answers_with_the_problems(client, lead, handoff, draft):
    client.force_login(lead)
    url = reverse("handoffs:protocol-check", args=[handoff.pk])
    bad = client.post(url, _field_post(label="Tier", type="choice", choices=""))
    assert "A choice field needs at least one choice." in bad.content.decode()
    pattern = client.post(url, _field_post(label="Code", pattern="[unclosed"))
    assert "Not a valid regular expression" in pattern.content.decode()
    good = client.post(url, _field_post(label="Tier", type="choice", choices="Gold\nSilver"))
    assert "Looks good" in good.content.decode()
    draft.refresh_from_db()
    assert [f["key"] for f in draft.fields] == ["po_number", "amount", "notes"]


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"label": "", "type": "text"}, "This field is required."),
        ({"label": "PO", "key": "9lives", "type": "text"}, "Use lowercase letters"),
        ({"label": "Kind", "type": "colour"}, "Select a valid choice"),
        ({"label": "Size", "type": "number", "max": "big"}, "Must be a number."),
    ],
)
def test_field_definitions_are_validated(values, error):
    form = FieldDefinitionForm(_field_post(**values), prefix="new")
    assert not form.is_valid()
    assert error in str(form.errors)


def test_editing_removing_and_reordering_checklist_items(client, lead, handoff, draft):
    client.force_login(lead)
    client.post(
        reverse("handoffs:protocol-checklist", args=[handoff.pk]),
        {"item": "signed", "c-signed-text": "Contract countersigned", "c-signed-required": "on"},
    )
    entry = reverse("handoffs:protocol-entry", args=[handoff.pk])
    client.post(entry, {"attr": "checklist", "ident": "intro", "action": "up"})
    draft.refresh_from_db()
    assert [c["id"] for c in draft.checklist] == ["intro", "signed"]
    assert draft.checklist[1]["text"] == "Contract countersigned"
    client.post(entry, {"attr": "fields", "ident": "notes", "action": "remove"})
    draft.refresh_from_db()
    assert [f["key"] for f in draft.fields] == ["po_number", "amount"]


def test_receiving_owner_must_belong_to_the_receiving_team(client, lead, handoff, draft, seller):
    client.force_login(lead)
    response = client.post(
        reverse("handoffs:protocol-settings", args=[handoff.pk]),
        {
            "default_assignee": seller.pk,
            "acceptance_target": "2h",
            "recovery_check_delay": "1d",
            "ready_answer": "Ready",
            "missing_answer": "Bounce",
        },
    )
    assert response.status_code == 400
    assert "Pick someone in Fulfilment." in response.content.decode()
    draft.refresh_from_db()
    assert draft.default_assignee is None


def test_work_items_remember_the_version_that_governed_their_handoff(
    handoff, lead, item, seller, draft
):
    wf.protocol_save(
        version=draft,
        by=lead,
        checklist=[{"id": "signed", "text": "Contract signed", "help": "", "required": True}],
    )
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )
    event = item.events.get(kind=Event.Kind.HANDOFF_SUBMITTED)
    assert event.protocol_version.number == 1  # the draft is not enforced
    wf.protocol_publish(version=draft, by=lead)
    assert handoff.published().number == 2
    assert item.events.get(kind=Event.Kind.HANDOFF_SUBMITTED).protocol_version.number == 1


# --- Versions, diff, print --------------------------------------------------------------------


def test_the_diff_names_what_was_added_removed_and_changed(client, lead, handoff, draft):
    wf.checklist_save(version=draft, by=lead, item_id="signed", text="Contract countersigned")
    wf.checklist_save(version=draft, by=lead, text="Address confirmed", required=True)
    wf.entry_remove(version=draft, by=lead, attr="fields", ident="notes")
    wf.protocol_save(version=draft, by=lead, acceptance_target=timezone.timedelta(hours=2))
    changes = wf.protocol_diff(handoff.published(), draft)
    summary = {(c.section, c.kind, c.subject) for c in changes}
    assert ("Checklist", "added", "Address confirmed") in summary
    assert ("Checklist", "changed", "Contract countersigned: text") in summary
    assert ("Required information", "removed", "Notes") in summary
    assert ("Settings", "changed", "Acceptance target") in summary
    client.force_login(lead)
    page = client.get(reverse("handoffs:protocol-diff", args=[handoff.pk]), {"a": 1, "b": 2})
    content = page.content.decode()
    assert "What changed from v1 to v2" in content
    assert "4h" in content and "2h" in content
    assert "+ added" in content and "− removed" in content


def test_the_versions_list_shows_who_and_when(client, lead, member, handoff, draft):
    wf.protocol_publish(version=draft, by=lead)
    client.force_login(member)
    content = client.get(reverse("handoffs:protocol-detail", args=[handoff.pk])).content.decode()
    assert "Enforced" in content and "Superseded" in content
    assert str(lead) in content
    assert "v1 → v2" in content


def test_the_print_view_shows_the_enforced_protocol(client, member, handoff):
    client.force_login(member)
    content = client.get(reverse("handoffs:protocol-print", args=[handoff.pk])).content.decode()
    assert "Contract signed" in content and "PO number" in content
    assert "Recovery path" in content
    assert "How does the receiver know it is ready?" in content


# --- Who may do what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "can_edit"),
    [
        ("lead", True),
        ("admin_user", True),
        ("member", False),
        ("outsider", False),
        ("viewer", False),
    ],
)
def test_only_leads_of_its_teams_and_admins_edit_protocols(
    request, client, handoff, persona, can_edit
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(reverse("handoffs:protocol-detail", args=[handoff.pk])).status_code == 200
    assert client.get(reverse("handoffs:protocol-print", args=[handoff.pk])).status_code == 200
    response = client.post(reverse("handoffs:protocol-edit", args=[handoff.pk]))
    if can_edit:
        assert response.status_code == 302 and handoff.draft() is not None
    else:
        assert response.status_code == 403 and handoff.draft() is None


@pytest.mark.parametrize("persona", ["member", "outsider", "viewer"])
def test_others_cannot_touch_an_existing_draft(request, client, handoff, draft, persona):
    client.force_login(request.getfixturevalue(persona))
    urls = [
        ("protocol-checklist", {"item-text": "Sneaky"}),
        ("protocol-field", _field_post(label="Sneaky")),
        ("protocol-publish", {}),
        ("protocol-discard", {}),
    ]
    for name, data in urls:
        assert client.post(reverse(f"handoffs:{name}", args=[handoff.pk]), data).status_code == 403
    assert client.get(reverse("handoffs:protocol-edit", args=[handoff.pk])).status_code == 403
    draft.refresh_from_db()
    assert not draft.is_published and len(draft.checklist) == 2


def test_anonymous_visitors_are_sent_to_log_in(client, handoff):
    for name in ("protocol-detail", "protocol-print", "protocol-edit"):
        response = client.get(reverse(f"handoffs:{name}", args=[handoff.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response.url
    response = client.post(reverse("handoffs:protocol-edit", args=[handoff.pk]))
    assert response.status_code == 302 and handoff.draft() is None
