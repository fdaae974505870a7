import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Cause, Recovery
from handoffs.work.transitions import handoff_bounce, handoff_submit
from reviews.models import Breakage, week_of
from reviews.services import week_candidates

pytestmark = pytest.mark.django_db
URL = reverse("reviews:breakage-create")


def test_it_logs_a_breakage_from_the_standalone_page(client, member, workflow, handoff, item):
    client.force_login(member)
    response = client.post(
        URL,
        {
            "title": "Shipped to the old address",
            "workflow": workflow.pk,
            "handoff": handoff.pk,
            "kind": "tool",
            "item_ids": f"#{item.pk}",
        },
    )
    breakage = Breakage.objects.get()
    assert response.status_code == 302
    assert breakage.reporter == member
    assert breakage.week == week_of()
    assert list(breakage.items.all()) == [item]


def test_person_kind_asks_what_in_the_system_made_it_likely(client, member, workflow):
    client.force_login(member)
    data = {"title": "Forgot the PO", "workflow": workflow.pk, "kind": "person"}
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "What in the system made this likely?" in response.content.decode()
    assert not Breakage.objects.exists()
    response = client.post(URL, {**data, "system_factor": "The PO field is optional in the CRM."})
    assert response.status_code == 302
    assert Breakage.objects.get().kind == Cause.PERSON


def test_bad_input_gets_a_message_per_field_and_changes_nothing(client, member, workflow, teams):
    from handoffs.models import Stage, Workflow

    other = Workflow.objects.create(name="Onboarding")
    stage = Stage.objects.create(workflow=other, name="Kickoff", position=1, team=teams["sales"])
    client.force_login(member)
    response = client.post(
        URL,
        {"title": "", "workflow": workflow.pk, "stage": stage.pk, "kind": "x", "item_ids": "9999"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "This stage belongs to another workflow." in body
    assert "No work item with number 9999." in body
    assert "This field is required." in body
    assert not Breakage.objects.exists()


def test_the_item_link_prefills_workflow_stage_and_item(client, member, item):
    client.force_login(member)
    response = client.get(URL, {"item": item.pk})
    form = response.context["form"]
    assert form.initial == {
        "workflow": item.workflow_id,
        "stage": item.stage_id,
        "item_ids": str(item.pk),
    }


def test_viewer_cannot_log_and_anonymous_is_sent_to_login(client, viewer, workflow, lead):
    assert client.get(URL).status_code == 302
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"title": "x", "workflow": workflow.pk}).status_code == 403
    from reviews.services import breakage_log

    with pytest.raises(PermissionDenied):
        breakage_log(by=viewer, title="x", workflow=workflow, kind="tool")


def test_a_bounce_becomes_a_candidate_until_it_is_logged(item, seller, lead, client):
    handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO1", "amount": "10"}
    )
    item.refresh_from_db()
    _, recovery = handoff_bounce(item=item, by=lead, missing_input="delivery address")
    candidates = week_candidates(week_of())
    assert [c.key for c in candidates] == [f"recovery:{recovery.pk}"]
    assert candidates[0].title == "Bounced: missing delivery address"
    assert candidates[0].handoff == recovery.handoff

    client.force_login(lead)
    url = f"{URL}?from=recovery:{recovery.pk}"
    form = client.get(url).context["form"]
    assert form.initial["title"] == "Bounced: missing delivery address"
    response = client.post(
        url, {**{k: getattr(v, "pk", v) for k, v in form.initial.items() if v}, "kind": "process"}
    )
    assert response.status_code == 302
    breakage = Breakage.objects.get()
    assert (breakage.source, breakage.source_key) == ("bounce", f"recovery:{recovery.pk}")
    assert week_candidates(week_of()) == []
    from reviews.services import breakage_log

    with pytest.raises(ValidationError):
        breakage_log(
            by=lead,
            title="again",
            workflow=item.workflow,
            kind="tool",
            source_key=f"recovery:{recovery.pk}",
        )
    assert Breakage.objects.count() == 1


def test_deliveries_above_the_95th_percentile_are_suggested(workflow, deliver):
    for days in range(1, 21):
        deliver(workflow, days=days, ago=datetime.timedelta(days=20))
    slow = deliver(workflow, days=40, title="Very slow order")
    normal = deliver(workflow, days=3)
    keys = {c.key for c in week_candidates(week_of())}
    assert f"slow:{slow.pk}" in keys
    assert f"slow:{normal.pk}" not in keys


def test_cost_is_the_days_beyond_the_workflows_median(workflow, deliver, log_breakage):
    for days in (2, 4, 4, 6):
        deliver(workflow, days=days, ago=datetime.timedelta(days=10))
    late = deliver(workflow, days=10)
    breakage = log_breakage(items=[late])
    # median of 2, 4, 4, 6, 10 is 4: the late item cost 6 days.
    assert float(breakage.cost_days) == pytest.approx(6.0, abs=0.1)
    assert log_breakage(title="No items").cost_days is None


def test_recoveries_in_sandbox_workflows_are_not_candidates(item, seller):
    item.workflow.is_sandbox = True
    item.workflow.save()
    Recovery.objects.create(
        item=item,
        kind=Recovery.Kind.BLOCK,
        missing_input="x",
        next_check_at=timezone.now(),
    )
    assert week_candidates(week_of()) == []


def test_the_item_page_links_to_log_a_breakage(client, member, viewer, item):
    client.force_login(member)
    body = client.get(item.get_absolute_url()).content.decode()
    assert f"/reviews/breakages/new/?item={item.pk}&amp;next=/work/{item.pk}/" in body
    client.force_login(viewer)
    assert "Log breakage" not in client.get(item.get_absolute_url()).content.decode()
