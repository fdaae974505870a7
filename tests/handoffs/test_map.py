"""The map: every team around the hub, handoffs as edges linking to their protocols."""

import itertools

import pytest
from django.urls import reverse

from handoffs.map import layout as handoff_map
from handoffs.models import Handoff, Stage, Team, Workflow
from handoffs.workflows import services as wf
from opshub.accounts.models import User

pytestmark = pytest.mark.django_db

TEAM_NAMES = [
    "Sales",
    "Finance",
    "Fulfilment",
    "Support",
    "Customer Success",
    "Legal",
    "Content",
    "Procurement",
]


@pytest.fixture
def big_org(make_user):
    """8 teams and 30 handoffs over 6 workflows, as the issue asks the map to carry."""
    teams = []
    for name in TEAM_NAMES:
        lead = make_user(f"{name.split()[0].lower()}.boss@example.com", User.Role.LEAD)
        teams.append(Team.objects.create(name=name, lead=lead))
    routes = itertools.cycle(itertools.permutations(range(8), 6))
    for number in range(6):
        route = next(itertools.islice(routes, number * 7, None))
        workflow = Workflow.objects.create(name=f"Workflow {number + 1}")
        for position, index in enumerate(route, start=1):
            Stage.objects.create(
                workflow=workflow, name=f"Step {position}", position=position, team=teams[index]
            )
        wf.sync_handoffs(workflow)
    return teams


def test_the_map_draws_every_team_and_links_every_edge_to_its_protocol(client, member, workflow):
    Team.objects.create(name="Legal")  # no stages yet: still on the map
    client.force_login(member)
    content = client.get(reverse("handoffs:map")).content.decode()
    for name in ("Sales", "Fulfilment", "Legal"):
        assert f'data-team="{name}"' in content
    handoff = Handoff.objects.get(workflow=workflow)
    assert f'href="{reverse("handoffs:protocol-detail", args=[handoff.pk])}"' in content
    assert "is-collision" in content and 'data-health="ok"' in content
    assert "v1 published" in content


def test_sandboxes_are_left_off_unless_asked_for(client, member, workflow):
    Workflow.objects.filter(pk=workflow.pk).update(is_sandbox=True)
    client.force_login(member)
    assert 'class="map-edge ' not in client.get(reverse("handoffs:map")).content.decode()
    shown = client.get(reverse("handoffs:map"), {"sandbox": "1"}).content.decode()
    assert "is-sandbox" in shown and "Sandbox" in shown


def test_edge_health_is_ok_until_the_stalls_work_fills_it(workflow):
    handoff = Handoff.objects.get(workflow=workflow)
    assert handoff_map.edge_health([handoff.pk]) == {handoff.pk: "ok"}


def test_the_health_hook_colours_edges(client, member, workflow, monkeypatch):
    monkeypatch.setattr(handoff_map, "edge_health", lambda ids: dict.fromkeys(ids, "bad"))
    client.force_login(member)
    content = client.get(reverse("handoffs:map")).content.decode()
    assert 'data-health="bad"' in content and "health-bad" in content


def test_the_layout_keeps_8_teams_and_30_handoffs_apart(big_org):
    workflows = wf.with_structure(Workflow.objects.all())
    layout = handoff_map.layout(workflows, Team.objects.all())
    assert len(layout.nodes) == 8 and len(layout.edges) == 30
    boxes = [(n.x, n.y) for n in layout.nodes]
    for (x1, y1), (x2, y2) in itertools.combinations(boxes, 2):
        overlap_x = abs(x1 - x2) < handoff_map.NODE_W
        overlap_y = abs(y1 - y2) < handoff_map.NODE_H
        assert not (overlap_x and overlap_y)
    for node in layout.nodes:
        assert node.left >= 0 and node.left + handoff_map.NODE_W <= layout.width
        assert node.top >= 0 and node.top + handoff_map.NODE_H <= layout.height
    labels = [(e.label_x, e.label_y) for e in layout.edges]
    assert len(set(labels)) == 30


def test_the_map_runs_a_fixed_number_of_queries(
    client, viewer, big_org, django_assert_max_num_queries
):
    client.force_login(viewer)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("handoffs:map"))
    assert response.content.decode().count('class="map-edge ') == 30


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("handoffs:map"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_projector_sees_8_teams_and_30_handoffs(big_org, page, live_server, login, screenshot):
    page.set_viewport_size({"width": 1920, "height": 1080})
    login(User.objects.get(email="sales.boss@example.com"))
    page.goto(f"{live_server.url}/map/")
    assert page.locator(".map-node").count() == 8
    assert page.locator("a.map-edge").count() == 30
    svg = page.locator(".map-svg").bounding_box()
    assert svg["width"] > 1500  # uses the projector's width
    screenshot("map-1920x1080-8-teams-30-handoffs")
