"""Parsing the rows of a returns file into typed values per institution.

Only the file itself is checked here (header, item codes, cell values, duplicate rows);
institutions, permissions and the questionnaire's rules are checked by the import service.
Every problem is collected, placed by row and column, so one round of fixes is enough.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from reporting.models import Item, ItemType
from reporting.spreadsheets.layout import EDITION_NOTE, INFO_COLUMNS, INSTITUTION_CODE, NOTE_PREFIX
from reporting.spreadsheets.problems import SpreadsheetInvalid, SpreadsheetProblem, column_letter
from reporting.spreadsheets.reading import FormulaCell, SheetTable
from reporting.values import Value, ValueInvalid, value_parse

MAX_TEXT_LENGTH = 2000
# A file with thousands of errors is fixed in rounds anyway; the list stays readable.
MAX_PROBLEMS = 2000


@dataclass
class ParsedRow:
    row_number: int
    institution_code: str
    values: list[Value]  # aligned with ParsedFile.item_codes


@dataclass
class ParsedFile:
    item_codes: list[str] = field(default_factory=list)
    item_columns: list[str] = field(default_factory=list)  # "D (eq_pet_ct)", aligned
    rows: list[ParsedRow] = field(default_factory=list)
    problems: list[SpreadsheetProblem] = field(default_factory=list)
    problem_overflow: int = 0
    declared_edition: int | None = None

    def problem_add(self, row, column, message) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(SpreadsheetProblem(row, column, message))
        else:
            self.problem_overflow += 1

    def column_of(self, code: str) -> str:
        try:
            return self.item_columns[self.item_codes.index(code)]
        except ValueError:
            return code

    def raise_if_problems(self) -> None:
        if self.problems:
            problems = list(self.problems)
            if self.problem_overflow:
                problems.append(SpreadsheetProblem(
                    None, None,
                    _("… and %(count)s more problems not listed.") % {"count": self.problem_overflow},
                ))
            raise SpreadsheetInvalid(problems)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _institution_code(value) -> str:
    # Excel turns a numeric-looking code into a number (110001 -> 110001.0).
    if isinstance(value, FormulaCell):
        return ""
    return _text(value)


_EDITION_YEAR = re.compile(r"(\d{4})")


def _edition_refused(parsed: ParsedFile, row_number: int, cells: list, edition) -> bool:
    """Whether the #edition row declares another survey's template (the problem is then recorded)."""
    declared = _EDITION_YEAR.search(" ".join(_text(c) for c in cells[:3]))
    if not declared:
        return False
    parsed.declared_edition = int(declared.group(1))
    if parsed.declared_edition == edition.year:
        return False
    parsed.problem_add(row_number, "A", _(
        "This is the template of the %(declared)s survey, not of the %(year)s survey. "
        "Download the %(year)s template and copy the values into it."
    ) % {"declared": parsed.declared_edition, "year": edition.year})
    return True


def _rows_over_limit(parsed: ParsedFile, table: SheetTable, data_rows: int) -> bool:
    """Whether `data_rows` is past the table's limit (the problem is then recorded)."""
    if data_rows <= table.max_data_rows:
        return False
    parsed.problem_add(None, None, _("The file has more than %(limit)s data rows; split it into smaller files.")
                       % {"limit": f"{table.max_data_rows:,}"})
    return True


def returns_table_parse(table: SheetTable, *, edition, items: list[Item]) -> ParsedFile:
    """Parse every row of `table`; problems are collected in the result, never raised."""
    parsed = ParsedFile()
    items_by_code = {item.code: item for item in items}
    header: list | None = None
    columns: list[tuple[int, Item]] = []  # (cell index, item)
    ignored: set[int] = set()
    seen_codes: dict[str, int] = {}
    data_rows = 0

    for row_number, cells in table.rows:
        if not cells:
            continue  # empty rows are skipped
        first = _text(cells[0]) if cells else ""
        if first.startswith(NOTE_PREFIX):
            if first.lower().startswith(EDITION_NOTE) and _edition_refused(parsed, row_number, cells, edition):
                return parsed
            continue
        if header is None:
            header = [_text(cell) for cell in cells]
            from reporting.spreadsheets.long_layout import header_is_long, returns_long_table_parse

            if header_is_long(header):  # one item a row: a single institution's template
                return returns_long_table_parse(table, parsed=parsed, header=header, header_row=row_number,
                                                edition=edition, items=items)
            if not _header_check(parsed, row_number, header, items_by_code, edition, columns, ignored):
                return parsed
            continue
        data_rows += 1
        if _rows_over_limit(parsed, table, data_rows):
            return parsed
        _row_parse(parsed, row_number, cells, header, columns, ignored, seen_codes)

    parsed.problems[:0] = table.problems
    if header is None and not parsed.problems:
        parsed.problem_add(None, None, _(
            "No header row found: the first row must start with institution_code followed by item codes."
        ))
    elif header is not None and not parsed.rows and not parsed.problems:
        parsed.problem_add(None, None, _("The file has no data rows: add one row per institution below the header."))
    return parsed


def _header_check(parsed, row_number, header, items_by_code, edition, columns, ignored) -> bool:
    if header[0].lower() != INSTITUTION_CODE:
        parsed.problem_add(row_number, "A", _(
            "The first column must be headed institution_code (found “%(found)s”). "
            "Use the downloaded template, or put institution_code then item codes in the first row."
        ) % {"found": header[0]})
        return False
    seen: dict[str, str] = {}
    unknown = []
    for index, name in enumerate(header[1:], start=1):
        letter = column_letter(index)
        code = name.strip()
        if not code:
            ignored.add(index)  # an unlabelled column is fine while it stays empty
            continue
        key = code.lower()
        if key in seen:
            parsed.problem_add(row_number, f"{letter} ({code})", _(
                "Column %(code)s appears twice (first in column %(first)s)."
            ) % {"code": code, "first": seen[key]})
            continue
        seen[key] = letter
        if key in INFO_COLUMNS or key == INSTITUTION_CODE:
            ignored.add(index)
            continue
        item = items_by_code.get(code) or items_by_code.get(key)
        if item is None:
            unknown.append((letter, code))
            continue
        columns.append((index, item))
        parsed.item_codes.append(item.code)
        parsed.item_columns.append(f"{letter} ({item.code})")
    for letter, code in unknown:
        parsed.problem_add(row_number, f"{letter} ({code})", _(
            "“%(code)s” is not an item code of the %(year)s survey."
        ) % {"code": code, "year": edition.year})
    if not columns and not unknown:
        parsed.problem_add(row_number, None, _("The header names no item codes: nothing to import."))
    return not parsed.problems


def _row_parse(parsed, row_number, cells, header, columns, ignored, seen_codes) -> None:
    code = _institution_code(cells[0]) if cells else ""
    if isinstance(cells[0], FormulaCell):
        parsed.problem_add(row_number, "A (institution_code)", _formula_message(cells[0]))
    elif not code:
        parsed.problem_add(row_number, "A (institution_code)", _(
            "The institution code is missing; every row needs one."
        ))
    elif code in seen_codes:
        parsed.problem_add(row_number, "A (institution_code)", _(
            "Institution %(code)s appears again (first in row %(first)s); one row per institution."
        ) % {"code": code, "first": seen_codes[code]})
        code = ""
    else:
        seen_codes[code] = row_number
    width = len(header)
    for index in range(width, len(cells)):
        if cells[index] is not None:
            parsed.problem_add(row_number, column_letter(index), _(
                "This cell has a value but its column has no item code in the header."
            ))
    for index in ignored:
        if index < len(cells) and isinstance(cells[index], FormulaCell) and header[index] == "":
            parsed.problem_add(row_number, column_letter(index), _formula_message(cells[index]))
        elif index < len(cells) and cells[index] is not None and header[index] == "":
            parsed.problem_add(row_number, column_letter(index), _(
                "This cell has a value but its column has no item code in the header."
            ))
    values: list[Value] = []
    for position, (index, item) in enumerate(columns):
        raw = cells[index] if index < len(cells) else None
        value = None
        if isinstance(raw, FormulaCell):
            parsed.problem_add(row_number, parsed.item_columns[position], _formula_message(raw))
        else:
            try:
                value = value_parse(item, raw)
            except ValueInvalid as exc:
                parsed.problem_add(row_number, parsed.item_columns[position], str(exc))
            else:
                if item.type == ItemType.TEXT and value is not None:
                    value = str(value)
                    if len(value) > MAX_TEXT_LENGTH:
                        parsed.problem_add(row_number, parsed.item_columns[position], _(
                            "The text is longer than %(limit)s characters."
                        ) % {"limit": MAX_TEXT_LENGTH})
        values.append(value)
    if code:
        parsed.rows.append(ParsedRow(row_number=row_number, institution_code=code, values=values))


def _formula_message(cell: FormulaCell) -> str:
    return _(
        "The cell holds a formula (%(formula)s). Formulas are not read: copy the cells and "
        "paste them as values (Paste Special → Values), then upload again."
    ) % {"formula": str(cell)[:60]}
