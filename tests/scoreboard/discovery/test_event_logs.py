"""Reading CSV and XES logs: lifecycle, ties, teams, gzip, and bad files named by their line."""

import gzip
import io
import json

import pytest
from django.core.management import CommandError, call_command

from scoreboard.discovery.counting import discover
from scoreboard.discovery.readers import read_event_log

XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <string key="concept:name" value="the log's own name"/>
  <trace>
    <string key="concept:name" value="A"/>
    <event>
      <string key="concept:name" value="Request"/>
      <string key="org:resource" value="ann"/>
      <string key="org:group" value="Sales"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2025-03-03T09:00:00+01:00"/>
      <string key="amount" value="1200"/>
    </event>
    <event>
      <string key="concept:name" value="Check"/>
      <string key="lifecycle:transition" value="schedule"/>
      <date key="time:timestamp" value="2025-03-03T09:30:00+01:00"/>
    </event>
    <event>
      <string key="concept:name" value="Check"/>
      <string key="org:resource" value="bob"/>
      <string key="org:group" value="Finance"/>
      <string key="lifecycle:transition" value="START"/>
      <date key="time:timestamp" value="2025-03-03T10:00:00+01:00"/>
    </event>
    <event>
      <string key="concept:name" value="Check"/>
      <string key="org:resource" value="bob"/>
      <string key="org:group" value="Finance"/>
      <string key="lifecycle:transition" value="COMPLETE"/>
      <date key="time:timestamp" value="2025-03-03T10:45:00+01:00"/>
      <list key="nested"><string key="concept:name" value="ignored"/></list>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="B"/>
    <event>
      <string key="concept:name" value="Request"/>
      <string key="org:resource" value="ann"/>
      <string key="org:group" value="Sales"/>
      <date key="time:timestamp" value="2025-03-03T08:00:00Z"/>
    </event>
    <event>
      <string key="concept:name" value="Ship"/>
      <string key="org:group" value="Fulfilment"/>
      <date key="time:timestamp" value="2025-03-03T09:00:00Z"/>
    </event>
  </trace>
</log>
"""

CSV = """case_id,activity,timestamp,resource,group,amount
A,Request,2025-03-03T09:00:00+01:00,ann,Sales,1200
A,Check,2025-03-03T10:45:00+01:00,bob,Finance,
B,Request,2025-03-03T08:00:00Z,ann,Sales,
B,Ship,2025-03-03T09:00:00+00:00,,Fulfilment,
"""


def _read(text):
    return read_event_log(io.BytesIO(text.encode()))


def test_complete_events_are_kept_starts_time_the_activity_and_others_are_dropped():
    log = _read(XES)
    assert [(e.case, e.activity) for e in log.events] == [
        ("A", "Request"),
        ("A", "Check"),
        ("B", "Request"),
        ("B", "Ship"),
    ]
    assert [(e.case, e.activity) for e in log.starts] == [("A", "Check")]
    assert log.dropped == {"schedule": 1}
    found = discover(log.events, starts=log.starts)
    check = next(a for a in found["activities"] if a["name"] == "Check")
    assert check["median_duration_seconds"] == 45 * 60
    assert check["team"] == "Finance"


def test_xes_and_csv_give_the_same_map_with_teams_and_what_travels():
    from_xes, from_csv = _read(XES), _read(CSV)
    assert discover(from_xes.events) == discover(from_csv.events)
    found = discover(from_csv.events)
    assert found["team_handover"] == [
        {
            "from": "Sales",
            "to": "Finance",
            "count": 1,
            "median_wait_seconds": 6300.0,
            "p85_wait_seconds": 6300.0,
        },
        {
            "from": "Sales",
            "to": "Fulfilment",
            "count": 1,
            "median_wait_seconds": 3600.0,
            "p85_wait_seconds": 3600.0,
        },
    ]
    # Ship has no resource: B has no resource handover, as pm4py drops such events.
    assert [(e["from"], e["to"]) for e in found["handover"]] == [("ann", "bob")]
    assert from_xes.events[0].attributes == ("amount",) == from_csv.events[0].attributes
    assert from_csv.events[1].attributes == ()


def test_equal_times_keep_the_order_of_the_file():
    log = _read(
        "case_id,activity,timestamp\n"
        "A,Second,2025-03-03T10:00:00Z\n"
        "A,First,2025-03-03T09:00:00Z\n"
        "A,Third,2025-03-03T10:00:00+00:00\n"
    )
    found = discover(log.events)
    assert [(e["from"], e["to"]) for e in found["dfg"]] == [
        ("First", "Second"),
        ("Second", "Third"),
    ]
    assert found["variants"] == [
        {"activities": ["First", "Second", "Third"], "count": 1, "share": 1.0}
    ]


def test_a_gzipped_log_reads_like_the_plain_one():
    packed = read_event_log(io.BytesIO(gzip.compress(XES.encode())))
    assert packed.events == _read(XES).events


@pytest.mark.parametrize("text", [XES, CSV])
def test_a_truncated_gzip_is_refused_not_crashed_on(text):
    packed = gzip.compress(text.encode() * 50)
    log = read_event_log(io.BytesIO(packed[: len(packed) // 2]))
    assert len(log.errors) == 1 and "cannot be read to its end" in log.errors[0][1]


def test_a_malformed_xes_is_refused_with_its_line(tmp_path):
    broken = XES.replace('<string key="org:resource" value="bob"/>\n', "<string key=bob/>\n", 1)
    path = tmp_path / "broken.xes"
    path.write_text(broken)
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was discovered"):
        call_command("discover_map", str(path), "--json", stderr=err, stdout=io.StringIO())
    line = broken.splitlines().index("      <string key=bob/>") + 1
    assert (
        err.getvalue() == f"{path}:{line}: Not well-formed XES: not well-formed (invalid token).\n"
    )


def test_an_xes_with_a_document_type_is_refused_before_entities_expand():
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<log>&b;</log>\n'
    )
    log = _read(bomb)
    assert log.errors == [
        (2, "Not accepted: a document type declaration (DTD) is not accepted in an event log.")
    ]
    assert not log.events


def test_an_event_without_a_timestamp_is_named_by_its_line():
    text = XES.replace('<date key="time:timestamp" value="2025-03-03T08:00:00Z"/>', "")
    log = _read(text)
    event_line = text.splitlines().index('    <string key="concept:name" value="B"/>') + 2
    assert log.errors == [(event_line, "No timestamp.")]


def test_bad_csv_rows_are_all_named_and_nothing_is_discovered(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(
        "case_id,activity,timestamp\nA,Request,yesterday\n,Check,2025-03-03T10:00:00Z\nA,x\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 problem"):
        call_command("discover_map", str(path), stderr=err, stdout=io.StringIO())
    assert err.getvalue().splitlines() == [
        f"{path}:2: Timestamp “yesterday” is not ISO-8601.",
        f"{path}:3: The case id is empty.",
        f"{path}:4: Expected 3 columns, found 2.",
    ]


def test_columns_can_be_named_and_a_team_column_adds_the_team_handover(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(
        "Deal,Step,When,Owner,Department\n"
        "D1,Won,2025-03-03T09:00:00Z,ann,Sales\n"
        "D1,Invoice,2025-03-03T11:00:00Z,cy,Finance\n"
    )
    out = io.StringIO()
    call_command(
        "discover_map", str(path), "--json", "--case-column=Deal", "--activity-column=Step",
        "--timestamp-column=When", "--resource-column=Owner", "--team-column=Department",
        stdout=out,
    )  # fmt: skip
    found = json.loads(out.getvalue())
    assert (found["cases"], found["events"]) == (1, 2)
    assert found["dfg"][0] == {
        "from": "Won",
        "to": "Invoice",
        "count": 1,
        "median_wait_seconds": 7200.0,
        "p85_wait_seconds": 7200.0,
    }
    assert [(e["from"], e["to"]) for e in found["team_handover"]] == [("Sales", "Finance")]
    without_teams = CSV.replace(",Sales", ",").replace(",Finance", ",").replace(",Fulfilment", ",")
    assert "team_handover" not in discover(_read(without_teams).events)


def test_a_log_past_the_event_limit_stops_with_one_error():
    log = read_event_log(io.BytesIO(CSV.encode()), max_events=3)
    assert log.errors == [(5, "More than 3 events: count this log with manage.py discover_map.")]
