"""“Create this workflow”: the discovered path becomes a draft workflow with measured targets,
one prefilled draft protocol per collision zone, and the log's history as its baseline."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from handoffs.models import Event, ProtocolVersion, Team, Workflow, WorkItem
from scoreboard.discovery.models import Baseline
from scoreboard.discovery.services import baseline_create, workflow_from_baseline
from scoreboard.models import DeliveredItemFact

pytestmark = pytest.mark.django_db

LOG = """case_id,activity,timestamp,resource,amount,po_number,note
A,Deal won,2025-03-03T09:00:00Z,ann,100,PO-1,
A,Invoice,2025-03-03T11:00:00Z,fin,100,PO-1,
A,Ship,2025-03-04T11:00:00Z,dan,100,PO-1,
B,Deal won,2025-03-03T09:00:00Z,ann,50,,x
B,Call back,2025-03-03T10:00:00Z,ann,50,,
B,Invoice,2025-03-03T13:00:00Z,fin,50,PO-2,
B,Ship,2025-03-05T13:00:00Z,dan,50,PO-2,
C,Deal won,2025-03-03T09:00:00Z,ann,70,,
C,Invoice,2025-03-03T10:00:00Z,fin,70,PO-3,
C,Ship,2025-03-04T10:00:00Z,dan,70,PO-3,
"""


@pytest.fixture
def baseline(lead):
    return baseline_create(name="crm.csv", data=LOG.encode(), by=lead)


@pytest.fixture
def finance(teams):
    return Team.objects.create(name="Finance", slug="finance")


def test_the_main_path_becomes_a_draft_workflow_with_targets_protocols_and_history(
    baseline, lead, teams, finance
):
    sales, fulfilment = teams["sales"], teams["fulfilment"]
    assert baseline.discovery["main_path"] == ["Deal won", "Invoice", "Ship"]
    workflow = workflow_from_baseline(
        baseline=baseline,
        by=lead,
        name="Order to cash",
        stages=[("Deal won", sales), ("Invoice", finance), ("Ship", fulfilment)],
    )
    stages = workflow.ordered_stages()
    assert [(s.name, s.team) for s in stages] == [
        ("Deal won", sales),
        ("Invoice", finance),
        ("Ship", fulfilment),
    ]
    # Deal won → Invoice took 2 h and 1 h (A, C; B went through Call back): p85 1.85 h.
    assert stages[0].target == datetime.timedelta(hours=1.85)
    # Invoice → Ship: 24 h, 48 h, 24 h; p85 = 24 + 0.7 × 24 = 40.8 h.
    assert stages[1].target == datetime.timedelta(hours=40.8)
    assert stages[2].target is None
    drafts = ProtocolVersion.objects.filter(handoff__workflow=workflow).order_by("handoff")
    assert [d.status for d in drafts] == ["draft", "draft"]
    # What arrives at Invoice: amount and PO number on all three events; `note` never.
    assert [(f["key"], f["label"], f["required"]) for f in drafts[0].fields] == [
        ("amount", "amount", True),
        ("po_number", "po_number", True),
    ]
    assert drafts[0].checklist == [] and drafts[0].publish_problems() == []
    items = WorkItem.objects.filter(workflow=workflow)
    assert sorted(items.values_list("external_ref", flat=True)) == ["A", "B", "C"]
    # Call back is not a stage: its event is left out of B's history.
    b = items.get(external_ref="B")
    assert not b.events.filter(payload__activity="Call back").exists()
    assert b.events.filter(kind=Event.Kind.HANDOFF_SUBMITTED).count() == 2
    facts = DeliveredItemFact.objects.filter(workflow=workflow)
    assert sorted(facts.values_list("cycle_seconds", flat=True)) == [
        25 * 3600,
        26 * 3600,
        52 * 3600,
    ]
    baseline.refresh_from_db()
    assert baseline.workflow == workflow


def test_a_log_makes_one_workflow(baseline, lead, teams):
    stages = [("Deal won", teams["sales"]), ("Ship", teams["fulfilment"])]
    workflow_from_baseline(baseline=baseline, by=lead, name="First", stages=stages)
    with pytest.raises(ValidationError, match="already created from this log"):
        workflow_from_baseline(baseline=baseline, by=lead, name="Second", stages=stages)
    assert not Workflow.objects.filter(name="Second").exists()


def test_stages_inside_one_team_get_no_protocol(baseline, lead, teams):
    sales = teams["sales"]
    workflow = workflow_from_baseline(
        baseline=baseline,
        by=lead,
        name="All sales",
        stages=[("Deal won", sales), ("Invoice", sales), ("Ship", teams["fulfilment"])],
    )
    assert ProtocolVersion.objects.filter(handoff__workflow=workflow).count() == 1


@pytest.mark.parametrize(
    ("name", "stages", "field", "message"),
    [
        ("", [("Deal won", "sales"), ("Ship", "sales")], "name", "Name the workflow"),
        ("X", [("Deal won", "sales")], "stages", "at least two"),
        ("X", [("Deal won", "sales"), ("Nope", "sales")], "stages", "activities of this log"),
        ("X", [("Deal won", "sales"), ("Ship", None)], "stages", "Pick the team"),
    ],
)
def test_a_refused_draft_creates_nothing(baseline, lead, teams, name, stages, field, message):
    chosen = [(activity, teams[team] if team else None) for activity, team in stages]
    with pytest.raises(ValidationError) as refused:
        workflow_from_baseline(baseline=baseline, by=lead, name=name, stages=chosen)
    assert message in " ".join(refused.value.message_dict[field])
    assert not Workflow.objects.filter(name="X").exists()
    assert Baseline.objects.get().workflow is None


def test_a_failure_half_way_leaves_no_workflow_behind(baseline, lead, teams, monkeypatch):
    def boom():
        raise RuntimeError("disk full")

    # The import's last step, after the items, their events and facts are written.
    monkeypatch.setattr("scoreboard.board_cache.invalidate_on_commit", boom)
    with pytest.raises(RuntimeError):
        workflow_from_baseline(
            baseline=baseline,
            by=lead,
            name="Half",
            stages=[("Deal won", teams["sales"]), ("Ship", teams["fulfilment"])],
        )
    assert not Workflow.objects.filter(name="Half").exists()
    assert not WorkItem.objects.exists()


@pytest.mark.parametrize("persona", ["member", "outsider"])
def test_only_the_uploader_and_admins_create_a_workflow_from_a_log(
    baseline, persona, teams, request
):
    with pytest.raises(PermissionDenied):
        workflow_from_baseline(
            baseline=baseline,
            by=request.getfixturevalue(persona),
            name="Nope",
            stages=[("Deal won", teams["sales"]), ("Ship", teams["fulfilment"])],
        )
    assert not Workflow.objects.filter(name="Nope").exists()


def test_the_page_form_creates_the_workflow_and_shows_refusals_per_field(
    client, baseline, lead, teams
):
    client.force_login(lead)
    page = client.get(f"/discovery/{baseline.pk}/").content.decode()
    assert "Create this workflow" in page
    form = {
        "name": "From the page",
        "use_0": "on",
        "team_0": str(teams["sales"].pk),
        "use_1": "on",
        "team_1": "",
    }
    refused = client.post(f"/discovery/{baseline.pk}/workflow/", form)
    assert refused.status_code == 400
    assert "Pick the team that owns each stage." in refused.content.decode()
    assert not Workflow.objects.filter(name="From the page").exists()
    form["team_1"] = str(teams["fulfilment"].pk)
    created = client.post(f"/discovery/{baseline.pk}/workflow/", form)
    workflow = Workflow.objects.get(name="From the page")
    assert created.status_code == 302 and created["Location"] == workflow.get_absolute_url()
    assert [s.name for s in workflow.ordered_stages()] == ["Deal won", "Invoice"]


def test_a_member_cannot_post_the_create_form(client, baseline, member, teams):
    client.force_login(member)
    response = client.post(
        f"/discovery/{baseline.pk}/workflow/",
        {"name": "Nope", "use_0": "on", "team_0": str(teams["sales"].pk)},
    )
    assert response.status_code == 403
    assert not Workflow.objects.filter(name="Nope").exists()
