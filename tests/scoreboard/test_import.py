"""Baseline import: the real public logs reproduce pm4py's figures; bad files change nothing."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from handoffs.models import Event, Stage, Team, Workflow, WorkItem
from scoreboard.importer import event_log_import, history_import, parse_event_log
from scoreboard.metrics import rebuild_item_facts
from scoreboard.models import DeliveredItemFact, HandoffFact, StageTimeFact

pytestmark = pytest.mark.django_db
LOGS = Path(__file__).resolve().parents[3] / "shared" / "data" / "eventlogs"
EXPECTED = json.loads((LOGS / "expected.json").read_text()) if LOGS.exists() else {}
needs_logs = pytest.mark.skipif(not LOGS.exists(), reason=f"{LOGS} is not there")


def _import(text, name="Baseline"):
    return event_log_import(parsed=parse_event_log(io.StringIO(text)), workflow_name=name)


def _assert_matches_pm4py(workflow, log):
    expected = EXPECTED[log]["case_duration_seconds"]
    stats = DeliveredItemFact.objects.filter(workflow=workflow).summary()
    assert stats["count"] == EXPECTED[log]["num_cases"]
    for ours, theirs in (
        ("average", "mean"),
        ("p50", "median_midpoint"),
        ("p85", "p85_linear"),
        ("p95", "p95_linear"),
    ):
        assert stats[ours] == pytest.approx(expected[theirs], rel=0.005), ours


@needs_logs
def test_the_helpdesk_log_gives_pm4pys_figures():
    call_command(
        "import_events", str(LOGS / "helpdesk.csv"), workflow="Helpdesk", stdout=io.StringIO()
    )
    workflow = Workflow.objects.get(name="Helpdesk")
    _assert_matches_pm4py(workflow, "helpdesk.xes.gz")
    assert Event.objects.filter(item__workflow=workflow, kind=Event.Kind.DELIVERED).count() == 4580
    assert workflow.stages.count() == 14
    item = WorkItem.objects.filter(workflow=workflow).first()
    assert item.replayed_state()[1:] == (WorkItem.State.DONE, None, item.delivered_at)


RENAMED = {"case_id": "Case ID", "activity": "Step", "timestamp": "Completed At",
           "resource": "Agent", "group": "Department"}  # fmt: skip
RENAMED_OPTIONS = [f"--{option}-column={RENAMED[column]}" for option, column in (
    ("case", "case_id"), ("activity", "activity"), ("timestamp", "timestamp"),
    ("resource", "resource"), ("team", "group"))]  # fmt: skip


def renamed_copy(source, target):
    """The log with its columns renamed and in another order (timestamp first)."""
    with source.open(newline="") as read, target.open("w", newline="") as write:
        rows = csv.reader(read)
        header = next(rows)
        order = [header.index("timestamp")] + [i for i, h in enumerate(header) if h != "timestamp"]
        out = csv.writer(write)
        out.writerow([RENAMED[header[i]] for i in order])
        out.writerows([row[i] for i in order] for row in rows)
    return target


@needs_logs
@pytest.mark.parametrize("log", ["helpdesk", "bpic2012"])
def test_both_real_logs_with_renamed_columns_give_pm4pys_figures(log, tmp_path):
    # The import's speed is measured by `make bench`; here only its figures count.
    renamed = renamed_copy(LOGS / f"{log}.csv", tmp_path / "export.csv")
    out = io.StringIO()
    call_command("import_events", str(renamed), "--workflow=Renamed", *RENAMED_OPTIONS, stdout=out)
    workflow = Workflow.objects.get(name="Renamed")
    _assert_matches_pm4py(workflow, f"{log}.xes.gz")
    assert f"{EXPECTED[f'{log}.xes.gz']['num_events']} events" in out.getvalue()


def test_renamed_columns_are_refused_by_the_defaults_and_named_in_the_message(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("Deal,Step,When\nA,B,2025-01-01T00:00:00Z\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_events", str(log), workflow="X", stderr=err)
    assert "Missing column(s): case_id, activity, timestamp" in err.getvalue()
    options = ["--case-column=deal", "--activity-column=STEP", "--timestamp-column=When"]
    call_command("import_events", str(log), "--workflow=X", *options, stdout=io.StringIO())
    assert WorkItem.objects.get().external_ref == "A"


def test_a_lifecycle_column_keeps_complete_events_and_says_what_it_left_out(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "case_id,activity,timestamp,Transition\n"
        "A,Request,2025-01-01T09:00:00Z,complete\n"
        "A,Build,2025-01-01T10:00:00Z,start\n"
        "A,Build,2025-01-02T10:00:00Z,COMPLETE\n"
        "A,Ship,2025-01-03T09:00:00Z,schedule\n"
        "A,Ship,2025-01-03T10:00:00Z,\n"
    )
    out = io.StringIO()
    call_command("import_events", str(log), "--workflow=X", "--lifecycle-column=transition",
                 stdout=out)  # fmt: skip
    item = WorkItem.objects.get()
    assert [e.payload.get("activity") for e in item.events.order_by("pk")][::2] == [
        "Request", "Build", "Ship"
    ]  # fmt: skip
    assert (item.delivered_at - item.requested_at).total_seconds() == 49 * 3600
    assert "Left out events of other lifecycle transitions: schedule 1, start 1." in out.getvalue()


def test_offsets_are_respected_and_ties_keep_file_order():
    workflow = _import(
        "case_id,activity,timestamp,resource,group\n"
        "A,Request,2025-03-29T12:00:00+01:00,ann,Sales\n"
        "A,Approve,2025-03-30T12:00:00+02:00,bob,Finance\n"
        "A,Check,2025-03-30T12:00:00+02:00,bob,Finance\n"
        "B,Request,2025-03-29T11:00:00Z,ann,Sales\n"
        "B,Check,2025-03-29T13:00:00+00:00,bob,Finance\n"
    )
    a = WorkItem.objects.get(workflow=workflow, external_ref="A")
    # Noon +01:00 to noon +02:00 the next day (Berlin's spring change): 23 hours.
    assert (a.delivered_at - a.requested_at).total_seconds() == 23 * 3600
    assert a.stage.name == "Check"  # tied with Approve: the later line wins
    kinds = list(a.events.order_by("at", "pk").values_list("kind", "to_stage__name"))
    assert kinds[0] == (Event.Kind.CREATED, "Request")
    assert kinds[-1] == (Event.Kind.DELIVERED, None)
    assert [s.team.name for s in Stage.objects.filter(workflow=workflow).order_by("position")] == [
        "Sales",
        "Finance",
        "Finance",
    ]
    assert DeliveredItemFact.objects.get(item=a).cycle_seconds == 23 * 3600


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_imported(tmp_path):
    log = tmp_path / "bad.csv"
    log.write_text(
        "case_id,activity,timestamp\n"
        "A,Request,2025-01-01T10:00:00+00:00\n"
        ",Ship,2025-01-02T10:00:00+00:00\n"
        "A,Ship,yesterday\n"
        "A,Ship\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 bad row"):
        call_command("import_events", str(log), workflow="Bad", stderr=err)
    assert [line.split(":")[1] for line in err.getvalue().splitlines()] == ["3", "4", "5"]
    assert "Case_id is empty" in err.getvalue()
    assert not Workflow.objects.filter(name="Bad").exists()
    assert WorkItem.objects.count() == 0


def test_a_missing_column_or_taken_name_is_refused(tmp_path, workflow):
    log = tmp_path / "log.csv"
    log.write_text("case,activity,timestamp\nA,B,2025-01-01T00:00:00Z\n")
    with pytest.raises(CommandError):
        call_command("import_events", str(log), workflow="X", stderr=io.StringIO())
    log.write_text("case_id,activity,timestamp\nA,B,2025-01-01T00:00:00Z\n")
    with pytest.raises(CommandError, match="already exists"):
        call_command("import_events", str(log), workflow=workflow.name, stderr=io.StringIO())
    assert Workflow.objects.count() == 1


def test_a_failure_half_way_leaves_nothing_behind(monkeypatch):
    def boom():
        raise RuntimeError("disk full")

    # The last step of the import, after items, events and facts are written.
    monkeypatch.setattr("scoreboard.board_cache.invalidate_on_commit", boom)
    with pytest.raises(RuntimeError):
        _import("case_id,activity,timestamp\nA,X,2025-01-01T00:00:00Z\nA,Y,2025-01-02T00:00:00Z\n")
    assert not Workflow.objects.exists()
    assert not Event.objects.exists()
    assert not DeliveredItemFact.objects.exists()


FACT_FIELDS = {
    DeliveredItemFact: ("item_id", "workflow_id", "requested_at", "delivered_at",
                        "delivered_on", "cycle_seconds", "working_seconds", "active_seconds",
                        "waiting_seconds", "blocked_seconds", "decision_seconds", "handoffs",
                        "bounces", "event_count", "last_event_id"),
    StageTimeFact: ("item_id", "stage_id", "workflow_id", "delivered_at", "total_seconds",
                    "working_seconds", "waiting_seconds", "blocked_seconds",
                    "decision_seconds"),
    HandoffFact: ("item_id", "from_stage_id", "to_stage_id", "workflow_id", "delivered_at",
                  "submissions", "bounces", "wait_seconds", "first_pass"),
}  # fmt: skip


def _facts():
    return {
        model: sorted(model.objects.values_list(*fields).order_by())
        for model, fields in FACT_FIELDS.items()
    }


def test_the_imported_facts_are_those_the_snapshot_derives_from_the_events():
    # Loops back to a stage, ties on time kept in file order, a one-event case, an
    # offset, and a stage that is not active: each a branch of the snapshot's SQL.
    parsed = parse_event_log(
        io.StringIO(
            "case_id,activity,timestamp\n"
            "A,Ask,2025-01-01T08:00:00Z\nA,Check,2025-01-01T09:30:00Z\n"
            "A,Ask,2025-01-02T10:00:00Z\nA,Check,2025-01-02T10:00:00Z\n"
            "A,Ship,2025-01-03T17:45:10+02:00\n"
            "B,Ask,2025-01-05T00:00:00Z\n"
            "C,Ask,2025-01-06T00:00:00Z\nC,Ship,2025-01-06T00:00:00.5Z\n"
        )
    )
    workflow = Workflow.objects.create(name="Facts")
    team = Team.objects.create(name="Imported", slug="imported")
    stages = {
        name: Stage.objects.create(
            workflow=workflow, name=name, position=position, team=team, kind=kind
        )
        for position, (name, kind) in enumerate(
            [("Ask", Stage.Kind.ACTIVE), ("Check", Stage.Kind.QUEUE), ("Ship", Stage.Kind.ACTIVE)]
        )
    }
    history_import(workflow=workflow, rows=parsed.rows, stages=stages)
    imported = _facts()
    assert len(imported[DeliveredItemFact]) == 3
    # A: Ask → Check (twice), Check → Ask, Check → Ship; C: Ask → Ship.
    assert len(imported[HandoffFact]) == 4
    rebuild_item_facts(WorkItem.objects.values_list("pk", flat=True))
    assert _facts() == imported


@needs_logs
def test_the_helpdesk_facts_are_those_the_snapshot_derives_from_the_events():
    call_command(
        "import_events", str(LOGS / "helpdesk.csv"), workflow="Helpdesk", stdout=io.StringIO()
    )
    imported = _facts()
    with connection.cursor() as cursor:  # as autovacuum would, before the snapshot's SQL
        cursor.execute("ANALYZE handoffs_workitem")
        cursor.execute("ANALYZE handoffs_event")
    rebuild_item_facts(WorkItem.objects.values_list("pk", flat=True))
    rebuilt = _facts()
    assert [len(rows) for rows in rebuilt.values()] == [len(rows) for rows in imported.values()]
    for model in FACT_FIELDS:
        for ours, theirs in zip(imported[model], rebuilt[model], strict=True):
            # Sums of seconds may add up in another order: equal to the last bits or so.
            assert [pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for v in ours] == [
                *theirs
            ]
