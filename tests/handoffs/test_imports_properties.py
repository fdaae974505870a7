"""Properties of the spreadsheet reader: whatever a CSV writer produces reads back the same."""

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from handoffs.work import sheets

header_names = (
    st.text(
        alphabet=st.characters(categories=["L", "N"], include_characters=" _-"),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)
cells = (
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
    .map(str.strip)
    .filter(lambda t: not t.startswith("'"))
)


@st.composite
def tables(draw):
    headers = draw(st.lists(header_names, min_size=1, max_size=5, unique_by=str.lower))
    rows = draw(
        st.lists(
            st.lists(cells, min_size=len(headers), max_size=len(headers)).filter(any),
            max_size=8,
        )
    )
    return headers, rows


@settings(max_examples=80, deadline=None)
@given(
    tables(), st.sampled_from([",", ";", "\t"]), st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
)
def test_any_written_table_reads_back_the_same(table, delimiter, quoting):
    headers, rows = table
    if len(headers) == 1:
        delimiter = ","  # one column: nothing tells the delimiter, so comma is assumed
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting)
    writer.writerow(headers)
    writer.writerows(rows)

    sheet = sheets.parse(buffer.getvalue().encode(), "upload.csv")

    assert sheet.headers == headers
    assert [cells for _, cells in sheet.rows] == rows


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_with_a_reason(content):
    try:
        sheet = sheets.parse(content, "upload.csv")
    except sheets.ImportProblem as problem:
        assert str(problem)
    else:
        assert sheet.headers and all(len(cells) >= len(sheet.headers) for _, cells in sheet.rows)


@settings(deadline=None)
@given(cells)
def test_formula_escaping_round_trips(text):
    safe = sheets.spreadsheet_safe(text)
    assert not safe.startswith(("=", "+", "@")) or safe == text
    assert sheets._cell_text(safe) == text
