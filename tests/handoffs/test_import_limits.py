"""Spreadsheet import: a hostile file is refused by what it would cost to read, before any
work is done for someone who may not import at all, and nothing is created."""

import functools
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from handoffs.models import ImportBatch, WorkItem
from handoffs.work import sheets

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_HEADER_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>Title</t></is></c></row>'


def _order(line):
    return f'<row r="{line}"><c r="A{line}" t="inlineStr"><is><t>Order {line}</t></is></c></row>'


def hostile_workbook(rows, dimension="A1:B99999999", padding=0):
    """An XLSX written by hand, as an attacker would: rows is an iterable of <row> XML
    chunks; the sheet claims `dimension` whatever it holds."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                + f'<dimension ref="{dimension}"/>'.encode()
                + b" " * padding
                + b"<sheetData>"
            )
            for chunk in rows:
                sheet.write(chunk.encode())
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def _empty_rows(first, count, batch=10_000):
    for start in range(first, first + count, batch):
        yield "".join(f'<row r="{n}"/>' for n in range(start, min(start + batch, first + count)))


@functools.cache
def empty_row_bomb():
    """Ten million empty rows: 60 MB of XML in a file of a few hundred KB."""
    return hostile_workbook([_HEADER_ROW, *(["<row/>" * 10_000] * 1_000)])


def test_a_claimed_dimension_is_not_read_as_rows():
    content = hostile_workbook([_HEADER_ROW, _order(2), _order(3)])

    sheet = sheets.parse(content, "orders.xlsx")

    assert sheet.headers == ["Title"]
    assert sheet.rows == [(2, ["Order 2"]), (3, ["Order 3"])]


@pytest.mark.parametrize(
    ("rows", "padding", "message"),
    [
        (None, 0, "unpacks to more than 32 MB"),
        # Few bytes, but a jump to row 99,999,999 that a reader fills with empty rows.
        ([_HEADER_ROW, _order(2), _order(99_999_999)], 0, "more than 50,000 rows"),
        # Empty rows that fit in the size limit still count as rows read.
        ([_HEADER_ROW, *_empty_rows(2, 60_000), _order(60_002)], 0, "empty ones included"),
        # Padding that deflate shrinks a thousandfold: no real sheet compresses like that.
        ([_HEADER_ROW, _order(2)], 8 * 1024 * 1024, "compressed more than 100:1"),
        (
            ['<row r="1"><c r="KZ1" t="inlineStr"><is><t>Far</t></is></c></row>', _order(2)],
            0,
            "more than 200 columns",
        ),
    ],
    ids=["empty-row-bomb", "row-jump", "empty-rows", "compression-ratio", "wide"],
)
def test_a_hostile_workbook_is_refused_by_what_it_would_cost(rows, padding, message):
    content = empty_row_bomb() if rows is None else hostile_workbook(rows, padding=padding)
    assert len(content) < sheets.MAX_BYTES

    with pytest.raises(sheets.ImportProblem, match=message):
        sheets.parse(content, "orders.xlsx")


def test_a_workbook_declaring_xml_entities_is_refused():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n else "&lol;" * 10}">' for n in range(9)
        )
        + "]>"
    )
    content = hostile_workbook([_HEADER_ROW, _order(2)])
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = laughs + sheet.removeprefix('<?xml version="1.0" encoding="UTF-8"?>')
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("Order 2", "&lol8;").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)

    with pytest.raises(sheets.ImportProblem, match="Not a readable XLSX"):
        sheets.parse(buffer.getvalue(), "orders.xlsx")


def test_a_csv_of_empty_lines_is_refused_by_rows_read():
    content = b"Title\n" + b",\n" * (sheets.MAX_ROWS_READ + 1)

    with pytest.raises(sheets.ImportProblem, match="empty ones included"):
        sheets.parse(content, "orders.csv")


def test_cells_right_of_the_named_columns_are_not_read():
    sheet = sheets.parse(b"Title,Ref\nOrder,R1,extra,more\n,,only extra\n", "orders.csv")

    assert sheet.rows == [(2, ["Order", "R1"])]


def _upload(client, workflow, content, name):
    return client.post(
        "/work/import/",
        {"workflow": workflow.pk, "file": SimpleUploadedFile(name, content)},
    )


def test_the_upload_page_refuses_an_empty_row_bomb_with_a_400_and_creates_nothing(
    client, workflow, teams
):
    client.force_login(teams["sales"].lead)
    response = _upload(client, workflow, empty_row_bomb(), "orders.xlsx")

    assert response.status_code == 400
    assert "unpacks to more than 32 MB" in response.content.decode()
    assert not ImportBatch.objects.exists() and not WorkItem.objects.exists()


def test_a_member_who_may_not_import_is_refused_before_the_file_is_read(client, workflow, member):
    client.force_login(member)
    unreadable = b"PK\x03\x04 not a workbook at all"

    response = _upload(client, workflow, unreadable, "orders.xlsx")

    page = response.content.decode()
    assert response.status_code == 400
    assert "leads and admins import into it" in page
    # The file was never opened: reading it would have named it unreadable.
    assert "Not a readable XLSX" not in page
    assert not ImportBatch.objects.exists()


def test_reading_stops_once_its_time_is_up(monkeypatch):
    monkeypatch.setattr(sheets, "MAX_PARSE_SECONDS", 0)
    content = b"Title\n" + b"Order\n" * 300

    with pytest.raises(sheets.ImportProblem, match="takes too long to read"):
        sheets.parse(content, "orders.csv")
