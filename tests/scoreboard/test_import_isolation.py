"""The CSV import in a transaction of its own runs in REPEATABLE READ (its foreign-key checks
reuse one snapshot). Another session editing a team its stages name meanwhile: an edit that
leaves the team's keys alone does not disturb it; a rename (a unique column) or a deletion
fails the first attempt, and the second, in READ COMMITTED, lands with nothing of the first
left behind."""

import psycopg
import pytest
from django.db import connection

from handoffs.models import Event, Stage, Team, Workflow, WorkItem
from scoreboard.importer import event_log_import_csv
from scoreboard.models import DeliveredItemFact, HandoffFact, StageTimeFact

pytestmark = pytest.mark.django_db(transaction=True)

LOG = (
    "case_id,activity,timestamp,resource,group\n"
    "c1,Order,2024-03-01T09:00:00Z,ann,Sales\n"
    "c1,Pack,2024-03-01T12:00:00Z,cat,Warehouse\n"
    "c2,Order,2024-03-02T09:00:00Z,bob,Sales\n"
    "c2,Pack,2024-03-02T11:00:00Z,cat,Warehouse\n"
    "c2,Ship,2024-03-03T10:00:00Z,dan,Warehouse\n"
)


def _elsewhere(sql, params):
    """Runs and commits a statement on a connection of its own."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], host=settings["HOST"], port=settings["PORT"],
        user=settings["USER"], autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(sql, params)


def _import_meanwhile(sql):
    """Imports LOG; once its stages are written (the team looked up, not yet key-checked),
    another session runs `sql` on the team Sales. Returns the import and the isolation
    level of each attempt."""
    sales = Team.objects.create(name="Sales", slug="sales")
    attempts = []

    def report(fraction):
        if fraction == 0.25:
            with connection.cursor() as cursor:
                cursor.execute("SHOW transaction_isolation")
                attempts.append(cursor.fetchone()[0])
            if len(attempts) == 1:
                _elsewhere(sql, [sales.pk])

    done = event_log_import_csv(data=LOG.encode(), workflow_name="Orders", report=report)
    return done, attempts


def test_a_team_described_meanwhile_does_not_disturb_the_import():
    done, attempts = _import_meanwhile(
        "UPDATE handoffs_team SET description = 'Closes deals' WHERE id = %s"
    )

    assert attempts == ["repeatable read"]
    assert done.workflow.stages.get(name="Order").team.description == "Closes deals"
    assert WorkItem.objects.count() == 2


def test_a_team_renamed_meanwhile_fails_the_first_attempt_and_the_second_lands():
    done, attempts = _import_meanwhile("UPDATE handoffs_team SET name = 'Sales EU' WHERE id = %s")

    assert attempts == ["repeatable read", "read committed"]
    # The second attempt reads the teams as they are now: "Sales" is a new team.
    assert done.workflow.stages.get(name="Order").team == Team.objects.get(name="Sales")
    assert set(Team.objects.values_list("name", flat=True)) == {"Sales", "Sales EU", "Warehouse"}
    assert list(Workflow.objects.values_list("name", flat=True)) == ["Orders"]
    assert WorkItem.objects.count() == 2


def test_a_team_deleted_meanwhile_fails_the_first_attempt_and_the_second_lands():
    done, attempts = _import_meanwhile("DELETE FROM handoffs_team WHERE id = %s")

    assert attempts == ["repeatable read", "read committed"]
    assert list(Workflow.objects.values_list("name", flat=True)) == ["Orders"]
    assert done.workflow.stages.get(name="Order").team == Team.objects.get(name="Sales")
    assert Stage.objects.count() == 3
    assert WorkItem.objects.count() == 2
    # Per case: created, then submitted + accepted per later row, then delivered.
    assert Event.objects.count() == (1 + 2 + 1) + (1 + 2 * 2 + 1)
    assert DeliveredItemFact.objects.count() == 2
    assert StageTimeFact.objects.count() == 2 + 3
    assert HandoffFact.objects.count() == 1 + 2
