"""The one-page protocol: a typical published protocol prints on one A4 and one Letter page."""

import random
import re

import pytest
from django.urls import reverse

from handoffs.demo.organisation import seed_org, seed_workflows
from handoffs.models import Handoff
from opshub.accounts.models import User

PASSWORD = "correct-horse-battery"


def _pages(pdf):
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


@pytest.fixture
def demo(transactional_db):
    ctx = {"password": PASSWORD, "rng": random.Random(7), "items": 0, "days": 60}
    seed_org(ctx)
    seed_workflows(ctx)
    return ctx


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_a_typical_protocol_prints_on_one_page(demo, page, live_server, login, paper, screenshot):
    # The demo's busiest protocol: 4 checklist items, 5 fields, both answers.
    handoff = Handoff.objects.get(
        workflow__name="Order to delivery", from_stage__name="Deal closed"
    )
    assert len(handoff.published().fields) == 5
    login(User.objects.get(email="member@example.com"))
    page.goto(f"{live_server.url}{reverse('handoffs:protocol-print', args=[handoff.pk])}")
    assert page.get_by_role("heading", name="Recovery path").is_visible()
    pdf = page.pdf(format=paper, print_background=True)
    assert _pages(pdf) == 1
    if paper == "A4":
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 794, "height": 1123})
        screenshot("protocol-print-a4")


def test_every_demo_protocol_fits_one_page(demo, page, live_server, login):
    login(User.objects.get(email="member@example.com"))
    for handoff in Handoff.objects.filter(versions__status="published").distinct():
        page.goto(f"{live_server.url}{reverse('handoffs:protocol-print', args=[handoff.pk])}")
        assert _pages(page.pdf(format="A4")) == 1, str(handoff)
