"""Editing a protocol draft while someone else edits or publishes it: no lost update, and a
clear message instead of a 500 when the draft was published meanwhile."""

import pytest
from django.urls import reverse

from handoffs.models import Handoff, ProtocolVersion
from handoffs.workflows import services as wf
from handoffs.workflows import views as workflow_views

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(workflow, lead):
    return wf.protocol_draft(handoff=Handoff.objects.get(workflow=workflow), by=lead)


def _copy(version):
    """What another request loaded from the database: its own, soon stale, instance."""
    return ProtocolVersion.objects.get(pk=version.pk)


def test_two_edits_from_stale_copies_keep_both_checklist_items(draft, lead, teams):
    mine, theirs = _copy(draft), _copy(draft)
    wf.checklist_save(version=mine, by=lead, text="Address confirmed")
    wf.checklist_save(version=theirs, by=teams["sales"].lead, text="Credit checked")
    wf.field_save(
        version=theirs,
        by=lead,
        definition={"key": "notes", "label": "Notes", "type": "text", "required": False},
    )
    draft.refresh_from_db()
    assert [i["text"] for i in draft.checklist][-2:] == ["Address confirmed", "Credit checked"]
    assert draft.fields[-1]["key"] == "notes"


def test_a_settings_save_rewrites_only_its_own_attributes(draft, lead):
    stale = _copy(draft)
    wf.checklist_save(version=draft, by=lead, text="Address confirmed")
    wf.protocol_save(version=stale, by=lead, ready_answer="All ticked")
    draft.refresh_from_db()
    assert draft.ready_answer == "All ticked"
    assert draft.checklist[-1]["text"] == "Address confirmed"


def test_an_edit_racing_a_publish_is_refused_with_a_clear_error(draft, lead):
    stale = _copy(draft)
    wf.protocol_publish(version=draft, by=lead)
    with pytest.raises(wf.DraftPublished, match="published meanwhile; edit the new draft"):
        wf.checklist_save(version=stale, by=lead, text="Address confirmed")
    with pytest.raises(wf.DraftPublished):
        wf.entry_remove(version=stale, by=lead, attr="checklist", ident="signed")
    draft.refresh_from_db()
    assert [i["text"] for i in draft.checklist] == [i["text"] for i in stale.checklist]


@pytest.mark.parametrize("htmx", [False, True])
def test_the_page_says_the_draft_was_published_meanwhile(client, draft, lead, monkeypatch, htmx):
    load_draft = workflow_views._draft_for

    def published_right_after_loading(request, pk):
        loaded = load_draft(request, pk)
        wf.protocol_publish(version=_copy(loaded), by=lead)  # another lead, at that moment
        return loaded

    monkeypatch.setattr(workflow_views, "_draft_for", published_right_after_loading)
    client.force_login(lead)
    pk = draft.handoff_id
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(
        reverse("handoffs:protocol-checklist", args=[pk]),
        {"item-text": "Address confirmed", "item-required": "on"},
        headers=headers,
    )
    detail = reverse("handoffs:protocol-detail", args=[pk])
    if htmx:
        assert response.status_code == 200 and response["HX-Redirect"] == detail
    else:
        assert response.status_code == 302 and response.url == detail
    page = client.get(detail).content.decode()
    assert "This version was published meanwhile; edit the new draft." in page
    assert "Address confirmed" not in str(ProtocolVersion.objects.get(pk=draft.pk).checklist)
