"""The map's edges by measured wait: each handoff's median wait for acceptance over the last
90 days colours and sizes its line, a legend says how, and the table gives the figures."""

import datetime
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from handoffs.map import waits
from handoffs.models import Event, Handoff, Stage, Team, Workflow
from handoffs.workflows import services as wf
from opshub.accounts.models import User
from tests.scoreboard.helpers import build_item

pytestmark = pytest.mark.django_db
K = Event.Kind
H = datetime.timedelta(hours=1)


def _handed_over(handoff, wait, count=3, *, then=K.HANDOFF_ACCEPTED, days_ago=10):
    """`count` items handed over `handoff`, each followed by `then` after `wait`."""
    start = timezone.now() - datetime.timedelta(days=days_ago)
    source, target = handoff.from_stage, handoff.to_stage
    for n in range(count):
        steps = [
            (K.CREATED, 0 * H, None, source),
            (K.HANDOFF_SUBMITTED, H, source, target),
            (then, H + wait * (n + 1) / count, target, source if then != K.CANCELLED else None),
        ]
        build_item(handoff.workflow, steps, title=f"Handed {n}", start=start)


@pytest.fixture(autouse=True)
def _fresh_waits(monkeypatch):
    # Each test measures its own events: nothing served from an earlier test's cache.
    monkeypatch.setattr(waits, "cache_get", lambda key, default=None: default)


def test_the_median_wait_for_acceptance_sets_the_class(workflow):
    handoff = Handoff.objects.get(workflow=workflow)
    _handed_over(handoff, 3 * H)  # waits of 1, 2 and 3 hours
    wait = waits.measured_waits([handoff.pk])[handoff.pk]
    assert wait.median == 2 * H and wait.count == 3 and wait.wait_class == "quick"
    _handed_over(handoff, 150 * H, count=5)  # 30 … 150 h: the median of all 8 is 45 h
    assert waits.measured_waits([handoff.pk])[handoff.pk].wait_class == "slowest"


def test_bounces_cancellations_and_old_handoffs_are_not_waits_for_acceptance(workflow):
    handoff = Handoff.objects.get(workflow=workflow)
    _handed_over(handoff, 3 * H, then=K.HANDOFF_BOUNCED)
    _handed_over(handoff, 3 * H, then=K.CANCELLED)
    _handed_over(handoff, 3 * H, days_ago=200)
    wait = waits.measured_waits([handoff.pk])[handoff.pk]
    assert wait.count == 0 and wait.wait_class == "unmeasured"


def test_the_map_page_shows_the_wait_on_the_edge_in_the_legend_and_in_the_table(
    client, member, workflow
):
    handoff = Handoff.objects.get(workflow=workflow)
    _handed_over(handoff, 36 * H)  # 12, 24, 36 h: median a day
    client.force_login(member)
    content = client.get(reverse("handoffs:map")).content.decode()
    assert 'data-wait="slow"' in content and "map-edge-line wait-slow" in content
    assert "median wait for acceptance, last 90 days" in content
    assert "not measured (under 3 accepted handoffs)" in content
    assert "median wait 1d" in content  # the edge's tooltip


def _big_org_with_waits(make_user):
    names = ["Sales", "Finance", "Fulfilment", "Support", "Customer Success", "Legal"]
    names += ["Content", "Procurement"]
    teams = []
    for name in names:
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
    spread = [2 * H, 20 * H, 60 * H, None]
    for n, handoff in enumerate(
        Handoff.objects.select_related("from_stage", "workflow").order_by("pk")
    ):
        if spread[n % 4] is not None:
            _handed_over(handoff, spread[n % 4])


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_the_wait_legend_reads_on_a_laptop_and_a_projector(
    make_user, page, live_server, login, screenshot, width, height
):
    _big_org_with_waits(make_user)
    page.set_viewport_size({"width": width, "height": height})
    login(User.objects.get(email="sales.boss@example.com"))
    page.goto(f"{live_server.url}/map/")
    assert page.locator("a.map-edge").count() == 30
    for wait_class in ("quick", "slow", "slowest", "unmeasured"):
        assert page.locator(f'a.map-edge[data-wait="{wait_class}"]').count() > 0
    legend = page.locator(".map-legend")
    assert legend.get_by_text("median wait for acceptance").is_visible()
    screenshot(f"map-waits-{width}x{height}", full_page=True)
