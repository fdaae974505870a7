"""The CSV import parsed inside PostgreSQL (`event_log_import_csv`, what `import_events`
runs first) writes exactly what parse_event_log + event_log_import write, and leaves every
file it cannot take exactly as they do (a bad row, quoting…) to them, having written nothing."""

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from handoffs.models import Event, Workflow
from scoreboard.importer import (
    _RARE_SPACE_BYTES,
    _WHITESPACE,
    event_log_import,
    event_log_import_csv,
    parse_event_log,
)
from scoreboard.models import DeliveredItemFact, HandoffFact, StageTimeFact

pytestmark = pytest.mark.django_db
LOGS = Path(__file__).resolve().parents[3] / "shared" / "data" / "eventlogs"

HEADER = "case_id,activity,timestamp,resource,group\n"
PLAIN = HEADER + (
    "c1,Order,2024-03-01T09:00:00+01:00,ann,Sales\n"
    "c2,Order,2024-03-01T09:30:00Z,bob,Sales\n"
    "c1,Pack,2024-03-01T12:00:00.5+01:00,cat,Warehouse\n"
    "c1,Ship,2024-03-02 08:15,dan,Warehouse\n"
    "c2,Pack,2024-03-01T11:00:00.123456-02:30,cat,Warehouse\n"
    "c2,Ship,2024-03-01,dan,\n"
    "c3,Order,2024-03-05T10:00:00Z,ann,Sales\n"
    "c3,Pack,2024-03-05T10:00:00Z,,Warehouse\n"  # a tie: line order decides
    "c3,Ship,2024-03-06T10:00:00Z,dan,Warehouse\n"
)
VALID = {
    "plain": PLAIN,
    "crlf": PLAIN.replace("\n", "\r\n"),
    "bom and padded cells": "\ufeff"
    + PLAIN.replace(",Pack,", ", Pack ,").replace("c2,", "\u00a0c2 ,"),
    "blank rows": PLAIN + ",,,,\n" + "c4,Order,2024-03-07T10:00Z,ann,Sales\n",
    "lifecycle": (
        "Case_ID,Activity,Timestamp,Lifecycle\n"
        "a,Order,2024-03-01T09:00:00Z,start\n"
        "a,Order,2024-03-01T09:10:00Z,COMPLETE\n"
        "a,Ship,2024-03-02T09:00:00Z,\n"
        "b,Order,2024-03-01T10:00:00Z,complete\n"
        "b,Ship,2024-03-01T10:00:00Z,suspend\n"
        "b,Ship,2024-03-03T10:00:00Z,Complete\n"
    ),
    "no trailing newline": PLAIN.rstrip("\n"),
}
# Read only by parse_event_log: the database path declines them and writes nothing.
CAREFUL = {
    "quoted": PLAIN.replace("c3,Ship,", 'c3,"Ship, by road",'),
    "other ISO form": PLAIN.replace("2024-03-02 08:15", "20240302T0815"),
    "empty line": PLAIN.replace("c3,Order", "\nc3,Order"),
}
BAD = {
    "bad date": PLAIN.replace("2024-03-01T09:30:00Z", "2024-02-30T09:30:00Z"),
    "hour 24": PLAIN.replace("2024-03-01,dan", "2024-03-01T24:00,dan"),
    "second 60": PLAIN.replace("2024-03-01T09:30:00Z", "2024-03-01T09:30:60Z"),
    "not a date": PLAIN.replace("2024-03-01T09:30:00Z", "yesterday"),
    "missing case id": PLAIN.replace("c2,Pack", ",Pack"),
    "long activity": PLAIN.replace(",Ship,2024-03-06", f",{'x' * 101},2024-03-06"),
    "too early": PLAIN.replace("2024-03-05T10:00:00Z,ann", "1999-12-31T23:59:59Z,ann"),
    "in the future": PLAIN.replace("2024-03-05T10:00:00Z,ann", "2999-01-01T00:00:00Z,ann"),
    "short row": PLAIN.replace("c3,Pack,2024-03-05T10:00:00Z,,Warehouse", "c3,Pack"),
    "header only": HEADER,
    "missing column": "case_id,activity,resource\nc1,Order,ann\n",
}


def _history(workflow):
    """Everything the import wrote for the workflow, with ids replaced by names and order."""
    stages = {s.pk: s.name for s in workflow.stages.all()}
    stage_rows = [(s.name, s.position, s.team.name) for s in workflow.stages.order_by("position")]
    items = list(workflow.items.order_by("pk"))
    refs = {item.pk: item.external_ref for item in items}
    events = [
        (refs[e.item_id], e.kind, e.at, stages.get(e.from_stage_id), stages.get(e.to_stage_id),
         e.payload)
        for e in Event.objects.filter(item__workflow=workflow).order_by("pk")
    ]  # fmt: skip
    facts = {
        "item facts": sorted(
            (refs[f.item_id], f.requested_at, f.delivered_at, f.cycle_seconds, f.working_seconds,
             f.active_seconds, f.handoffs, f.event_count)
            for f in DeliveredItemFact.objects.filter(workflow=workflow)
        ),
        "stage facts": sorted(
            (refs[f.item_id], stages[f.stage_id], f.total_seconds, f.working_seconds)
            for f in StageTimeFact.objects.filter(workflow=workflow)
        ),
        "handoff facts": sorted(
            (refs[f.item_id], stages[f.from_stage_id], stages[f.to_stage_id], f.submissions)
            for f in HandoffFact.objects.filter(workflow=workflow)
        ),
    }  # fmt: skip
    last_events = {
        refs[f.item_id]: f.last_event_id
        for f in DeliveredItemFact.objects.filter(workflow=workflow)
    }
    delivered = {
        refs[e.item_id]: e.pk
        for e in Event.objects.filter(item__workflow=workflow, kind=Event.Kind.DELIVERED)
    }
    assert last_events == delivered
    return {
        "stages": stage_rows,
        "items": [
            (i.external_ref, i.title, i.requested_at, i.delivered_at, stages[i.stage_id], i.state)
            for i in items
        ],  # fmt: skip
        "events": events,
        **facts,
    }


@pytest.mark.parametrize("name", VALID)
def test_the_database_parse_writes_what_the_python_parse_writes(name):
    text = VALID[name]
    parsed = parse_event_log(io.StringIO(text.removeprefix("\ufeff")))
    assert parsed.is_valid, parsed.errors
    careful = event_log_import(parsed=parsed, workflow_name="Careful")

    done = event_log_import_csv(data=text.encode(), workflow_name="Fast")

    assert done is not None
    assert (done.events, done.naive_timestamps, done.dropped) == (
        len(parsed.rows), parsed.naive_timestamps, parsed.dropped)  # fmt: skip
    assert _history(done.workflow) == _history(careful)


@pytest.mark.parametrize("name", CAREFUL)
def test_files_only_python_reads_are_declined_and_imported_by_the_command(name, tmp_path):
    text = CAREFUL[name]
    assert event_log_import_csv(data=text.encode(), workflow_name="Fast") is None
    assert not Workflow.objects.exists()
    parsed = parse_event_log(io.StringIO(text))
    path = tmp_path / "log.csv"
    path.write_text(text)
    out = io.StringIO()

    call_command("import_events", str(path), workflow="Careful", stdout=out)

    assert f"{len(parsed.rows)} events" in out.getvalue()
    assert Workflow.objects.filter(name="Careful").exists()


@pytest.mark.parametrize("name", BAD)
def test_bad_files_write_nothing_and_the_command_names_each_bad_line(name, tmp_path):
    text = BAD[name]
    parsed = parse_event_log(io.StringIO(text))
    assert parsed.errors
    assert event_log_import_csv(data=text.encode(), workflow_name="Fast") is None
    path = tmp_path / "log.csv"
    path.write_text(text)
    err = io.StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_events", str(path), workflow="Bad", stderr=err, stdout=io.StringIO())

    assert err.getvalue().splitlines() == [
        f"{path}:{line}: {message}" for line, message in parsed.errors
    ]
    assert not Workflow.objects.exists()
    assert not Event.objects.exists()


def test_a_taken_name_is_reported_after_the_rows_are_checked():
    event_log_import_csv(data=PLAIN.encode(), workflow_name="Orders")
    with pytest.raises(ValidationError, match="already exists"):
        event_log_import_csv(data=PLAIN.encode(), workflow_name="orders")
    assert event_log_import_csv(data=BAD["bad date"].encode(), workflow_name="orders") is None
    assert Workflow.objects.count() == 1


def test_invalid_utf8_is_left_to_the_command_s_message(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(PLAIN.encode().replace(b"ann", b"\xff\xfe"))
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        call_command("import_events", str(path), workflow="Bad", stdout=io.StringIO())
    assert not Workflow.objects.exists()


@pytest.mark.skipif(not LOGS.exists(), reason=f"{LOGS} is not there")
def test_a_public_log_is_taken_by_the_database_and_matches_the_python_parse():
    data = (LOGS / "helpdesk.csv").read_bytes()
    parsed = parse_event_log(io.StringIO(data.decode("utf-8-sig")))
    careful = event_log_import(parsed=parsed, workflow_name="Careful")
    done = event_log_import_csv(data=data, workflow_name="Fast")
    assert done is not None
    assert _history(done.workflow) == _history(careful)


def test_the_database_trims_what_str_strip_trims():
    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == _WHITESPACE
    lead_bytes = {c.encode()[0] for c in _WHITESPACE if ord(c) > 127}
    assert lead_bytes <= set(_RARE_SPACE_BYTES)
    text = PLAIN.replace("c3,", "\u3000c3\u2029,").replace(",dan,", ",dan\t,")
    parsed = parse_event_log(io.StringIO(text))
    careful = event_log_import(parsed=parsed, workflow_name="Careful")
    done = event_log_import_csv(data=text.encode(), workflow_name="Fast")
    assert _history(done.workflow) == _history(careful)


def test_the_background_import_reads_a_declined_file_in_python_in_the_same_transaction(lead):
    from scoreboard.imports.services import import_run_pending, import_run_start

    run = import_run_start(by=lead, workflow_name="Careful", text=CAREFUL["empty line"])
    assert import_run_pending(run.pk) == "done"
    bad = import_run_start(by=lead, workflow_name="Bad", text=BAD["bad date"])
    assert import_run_pending(bad.pk) == "failed"

    bad.refresh_from_db()
    parsed = parse_event_log(io.StringIO(BAD["bad date"]))
    assert bad.errors == [f"Line {line}: {message}" for line, message in parsed.errors]
    assert list(Workflow.objects.values_list("name", flat=True)) == ["Careful"]
