"""Reading an event-log CSV: every row problem's exact message and line, and what good rows give."""

import datetime
import io

import pytest

from scoreboard.importer import MAX_ERRORS, Row, parse_event_log

UTC = datetime.UTC
AT = "2025-01-01T10:00:00+00:00"
MOMENT = datetime.datetime(2025, 1, 1, 10, tzinfo=UTC)


def _parse(text):
    return parse_event_log(io.StringIO(text))


# (the file, its errors)
BAD_FILES = [
    ("", [(1, "The file is empty.")]),
    ("case_id,activity,timestamp\n", [(2, "The file has a header but no events.")]),
    ("case_id,activity,timestamp\n\n,,\n", [(2, "The file has a header but no events.")]),
    (
        "case,activity,when\nA,B,C\n",
        [(1, "Missing column(s): case_id, timestamp. Expected case_id,activity,timestamp.")],
    ),
    (
        f"case_id,activity,timestamp\nA,Ship\nA,Ship,{AT},x\n",
        [
            (2, "Expected 3 columns, found 2."),
            (3, "Expected 3 columns, found 4."),
        ],
    ),
    (f"case_id,activity,timestamp\n ,Ship,{AT}\n", [(2, "Case_id is empty.")]),
    (
        f"case_id,activity,timestamp\n{'c' * 121},Ship,{AT}\n",
        [
            (2, "Case_id is longer than 120 characters."),
        ],
    ),
    (f"case_id,activity,timestamp\nA,,{AT}\n", [(2, "Activity is empty.")]),
    (
        f"case_id,activity,timestamp\nA,{'a' * 101},{AT}\n",
        [
            (2, "Activity is longer than 100 characters."),
        ],
    ),
    (
        "case_id,activity,timestamp\nA,Ship,yesterday\n",
        [
            (2, "Timestamp “yesterday” is not ISO-8601."),
        ],
    ),
    (
        "case_id,activity,timestamp\n,,soon\n",
        [
            (2, "Case_id is empty; activity is empty; timestamp “soon” is not ISO-8601."),
        ],
    ),
    (f"case_id,activity,timestamp\nA,Ship,{AT}\n\nB,,{AT}\n", [(4, "Activity is empty.")]),
    (
        "case_id,activity,timestamp\nA,Ship,0001-01-01T00:00:00\nB,,1999-12-31T23:00:00Z\n",
        [
            (2, "Timestamp must be on or after 2000-01-01."),
            (3, "Activity is empty; timestamp must be on or after 2000-01-01."),
        ],
    ),
    (
        "case_id,activity,timestamp\nA,Ship,2999-01-01T00:00:00Z\n",
        [(2, "Timestamp cannot be more than a day in the future.")],
    ),
]


@pytest.mark.parametrize(("text", "errors"), BAD_FILES)
def test_a_bad_file_or_row_is_named_with_its_line(text, errors):
    parsed = _parse(text)

    assert parsed.errors == errors
    assert not parsed.is_valid


def test_good_rows_keep_their_line_and_optional_columns():
    parsed = _parse(
        "\ufeffCase_ID, Activity ,TIMESTAMP,Resource,group\n"
        f" A , Request ,{AT}, ada ,Sales\n"
        "\n"
        "A,Ship,2025-01-02T10:00:00,,\n"
    )

    assert parsed.errors == []
    assert parsed.rows == [
        Row(line=2, case_id="A", activity="Request", at=MOMENT, resource="ada", group="Sales"),
        Row(line=4, case_id="A", activity="Ship", at=MOMENT + datetime.timedelta(days=1)),
    ]
    assert parsed.naive_timestamps == 1


def test_without_optional_columns_resource_and_group_are_empty():
    parsed = _parse(f"timestamp,case_id,activity\n{AT},A,Request\n")

    assert parsed.rows == [Row(line=2, case_id="A", activity="Request", at=MOMENT)]
    assert parsed.naive_timestamps == 0


def test_offsets_are_kept():
    [row] = _parse("case_id,activity,timestamp\nA,B,2025-01-01T11:00:00+01:00\n").rows

    assert row.at == MOMENT and row.at.utcoffset() == datetime.timedelta(hours=1)


def test_errors_stop_being_collected_at_the_cap():
    parsed = _parse("case_id,activity,timestamp\n" + "A,B,never\n" * (MAX_ERRORS + 50))

    assert len(parsed.errors) == MAX_ERRORS
    assert parsed.errors[-1][0] == MAX_ERRORS + 1
