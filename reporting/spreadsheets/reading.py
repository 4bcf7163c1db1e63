"""Reading an uploaded CSV or XLSX file into rows of cell values, defensively.

Uploaded files are hostile until proven otherwise. Before any XML of an XLSX file is
parsed we check the zip's directory (entry count, declared uncompressed sizes, compression
ratios), so a zip bomb is refused without being inflated; Python's zipfile never inflates a
member beyond its declared size, so the declared sizes are a real bound. Every XML part is
refused if it declares a DTD (no entity expansion tricks), small parts are size-capped, and
the first sheet is streamed row by row with the C XML parser (openpyxl's read-only loader
is pure Python and parses each sheet once more just to size it: seconds for a national
file), with bounded rows and columns. Merged cells are
refused (a merged range hides the values of all but one cell); formulas are refused with
the cell named (a cached result may be stale or missing, and we never evaluate one).

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

from reporting.formula_safety import text_is_formula
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
# Parts read whole (workbook, relationships, shared strings) rather than streamed.
MAX_PART_BYTES = 32 * 1024 * 1024

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
    """UTF-8 (with or without BOM), GB18030/GBK, or UTF-16 with a BOM (Excel's "Unicode
    text"); raise SpreadsheetInvalid otherwise."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _invalid(_("The file starts like UTF-16 text but is not valid UTF-16.")) from exc
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
    skip_first_line = False
    if first.lower().startswith("sep=") and len(first.strip()) == 5:
        # Excel's hint line ("sep=;") names the delimiter; it is not part of the table.
        delimiter, skip_first_line = first.strip()[4], True
    elif "," not in first:
        # Excel's "Unicode text" is tab-separated; some European locales use ;.
        if "\t" in first:
            delimiter = "\t"
        elif ";" in first:
            delimiter = ";"
    table = SheetTable(kind="csv", rows=iter(()), max_data_rows=max_data_rows)
    table.rows = _csv_rows(text, delimiter, table, skip_first_line)
    return table


def _csv_rows(text: str, delimiter: str, table: SheetTable, skip_first_line: bool = False) -> Iterator[tuple[int, list]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    max_columns = spreadsheet_cap("MAX_COLUMNS", MAX_COLUMNS)
    row_limit = table.max_data_rows + SPARE_ROWS
    row_number = 0
    try:
        for cells in reader:
            row_number += 1
            if skip_first_line and row_number == 1:
                continue
            if row_number > row_limit:
                table.problems.append(_too_many_rows(table.max_data_rows))
                return
            # Excel saves a formula's result in a CSV, never the formula: "=..." here (also
            # after spaces, a tab or a line break) is either a mistake or an injection
            # attempt, refused like a formula in a workbook.
            values = [
                (FormulaCell(cell) if text_is_formula(cell) else cell) if cell.strip() else None
                for cell in cells
            ]
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


_ELEMENT_START = re.compile(rb"<[A-Za-z_]")
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _prolog_check(archive: zipfile.ZipFile, member: str) -> None:
    """Refuse a DTD before the root element: no entity tricks reach the XML parser."""
    with archive.open(member) as stream:
        head = stream.read(65536)
    start = _ELEMENT_START.search(head)
    prolog = head[: start.start()] if start else head
    if start is None or b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise _invalid(_("The workbook is damaged or not an .xlsx file; it could not be read."))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sheet_rows(archive: zipfile.ZipFile, member: str, shared_strings) -> Iterator[tuple[int, dict[int, object]]]:
    """(row number, {column index: value}) straight from the sheet XML.

    openpyxl's own row reader goes through a pure-Python XML parser (several times slower
    for a 150,000-cell sheet); this uses the C parser, after _prolog_check ruled out DTDs.
    Only end events are asked for: a cell's children and a row's cells are complete then.
    """
    from xml.etree.ElementTree import iterparse

    row_number = 0
    cells: dict[int, object] = {}
    column = -1
    with archive.open(member) as stream:
        for _event, element in iterparse(stream, events=("end",)):
            tag = element.tag
            if tag.endswith("}c") or tag == "c":
                reference = element.get("r")
                match = _CELL_REF.match(reference) if reference else None
                column = _column_index(match.group(1)) if match else column + 1
                value = formula = None
                for child in element:
                    name = child.tag
                    if name.endswith("}v") or name == "v":
                        value = child.text
                    elif name.endswith("}f") or name == "f":
                        formula = child.text or ""
                    elif name.endswith("}is") or name == "is":
                        value = "".join(t.text or "" for t in child.iter() if _local(t.tag) == "t")
                if formula is not None:
                    value = FormulaCell("=" + formula if formula else _("(shared formula)"))
                elif value is not None:
                    kind = element.get("t")
                    if kind is None or kind == "n":
                        if value.isdigit():
                            value = int(value)
                        else:
                            try:
                                value = int(value) if value.lstrip("-").isdigit() else float(value)
                            except ValueError:
                                pass
                    elif kind == "s":
                        value = shared_strings[int(value)]
                    elif kind == "b":
                        value = value == "1"
                if value is not None:
                    cells[column] = value
                element.clear()
            elif tag.endswith("}row") or tag == "row":
                number = element.get("r")
                row_number = int(number) if number and number.isdigit() else row_number + 1
                yield row_number, cells
                cells, column = {}, -1
                element.clear()


_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL_NS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
               "http://purl.oclc.org/ooxml/officeDocument/relationships")


def _xml_root(archive: zipfile.ZipFile, member: str):
    """A small XML part of the package (workbook, relationships), parsed after the DTD check."""
    from xml.etree.ElementTree import fromstring

    if archive.getinfo(member).file_size > MAX_PART_BYTES:
        raise _invalid(_("The workbook is damaged or not an .xlsx file; it could not be read."))
    _prolog_check(archive, member)
    with archive.open(member) as stream:
        return fromstring(stream.read())


def _part_path(base: str, target: str) -> str:
    """A relationship target resolved against the folder of the part that names it."""
    if target.startswith("/"):
        return target.lstrip("/")
    folder = base.rsplit("/", 1)[0] if "/" in base else ""
    parts = [part for part in f"{folder}/{target}".split("/") if part and part != "."]
    resolved: list[str] = []
    for part in parts:
        if part == "..":
            if resolved:
                resolved.pop()
        else:
            resolved.append(part)
    return "/".join(resolved)


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """{relationship id: (type, target path)} of a part."""
    folder, name = part.rsplit("/", 1) if "/" in part else ("", part)
    rels = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    if rels not in archive.NameToInfo:
        return {}
    return {
        rel.get("Id"): (rel.get("Type", ""), _part_path(part, rel.get("Target", "")))
        for rel in _xml_root(archive, rels)
        if _local(rel.tag) == "Relationship"
    }


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, list[str]]:
    """(path of the workbook's first sheet, shared strings), read with the C XML parser.

    openpyxl's read-only loader parses every sheet once just to size it, through a
    pure-Python parser; for a large sheet that alone takes seconds.
    """
    package = _relationships(archive, "")  # _rels/.rels
    workbook_part = next(
        (target for kind, target in package.values() if kind.endswith("/officeDocument")), "xl/workbook.xml"
    )
    if workbook_part not in archive.NameToInfo:
        raise _invalid(_("This zip file is not an Excel workbook (.xlsx)."))
    relationships = _relationships(archive, workbook_part)
    sheet_part = None
    for element in _xml_root(archive, workbook_part).iter():
        if _local(element.tag) == "sheet":
            rel_id = next((element.get(f"{{{ns}}}id") for ns in _DOC_REL_NS if element.get(f"{{{ns}}}id")), None)
            kind, target = relationships.get(rel_id, ("", ""))
            if target in archive.NameToInfo and kind.endswith("/worksheet"):
                sheet_part = target
            break
    if sheet_part is None:
        raise _invalid(_("The workbook's first sheet is not a worksheet (or the workbook has no sheets)."))
    shared_strings: list[str] = []
    strings_part = next(
        (target for kind, target in relationships.values() if kind.endswith("/sharedStrings")), None
    )
    if strings_part and strings_part in archive.NameToInfo:
        for item in _xml_root(archive, strings_part):
            if _local(item.tag) != "si":
                continue
            # Rich text has several runs; phonetic guides (rPh) are not part of the text.
            texts = []
            for child in item:
                name = _local(child.tag)
                if name == "t":
                    texts.append(child.text or "")
                elif name == "r":
                    texts.extend(t.text or "" for t in child if _local(t.tag) == "t")
            shared_strings.append("".join(texts))
    return sheet_part, shared_strings


def _xlsx_open(content: bytes, max_data_rows: int) -> SheetTable:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    # A damaged header can claim a zip version or feature the zipfile module refuses to read.
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError) as exc:
        raise _invalid(_("The workbook is damaged: it cannot be unpacked.")) from exc
    _zip_check(archive)
    try:
        member, shared_strings = _first_sheet(archive)
        _prolog_check(archive, member)
        merged = _merged_ranges(archive, member)
    except SpreadsheetInvalid:
        raise
    except Exception as exc:  # malformed XML or zip parts; none may escape as a 500
        logger.info("unreadable workbook: %r", exc)
        raise _invalid(_("The workbook is damaged or not an .xlsx file; it could not be read.")) from exc
    if merged:
        raise SpreadsheetInvalid([
            SpreadsheetProblem(
                None, ref,
                _("Merged cells (%(ref)s) are not accepted: unmerge them so every value has its own cell.") % {"ref": ref},
            )
            for ref in merged
        ])
    table = SheetTable(kind="xlsx", rows=iter(()), max_data_rows=max_data_rows)
    table.rows = _xlsx_rows(archive, member, shared_strings, table)
    return table


def _xlsx_rows(archive, member, shared_strings, table: SheetTable) -> Iterator[tuple[int, list]]:
    max_columns = spreadsheet_cap("MAX_COLUMNS", MAX_COLUMNS)
    row_limit = table.max_data_rows + SPARE_ROWS
    row_number = 0
    try:
        for row_number, cells in _sheet_rows(archive, member, shared_strings):
            if not cells:
                continue
            if row_number > row_limit:
                table.problems.append(_too_many_rows(table.max_data_rows))
                return
            width = max(cells) + 1
            if width > max_columns:
                table.problems.append(_too_many_columns(row_number, max_columns))
                return
            values = [None] * width
            for index, value in cells.items():
                if isinstance(value, str):
                    value = (FormulaCell(value) if text_is_formula(value)
                             else value if value.strip() else None)
                values[index] = value
            values = _trim(values)
            if values:
                yield row_number, values
    except Exception as exc:  # malformed sheet XML surfaces while streaming
        logger.info("unreadable sheet: %r", exc)
        table.problems.append(
            SpreadsheetProblem(row_number + 1 if row_number else None, None,
                               _("The workbook is damaged: its first sheet could not be read."))
        )
    finally:
        archive.close()
