"""Mapping a workflow: create it, add, rename, reorder and remove stages; who may do it."""

import datetime

import pytest
from django.urls import reverse

from handoffs.models import Handoff, Stage, Team, Workflow
from opshub.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(make_user):
    lead = make_user("finance.lead@example.com", User.Role.LEAD)
    team = Team.objects.create(name="Finance", lead=lead)
    team.members.add(lead)
    return team


def _names(workflow):
    return list(workflow.stages.order_by("position").values_list("name", flat=True))


def test_a_lead_creates_a_workflow_and_maps_three_stages(client, lead, teams, finance):
    client.force_login(lead)
    response = client.post(
        reverse("handoffs:workflow-create"),
        {"name": "Order to cash", "description": "Deals to money"},
    )
    workflow = Workflow.objects.get(name="Order to cash")
    assert response.status_code == 302 and response.url == workflow.get_absolute_url()
    assert workflow.created_by == lead
    add = reverse("handoffs:stage-add", args=[workflow.pk])
    for name, team, target in [
        ("Deal closed", teams["sales"], "1d"),
        ("Invoice", finance, "4h"),
        ("Ship", teams["fulfilment"], ""),
    ]:
        response = client.post(
            add, {"name": name, "team": team.pk, "kind": "active", "target": target}
        )
        assert response.status_code == 200
    assert _names(workflow) == ["Deal closed", "Invoice", "Ship"]
    assert workflow.stages.get(name="Deal closed").target == datetime.timedelta(days=1)
    assert workflow.stages.get(name="Ship").target is None
    # One handoff out of every stage but the last; both are collision zones.
    handoffs = list(Handoff.objects.filter(workflow=workflow).order_by("from_stage__position"))
    assert [h.from_stage.name for h in handoffs] == ["Deal closed", "Invoice"]
    assert all(h.is_collision_zone for h in handoffs)


def test_stage_form_errors_are_shown_per_field_and_nothing_is_added(client, lead, workflow):
    client.force_login(lead)
    response = client.post(
        reverse("handoffs:stage-add", args=[workflow.pk]),
        {"name": "Ship", "team": "", "kind": "active", "target": "soon"},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "Another stage of this workflow has that name." in content
    assert "Write a time like 4h, 2d or 1d 4h." in content
    assert "This field is required." in content
    assert _names(workflow) == ["Qualify", "Ship"]


def test_htmx_stage_add_answers_with_the_stages_fragment(client, lead, workflow, teams):
    client.force_login(lead)
    response = client.post(
        reverse("handoffs:stage-add", args=[workflow.pk]),
        {"name": "Follow-up", "team": teams["fulfilment"].pk, "kind": "queue", "target": "2h"},
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="stages"')
    assert "<html" not in content
    assert "Stage “Follow-up” added." in content
    assert workflow.stages.get(name="Follow-up").kind == Stage.Kind.QUEUE


def test_rename_and_retarget_a_stage(client, lead, workflow, teams):
    client.force_login(lead)
    stage = workflow.stages.get(name="Ship")
    url = reverse("handoffs:stage-edit", args=[stage.pk])
    assert 'name="edit-name"' in client.get(url).content.decode()
    client.post(
        url,
        {
            "edit-name": "Pick and ship",
            "edit-team": teams["fulfilment"].pk,
            "edit-kind": "active",
            "edit-target": "2d 4h",
        },
    )
    stage.refresh_from_db()
    assert stage.name == "Pick and ship"
    assert stage.target == datetime.timedelta(days=2, hours=4)


def test_reorder_stages_moves_the_handoffs_with_them(client, lead, workflow, teams):
    client.force_login(lead)
    client.post(
        reverse("handoffs:stage-add", args=[workflow.pk]),
        {"name": "Invoice", "team": teams["sales"].pk, "kind": "active"},
    )
    invoice = workflow.stages.get(name="Invoice")
    client.post(reverse("handoffs:stage-move", args=[invoice.pk]), {"to": "up"})
    assert _names(workflow) == ["Qualify", "Invoice", "Ship"]
    client.post(reverse("handoffs:stage-move", args=[invoice.pk]), {"to": "up"})
    assert _names(workflow) == ["Invoice", "Qualify", "Ship"]
    # Moving the first stage further up changes nothing.
    client.post(reverse("handoffs:stage-move", args=[invoice.pk]), {"to": "up"})
    assert _names(workflow) == ["Invoice", "Qualify", "Ship"]
    froms = set(
        Handoff.objects.filter(workflow=workflow).values_list("from_stage__name", flat=True)
    )
    assert froms == {"Invoice", "Qualify"}


def test_removing_a_stage_that_has_items_is_refused_with_a_reason(client, lead, workflow, item):
    client.force_login(lead)
    stage = workflow.stages.get(name="Qualify")
    response = client.post(
        reverse("handoffs:stage-remove", args=[stage.pk]), headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert "“Qualify” cannot be removed." in content
    assert "1 work item is in “Qualify”" in content
    assert _names(workflow) == ["Qualify", "Ship"]


def test_removing_an_empty_stage_renumbers_the_rest(client, lead, workflow, teams):
    client.force_login(lead)
    for name in ("Pack", "Deliver"):
        client.post(
            reverse("handoffs:stage-add", args=[workflow.pk]),
            {"name": name, "team": teams["fulfilment"].pk, "kind": "active"},
        )
    pack = workflow.stages.get(name="Pack")
    client.post(reverse("handoffs:stage-remove", args=[pack.pk]))
    assert list(workflow.stages.order_by("position").values_list("name", "position")) == [
        ("Qualify", 1),
        ("Ship", 2),
        ("Deliver", 3),
    ]
    # The handoff out of the removed stage went with it; Ship now hands off to Deliver.
    ship = Handoff.objects.get(from_stage__name="Ship")
    assert ship.to_stage.name == "Deliver"


def test_a_stage_whose_handoff_has_a_published_protocol_is_kept(client, lead, workflow):
    client.force_login(lead)
    stage = workflow.stages.get(name="Qualify")
    response = client.post(reverse("handoffs:stage-remove", args=[stage.pk]))
    assert response.status_code == 400
    assert "published protocol" in response.content.decode()
    assert _names(workflow) == ["Qualify", "Ship"]


def test_workflow_details_and_sandbox_flag_are_editable(client, lead, workflow):
    client.force_login(lead)
    client.post(
        reverse("handoffs:workflow-edit", args=[workflow.pk]),
        {"name": "Order to delivery", "description": "Practice", "is_sandbox": "on"},
    )
    workflow.refresh_from_db()
    assert workflow.is_sandbox
    page = client.get(workflow.get_absolute_url()).content.decode()
    assert "Sandbox workflow" in page
    assert "excluded from the scoreboard" in page


def test_a_workflow_with_history_cannot_be_deleted_but_an_empty_one_can(client, lead, workflow):
    client.force_login(lead)
    client.post(reverse("handoffs:workflow-delete", args=[workflow.pk]))
    assert Workflow.objects.filter(pk=workflow.pk).exists()
    empty = Workflow.objects.create(name="Scratch", created_by=lead)
    response = client.post(reverse("handoffs:workflow-delete", args=[empty.pk]))
    assert response.status_code == 302
    assert not Workflow.objects.filter(pk=empty.pk).exists()


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
def test_only_leads_of_its_teams_and_admins_change_a_workflow(
    request, client, workflow, teams, persona, can_edit
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(workflow.get_absolute_url()).status_code == 200  # everyone reads
    stage = workflow.stages.get(name="Ship")
    attempts = [
        client.post(
            reverse("handoffs:stage-add", args=[workflow.pk]),
            {"name": "Extra", "team": teams["fulfilment"].pk, "kind": "active"},
        ),
        client.post(reverse("handoffs:stage-move", args=[stage.pk]), {"to": "up"}),
        client.post(
            reverse("handoffs:workflow-edit", args=[workflow.pk]),
            {"name": "Renamed", "description": ""},
        ),
    ]
    if can_edit:
        assert all(r.status_code in (200, 302) for r in attempts)
        assert workflow.stages.filter(name="Extra").exists()
    else:
        assert [r.status_code for r in attempts] == [403, 403, 403]
        assert _names(workflow) == ["Qualify", "Ship"]
        assert Workflow.objects.get(pk=workflow.pk).name == "Order to delivery"


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_and_viewers_cannot_create_workflows(request, client, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("handoffs:workflow-create")).status_code == 403
    assert client.post(reverse("handoffs:workflow-create"), {"name": "X"}).status_code == 403
    assert not Workflow.objects.filter(name="X").exists()


def test_anonymous_visitors_are_sent_to_log_in(client, workflow):
    stage = workflow.stages.first()
    for url in [
        reverse("handoffs:workflow-list"),
        reverse("handoffs:workflow-create"),
        workflow.get_absolute_url(),
        reverse("handoffs:workflow-edit", args=[workflow.pk]),
        reverse("handoffs:stage-edit", args=[stage.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url
    response = client.post(reverse("handoffs:stage-remove", args=[stage.pk]))
    assert response.status_code == 302 and Stage.objects.filter(pk=stage.pk).exists()


def test_the_list_and_a_workflow_page_run_a_fixed_number_of_queries(
    client, lead, workflow, teams, django_assert_max_num_queries
):
    for n in range(6):
        wf = Workflow.objects.create(name=f"Flow {n}", created_by=lead)
        for position in (1, 2, 3):
            Stage.objects.create(
                workflow=wf, name=f"S{position}", position=position, team=teams["sales"]
            )
            if position < 3:
                Handoff.objects.create(workflow=wf, from_stage=wf.stages.get(position=position))
    client.force_login(lead)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("handoffs:workflow-list"))
    assert response.content.decode().count('class="card') >= 7
    with django_assert_max_num_queries(16):
        client.get(workflow.get_absolute_url())
