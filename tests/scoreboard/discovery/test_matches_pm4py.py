"""Discovery on the two real public logs counts exactly what pm4py counts.

pm4py_reference.json was computed once with pm4py 2.7.23.11 (`_meta` says how); the
handover figures are also checked against the shared expected.json.
"""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

LOGS = Path(__file__).resolve().parents[4] / "shared" / "data" / "eventlogs"
EXPECTED = json.loads((LOGS / "expected.json").read_text()) if LOGS.exists() else {}
REFERENCE = json.loads((Path(__file__).with_name("pm4py_reference.json")).read_text())
needs_logs = pytest.mark.skipif(not LOGS.exists(), reason=f"{LOGS} is not there")


def discover_map(path, *args):
    out = io.StringIO()
    call_command("discover_map", str(path), "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def _counts(edges):
    return [{"from": e["from"], "to": e["to"], "count": e["count"]} for e in edges]


@pytest.fixture(scope="module", params=["helpdesk", "bpic2012"])
def both_routes(request):
    name = request.param
    return name, discover_map(LOGS / f"{name}.csv"), discover_map(LOGS / f"{name}.xes.gz")


@needs_logs
def test_dfg_start_and_end_equal_pm4pys_on_the_real_logs(both_routes):
    name, from_csv, _ = both_routes
    reference = REFERENCE[name]
    assert _counts(from_csv["dfg"]) == reference["dfg"]
    assert from_csv["start"] == reference["start"]
    assert from_csv["end"] == reference["end"]
    expected = EXPECTED[f"{name}.xes.gz"]
    assert (from_csv["cases"], from_csv["events"]) == (
        expected["num_cases"],
        expected["num_events"],
    )
    assert from_csv["variant_count"] == expected["num_variants"]


@needs_logs
def test_resource_handover_equals_pm4pys_handover_of_work(both_routes):
    name, from_csv, _ = both_routes
    handover = from_csv["handover"]
    assert _counts(handover) == REFERENCE[name]["handover"]
    expected = EXPECTED[f"{name}.xes.gz"]["handover_of_work"]
    assert sum(e["count"] for e in handover) == expected["total_handover_pairs"]
    assert len(handover) == expected["distinct_pairs"]
    top = [{"from": e["from"], "to": e["to"], "count": e["count"]} for e in handover[:5]]
    assert top == [
        {k: e[k] for k in ("from", "to", "count")} for e in expected["top5_including_self"]
    ]
    others = [e for e in _counts(handover) if e["from"] != e["to"]][:5]
    assert others == [
        {k: e[k] for k in ("from", "to", "count")} for e in expected["top5_excluding_self"]
    ]


@needs_logs
def test_the_xes_and_the_csv_export_give_the_same_map(both_routes):
    name, from_csv, from_xes = both_routes
    # The CSV keeps only `complete` events; the XES's `start` events add activity durations.
    # The XES carries attributes the CSV export left out; names, counts and teams agree.
    keys = ("name", "count", "team")
    plain = [{k: a[k] for k in keys} for a in from_xes["activities"]]
    assert plain == [{k: a[k] for k in keys} for a in from_csv["activities"]]
    assert {**from_xes, "activities": None} == {**from_csv, "activities": None}
    timed = [a for a in from_xes["activities"] if "median_duration_seconds" in a]
    assert bool(timed) == (name == "bpic2012")


@needs_logs
@pytest.mark.parametrize("name", ["helpdesk", "bpic2012"])
def test_renamed_columns_give_the_same_map_through_the_options_import_events_shares(name, tmp_path):
    from tests.scoreboard.test_import import RENAMED_OPTIONS, renamed_copy

    renamed = renamed_copy(LOGS / f"{name}.csv", tmp_path / "export.csv")
    found = discover_map(renamed, *RENAMED_OPTIONS)
    assert _counts(found["dfg"]) == REFERENCE[name]["dfg"]
    assert _counts(found["handover"]) == REFERENCE[name]["handover"]
    assert found == discover_map(LOGS / f"{name}.csv")
