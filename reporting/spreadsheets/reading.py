"""Reading an uploaded CSV or XLSX file into rows of cell values, defensively.

Uploaded files are hostile until proven otherwise. Before openpyxl sees an XLSX file we
check the zip's directory (entry count, declared uncompressed sizes, compression ratios),
so a zip bomb is refused without being inflated; Python's zipfile never inflates a member
beyond its declared size, so the declared sizes are a real bound. The sheet is then read in
openpyxl's read-only (streaming) mode with bounded rows and columns. Merged cells are
refused (a merged range hides the values of all but one cell); formulas are refused with
the cell named (we cannot trust a cached result, and would not evaluate one).

CSV files are accepted as UTF-8 with or without a byte-order mark, or as GB18030 (a superset
of GBK, which is what Excel on Chinese Windows writes).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from reporting.spreadsheets.problems import SpreadsheetInvalid, SpreadsheetProblem, column_letter

logger = logging.getLogger(__name__)

# Caps; each can be overridden by a setting of the same name prefixed with SPREADSHEET_.
MAX_BYTES = 50 * 1024 * 1024
MAX_DATA_ROWS = 50_000
MAX_COLUMNS = 300
MAX_ZIP_ENTRIES = 500
MAX_UNCOMPRESSED_BYTES = 600 * 1024 * 1024
# Sheet XML of numbers compresses about 10-30 times; far beyond that is a bomb.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECK_FROM_BYTES = 1024 * 1024
# Note rows and blank rows above, between and below the data rows.
SPARE_ROWS = 1000

XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, .doc, ...
_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]{1,3}[0-9]{1,7}(?::[A-Z]{1,3}[0-9]{1,7})?)\"")


def spreadsheet_cap(name: str, default: int) -> int:
    return int(getattr(settings, f"SPREADSHEET_{name}", default))


@dataclass(frozen=True)
class FormulaCell:
    """A cell holding a formula: reported as a problem by the parser, never evaluated."""

    formula: str

    def __str__(self):
        return self.formula


@dataclass
class SheetTable:
    """The rows of the file's first sheet: (row number, [cell values]) in order.

    ``rows`` is a generator: reading stops at the row cap, so memory stays bounded. Cell
    values are str, int, float, bool, datetime, None or FormulaCell. Trailing empty cells
    are trimmed.
    """

    kind: str  # "csv" or "xlsx"
    rows: Iterator[tuple[int, list]]
    max_data_rows: int
    # Problems found while reading rows (e.g. the row cap), appended as rows are read.
    problems: list[SpreadsheetProblem] = field(default_factory=list)


def _invalid(message: str) -> SpreadsheetInvalid:
    return SpreadsheetInvalid([SpreadsheetProblem(None, None, message)])


def table_open(*, content: bytes, filename: str = "", max_bytes: int | None = None,
               max_data_rows: int | None = None) -> SheetTable:
    """Open an uploaded file; raise SpreadsheetInvalid with a clear message if it is unusable."""
    max_bytes = max_bytes or spreadsheet_cap("MAX_BYTES", MAX_BYTES)
    max_data_rows = max_data_rows or spreadsheet_cap("MAX_DATA_ROWS", MAX_DATA_ROWS)
    if len(content) > max_bytes:
        raise _invalid(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": f"{len(content) / 1024 / 1024:.1f}", "limit": f"{max_bytes / 1024 / 1024:.0f}"}
        )
    if not content.strip():
        raise _invalid(_("The file is empty."))
    if content.startswith(XLSX_MAGIC):
        return _xlsx_open(content, max_data_rows)
    if content.startswith(OLE2_MAGIC):
        raise _invalid(
            _("This is an old Excel 97-2003 (.xls) file. Save it as an Excel workbook (.xlsx) or CSV and upload that.")
        )
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise _invalid(_("The file is named .xlsx but is not an Excel workbook (it may be damaged)."))
    return _csv_open(content, max_data_rows)


# --- CSV -------------------------------------------------------------------------------


def csv_text_decode(content: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030/GBK; raise SpreadsheetInvalid otherwise."""
    if b"\x00" in content[:65536]:
        raise _invalid(_("This is not a spreadsheet: upload an Excel workbook (.xlsx) or a CSV file."))
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid(_("The CSV file starts like UTF-8 but is not valid UTF-8 text.")) from exc
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _invalid(
            _("This is not a spreadsheet we can read: a CSV file must be UTF-8 or GBK/GB18030 text; or upload an Excel workbook (.xlsx).")
        ) from exc


def _csv_open(content: bytes, max_data_rows: int) -> SheetTable:
    text = csv_text_decode(content)
    lines = text.splitlines()[:5]
    if not lines or not any(line.strip() for line in lines):
        raise _invalid(_("The file is empty."))
    delimiter = ","
    first = next(line for line in lines if line.strip())
    # Some European-locale exports use ; or tab; Excel in China writes commas.
    if "," not in first:
        if "\t" in first:
            delimiter = "\t"
        elif ";" in first:
            delimiter = ";"
    table = SheetTable(kind="csv", rows=iter(()), max_data_rows=max_data_rows)
    table.rows = _csv_rows(text, delimiter, table)
    return table


def _csv_rows(text: str, delimiter: str, table: SheetTable) -> Iterator[tuple[int, list]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    max_columns = spreadsheet_cap("MAX_COLUMNS", MAX_COLUMNS)
    row_limit = table.max_data_rows + SPARE_ROWS
    row_number = 0
    try:
        for cells in reader:
            row_number += 1
            if row_number > row_limit:
                table.problems.append(_too_many_rows(table.max_data_rows))
                return
            values = [cell if cell.strip() else None for cell in cells]
            if len(values) > max_columns and any(v is not None for v in values[max_columns:]):
                table.problems.append(_too_many_columns(row_number, max_columns))
                return
            yield row_number, _trim(values[:max_columns])
    except csv.Error as exc:
        table.problems.append(
            SpreadsheetProblem(row_number + 1, None, _("The CSV text is malformed (%(reason)s).") % {"reason": exc})
        )


def _trim(values: list) -> list:
    end = len(values)
    while end and values[end - 1] is None:
        end -= 1
    return values[:end]


def _too_many_rows(limit: int) -> SpreadsheetProblem:
    return SpreadsheetProblem(
        None, None, _("The file has more than %(limit)s rows; split it into smaller files.") % {"limit": f"{limit:,}"}
    )


def _too_many_columns(row: int, limit: int) -> SpreadsheetProblem:
    return SpreadsheetProblem(
        row, column_letter(limit), _("The sheet has more than %(limit)s columns.") % {"limit": limit}
    )


# --- XLSX ------------------------------------------------------------------------------


def _zip_check(archive: zipfile.ZipFile) -> None:
    entries = archive.infolist()
    if len(entries) > spreadsheet_cap("MAX_ZIP_ENTRIES", MAX_ZIP_ENTRIES):
        raise _invalid(_("The workbook has too many parts to be a survey template."))
    limit = spreadsheet_cap("MAX_UNCOMPRESSED_BYTES", MAX_UNCOMPRESSED_BYTES)
    total = 0
    for entry in entries:
        total += entry.file_size
        compressed = max(entry.compress_size, 1)
        if entry.file_size > RATIO_CHECK_FROM_BYTES and entry.file_size / compressed > MAX_COMPRESSION_RATIO:
            raise _invalid(
                _("The workbook unpacks to far more data than it holds (a “zip bomb”); it was not opened.")
            )
    if total > limit:
        raise _invalid(
            _("The workbook unpacks to %(size)s MB, more than the %(limit)s MB limit; it was not opened.")
            % {"size": f"{total / 1024 / 1024:.0f}", "limit": f"{limit / 1024 / 1024:.0f}"}
        )
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names and "[Content_Types].xml" not in names:
        raise _invalid(_("This zip file is not an Excel workbook (.xlsx)."))


def _merged_ranges(archive: zipfile.ZipFile, member: str, limit: int = 5) -> list[str]:
    """The first merged ranges of a sheet, found by streaming its XML (they sit at the end)."""
    found: list[str] = []
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(1024 * 1024):
            window = tail + chunk
            for match in _MERGE_REF.finditer(window):
                ref = match.group(1).decode()
                if ref not in found:
                    found.append(ref)
                if len(found) >= limit:
                    return found
            tail = window[-256:]
    return found


def _xlsx_open(content: bytes, max_data_rows: int) -> SheetTable:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _invalid(_("The workbook is damaged: it cannot be unpacked.")) from exc
    _zip_check(archive)
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=False, keep_links=False
        )
    except (InvalidFileException, zipfile.BadZipFile) as exc:
        raise _invalid(_("This is not an Excel workbook (.xlsx) we can read.")) from exc
    except Exception as exc:  # openpyxl raises many kinds on malformed XML; none may escape as a 500
        logger.info("unreadable workbook: %r", exc)
        raise _invalid(_("The workbook is damaged or not an .xlsx file; it could not be read.")) from exc
    if not workbook.worksheets:
        raise _invalid(_("The workbook has no sheets."))
    sheet = workbook.worksheets[0]
    member = getattr(sheet, "_worksheet_path", None)
    if member:
        try:
            merged = _merged_ranges(archive, member)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _invalid(_("The workbook is damaged: its first sheet cannot be read.")) from exc
        if merged:
            raise SpreadsheetInvalid([
                SpreadsheetProblem(
                    None, ref,
                    _("Merged cells (%(ref)s) are not accepted: unmerge them so every value has its own cell.") % {"ref": ref},
                )
                for ref in merged
            ])
    table = SheetTable(kind="xlsx", rows=iter(()), max_data_rows=max_data_rows)
    table.rows = _xlsx_rows(workbook, sheet, table)
    return table


def _xlsx_rows(workbook, sheet, table: SheetTable) -> Iterator[tuple[int, list]]:
    max_columns = spreadsheet_cap("MAX_COLUMNS", MAX_COLUMNS)
    row_limit = table.max_data_rows + SPARE_ROWS
    row_number = 0
    try:
        # Bounded on both axes: a sheet claiming a million rows or 16,384 columns is cut off.
        for cells in sheet.iter_rows(max_row=row_limit + 1, max_col=max_columns + 1):
            row_number += 1
            values = []
            for cell in cells:
                value = cell.value
                if cell.data_type == "f" and value is not None:
                    value = FormulaCell(str(value))
                elif isinstance(value, str) and not value.strip():
                    value = None
                values.append(value)
            values = _trim(values)
            if not values:
                continue
            if row_number > row_limit:
                table.problems.append(_too_many_rows(table.max_data_rows))
                return
            if len(values) > max_columns:
                table.problems.append(_too_many_columns(row_number, max_columns))
                return
            yield row_number, values
    except Exception as exc:  # malformed sheet XML surfaces while streaming
        logger.info("unreadable sheet: %r", exc)
        table.problems.append(
            SpreadsheetProblem(row_number + 1 if row_number else None, None,
                               _("The workbook is damaged: its first sheet could not be read."))
        )
    finally:
        workbook.close()
