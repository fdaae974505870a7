"""Reading a spreadsheet upload (CSV or XLSX) into a header and rows, within bounds on what
a file may cost, before any of it is mapped or validated (imports.py)."""

import csv
import datetime
import io
import time
import zipfile
from dataclasses import dataclass

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
# What a file may cost to read, whatever it claims: rows read (empty ones included: a
# workbook can claim 10 M empty rows in 600 KB), named columns, seconds, and for XLSX the
# unpacked size and compression ratio of its members, checked before openpyxl opens it.
# A real 10,000 × 50 sheet unpacks to ≈ 24 MB at a ratio of ≈ 15; deflate tops out near 1,000.
MAX_ROWS_READ = 50_000
MAX_COLUMNS = 200
MAX_PARSE_SECONDS = 15
MAX_UNPACKED_BYTES = 32 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ZIP_MEMBERS = 1_000
MAX_ERRORS_SHOWN = 500


class ImportProblem(Exception):
    """The file as a whole cannot be read (size, format, header, row count)."""


# --- Reading ------------------------------------------------------------------------------------


@dataclass
class Sheet:
    headers: list
    rows: list  # [(line number, [cell text, …])]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_safe(text):
    """Text a spreadsheet will not run as a formula: a leading ' (undone on import)."""
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _unescape(text):
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        # Excel has no date-only cells: a date is a date-time at midnight.
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _unescape(str(value).strip())


def _check_header(headers):
    headers = [h.strip() for h in headers]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise ImportProblem("The first row must name the columns.")
    blank = [str(i + 1) for i, h in enumerate(headers) if not h]
    if blank:
        raise ImportProblem(f"Column {', '.join(blank)} has no name in the first row.")
    seen = set()
    for header in headers:
        if header.lower() in seen:
            raise ImportProblem(f"Two columns are called “{header}”.")
        seen.add(header.lower())
    return headers


def _collect(header_row, data_rows):
    """The sheet from its header and (line, cells) rows, refused once it reads more rows
    (empty ones included) or takes longer than a real import can."""
    headers = _check_header([_cell_text(h) for h in header_row])
    if len(headers) > MAX_COLUMNS:
        raise ImportProblem(f"The first row names more than {MAX_COLUMNS} columns.")
    deadline = time.monotonic() + MAX_PARSE_SECONDS
    rows = []
    for read, (line, cells) in enumerate(data_rows, start=1):
        if read > MAX_ROWS_READ:
            raise ImportProblem(
                f"The file has more than {MAX_ROWS_READ:,} rows, empty ones included; "
                "delete the empty rows below the data, or save it as CSV."
            )
        if read % 256 == 0 and time.monotonic() > deadline:
            raise ImportProblem("The file takes too long to read; split it or save it as CSV.")
        # Cells right of the last named column cannot be mapped: not read at all.
        cells = [_cell_text(c) for c in cells[: len(headers)]]
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportProblem(f"The file has more than {MAX_ROWS:,} rows; split it.")
        rows.append((line, cells + [""] * (len(headers) - len(cells))))
    return Sheet(headers=headers, rows=rows)


def _delimiter(text):
    """Comma, semicolon (European Excel) or tab: whichever splits the header row most.

    Only the header is read: cells may hold any punctuation, column names rarely do.
    """
    first = text.splitlines()[0] if text else ""
    counts = {}
    for delimiter in ",;\t":
        try:
            counts[delimiter] = len(next(csv.reader([first], delimiter=delimiter), []))
        except csv.Error:
            counts[delimiter] = 0
    return max(counts, key=lambda d: (counts[d], d == ","))


def parse_csv(content):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportProblem("The file is empty.")
        return _collect(header, ((reader.line_num, row) for row in reader))
    except csv.Error as exc:
        raise ImportProblem(f"Line {reader.line_num}: not valid CSV ({exc}).") from None


def _check_archive(content):
    """Refuses a zip whose members unpack to more than a sheet can need, before any XML is
    read: the sizes come from the zip's directory, and zipfile stops at the stated size."""
    try:
        members = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ImportProblem(f"Not a readable XLSX workbook ({exc}).") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise ImportProblem(f"The workbook holds more than {MAX_ZIP_MEMBERS:,} parts.")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportProblem(
            f"The workbook unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB; "
            "delete the empty rows and unused sheets, or save it as CSV."
        )
    for member in members:
        if member.file_size > 1024 * 1024 and (
            member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise ImportProblem(
                f"The workbook's part {member.filename} is compressed more than "
                f"{MAX_COMPRESSION_RATIO}:1, which no real sheet is; save it as CSV."
            )


def parse_xlsx(content):
    from openpyxl import load_workbook

    _check_archive(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportProblem(f"Not a readable XLSX workbook ({exc}).") from None
    try:
        sheet = workbook.active
        # The stated dimension (e.g. A1:B99999999) is the file's claim, not its content.
        sheet.reset_dimensions()
        header = next(sheet.iter_rows(max_row=1, values_only=True), None)
        if header is None:
            raise ImportProblem("The first sheet is empty.")
        width = max((i + 1 for i, cell in enumerate(header) if _cell_text(cell)), default=1)
        if width > MAX_COLUMNS:
            raise ImportProblem(f"The first row names more than {MAX_COLUMNS} columns.")
        rows = sheet.iter_rows(min_row=2, max_col=width, values_only=True)
        return _collect(header[:width], enumerate(rows, start=2))
    except (KeyError, ValueError, OSError, SyntaxError, zipfile.BadZipFile) as exc:
        raise ImportProblem(f"Not a readable XLSX workbook ({exc}).") from None
    finally:
        workbook.close()


def parse(content, filename):
    if len(content) > MAX_BYTES:
        raise ImportProblem(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if filename.lower().endswith(".xlsx") or content[:4] == b"PK\x03\x04":
        return parse_xlsx(content)
    return parse_csv(content)
