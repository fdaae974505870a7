"""What the htmx forms of items, stages and protocol drafts answer when refused: the swapped
region again, with per-field messages, and nothing changed.

They answer 400, like snooze, decisions and action items: the layout's htmx config swaps 400
and 422 in place, so the messages show where the form was."""

import pytest
from django.urls import reverse

from handoffs.models import WorkItem
from handoffs.work import transitions
from handoffs.workflows.services import protocol_draft

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _blocked(item, seller):
    transitions.item_block(item=item, by=seller, missing_input="Signed contract")
    return item


# (url name, who posts, what the item needs first, data, a message the answer must carry)
ITEM_FORMS = [
    ("item-handoff", "seller", None, {}, "Required: tick it once it is true."),
    ("item-block", "seller", None, {}, "Name the missing input: pick one or describe it."),
    ("item-cancel", "seller", None, {}, "Say why the item is cancelled."),
    (
        "item-unblock",
        "seller",
        _blocked,
        {},
        "Pick the cause: person, process, tool or expectation.",
    ),
    ("item-comment", "seller", None, {"body": ""}, "Write something first."),
    ("item-edit", "seller", None, {"title": ""}, 'class="field-errors"'),
]


def _post_item_form(client, request, item, name, persona, prepare, data):
    user = request.getfixturevalue(persona)
    if prepare:
        prepare(item, user)
    client.force_login(user)
    return client.post(reverse(f"handoffs:{name}", args=[item.pk]), data, headers=HTMX)


@pytest.mark.parametrize(("name", "persona", "prepare", "data", "message"), ITEM_FORMS)
def test_a_refused_item_form_answers_the_item_region_with_its_messages(
    client, request, item, name, persona, prepare, data, message
):
    state = WorkItem.objects.get(pk=item.pk).state if prepare is None else None
    response = _post_item_form(client, request, item, name, persona, prepare, data)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="item"') and "<html" not in body
    assert message in body
    if state is not None:
        assert WorkItem.objects.get(pk=item.pk).state == state


@pytest.mark.parametrize(("name", "persona", "prepare", "data", "message"), ITEM_FORMS)
def test_a_refused_item_form_answers_400(
    client, request, item, name, persona, prepare, data, message
):
    response = _post_item_form(client, request, item, name, persona, prepare, data)
    assert response.status_code == 400


def _post_editor_form(client, lead, workflow, name, data):
    handoff = workflow.handoffs.get()
    protocol_draft(handoff=handoff, by=lead)
    client.force_login(lead)
    target = {
        "stage-add": workflow.pk,
        "stage-edit": workflow.stages.get(name="Ship").pk,
    }.get(name, handoff.pk)
    return client.post(reverse(f"handoffs:{name}", args=[target]), data, headers=HTMX)


EDITOR_FORMS = [
    ("stage-add", {}, '<section id="stages"'),
    ("stage-edit", {"edit-name": ""}, '<section id="stages"'),
    ("protocol-settings", {"acceptance_target": "soon"}, '<section id="settings"'),
    ("protocol-checklist", {}, '<section id="checklist"'),
    ("protocol-field", {}, '<section id="fields"'),
]


@pytest.mark.parametrize(("name", "data", "region"), EDITOR_FORMS)
def test_a_refused_editor_form_answers_its_section_with_its_messages(
    client, lead, workflow, name, data, region
):
    response = _post_editor_form(client, lead, workflow, name, data)
    body = response.content.decode()
    assert body.lstrip().startswith(region) and "<html" not in body
    assert 'class="field-errors"' in body
    assert workflow.stages.count() == 2
    assert workflow.stages.filter(name="Ship").exists()


@pytest.mark.parametrize(("name", "data", "region"), EDITOR_FORMS)
def test_a_refused_editor_form_answers_400(client, lead, workflow, name, data, region):
    assert _post_editor_form(client, lead, workflow, name, data).status_code == 400
