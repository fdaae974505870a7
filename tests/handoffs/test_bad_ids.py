"""Ids that are not numbers in query strings and forms answer 404, not 500."""

import pytest
from django.urls import reverse

from handoffs.models import DecisionMatrixChange
from opshub.lib.ids import parse_id

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("bad", ["abc", "1.5", "-1", "²", "9" * 40, " "])
def test_parse_id_refuses_what_is_not_a_whole_positive_number(bad):
    assert parse_id(bad) is None


def test_parse_id_reads_ids():
    assert parse_id("42") == 42 and parse_id(7) == 7 and parse_id(None) is None


def test_the_inbox_with_a_team_that_is_not_a_number_is_not_found(client, lead):
    client.force_login(lead)
    assert client.get(reverse("handoffs:inbox"), {"team": "abc"}).status_code == 404


def test_the_matrix_scoped_to_a_team_that_is_not_a_number_is_not_found(client, lead, workflow):
    client.force_login(lead)
    for name in ("handoffs:decision-matrix", "handoffs:decision-print"):
        response = client.get(reverse(name, args=[workflow.pk]), {"team": "abc"})
        assert response.status_code == 404


def test_a_matrix_cell_with_a_type_that_is_not_a_number_changes_nothing(
    client, admin_user, workflow
):
    client.force_login(admin_user)
    response = client.post(
        reverse("handoffs:decision-cell", args=[workflow.pk]),
        {"decision_type": "abc", "role": "member"},
    )
    assert response.status_code == 404
    assert not DecisionMatrixChange.objects.exists()
