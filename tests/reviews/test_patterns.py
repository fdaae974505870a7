import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from reviews.services import breakage_heatmap, repeats_until

pytestmark = pytest.mark.django_db


def _ago(days):
    return timezone.now() - datetime.timedelta(days=days)


def test_same_place_and_kind_twice_in_four_weeks_is_a_repeat(log_breakage, handoff):
    log_breakage(handoff=handoff, occurred_at=_ago(20))
    latest = log_breakage(handoff=handoff, occurred_at=_ago(1), title="Again")
    [repeat] = repeats_until(timezone.now())
    assert repeat["breakage"] == latest and repeat["times"] == 2


def test_different_kind_place_or_an_old_one_is_not_a_repeat(log_breakage, handoff):
    log_breakage(handoff=handoff, occurred_at=_ago(1))
    log_breakage(handoff=handoff, occurred_at=_ago(2), kind="tool")  # other kind
    log_breakage(occurred_at=_ago(3))  # workflow-level, not the handoff
    log_breakage(handoff=handoff, occurred_at=_ago(35))  # outside four weeks
    assert repeats_until(timezone.now()) == []


def test_the_heatmap_counts_breakages_per_handoff_per_week(log_breakage, handoff):
    log_breakage(handoff=handoff, occurred_at=_ago(0))
    log_breakage(handoff=handoff, occurred_at=_ago(0))
    log_breakage(handoff=handoff, occurred_at=_ago(14))
    log_breakage(handoff=handoff, occurred_at=_ago(120))  # beyond 12 weeks
    weeks, [row] = breakage_heatmap()
    assert len(weeks) == 12 and len(row["cells"]) == 12
    assert row["label"] == "Qualify → Ship"
    assert row["cells"][-1] == {"n": 2, "level": 2}
    assert row["cells"][-3]["n"] == 1
    assert row["total"] == 3


def test_the_patterns_page_highlights_repeats(
    client, member, log_breakage, handoff, django_assert_max_num_queries
):
    # A Thursday noon: both breakages fall in the same heatmap week whatever today is.
    with time_machine.travel(datetime.datetime(2026, 12, 10, 12, tzinfo=datetime.UTC)):
        log_breakage(handoff=handoff, occurred_at=_ago(3))
        log_breakage(handoff=handoff, occurred_at=_ago(1))
        client.force_login(member)
        with django_assert_max_num_queries(12):
            response = client.get(reverse("reviews:patterns"))
    body = response.content.decode()
    assert 'class="is-repeat"' in body and "heat heat-2" in body
