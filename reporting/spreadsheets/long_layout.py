"""Reading a single institution's file laid out one item a row.

The layout (see ``reporting.spreadsheets.layout``): a header row starting with ``item_code``
and naming a ``value`` column; a row ``institution_code`` whose value is the institution's
code; then one row per item, its code in column A and its answer in the value column. ``#``
rows are notes (section headings, the ``#edition`` check) and ``institution_name`` (and the
other information columns of the wide layout) are ignored, as in the wide layout.

The result is the wide parser's ``ParsedFile`` with one row, so the import service checks
and writes it exactly as a one-row wide file: an item without a row is left as it is, an
item row with a blank answer makes the item unanswered.

Where a problem sits: a cell's own problem names its row and the value column
("row 17, column E (eq_pet_ct)"); a questionnaire rule names the answer's cell ("E17
(eq_pet_ct)") on the row of the institution code, where the return's row is.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from reporting.models import Item, ItemType
from reporting.spreadsheets.layout import (
    EDITION_NOTE,
    INFO_COLUMNS,
    INSTITUTION_CODE,
    ITEM_CODE,
    NOTE_PREFIX,
    VALUE,
)
from reporting.spreadsheets.parsing import (
    MAX_TEXT_LENGTH,
    ParsedFile,
    ParsedRow,
    _edition_refused,
    _formula_message,
    _institution_code,
    _rows_over_limit,
    _text,
)
from reporting.spreadsheets.problems import column_letter
from reporting.spreadsheets.reading import FormulaCell, SheetTable
from reporting.values import Value, ValueInvalid, value_parse


def header_is_long(header: list[str]) -> bool:
    """Whether a header row starts the one-item-a-row layout (the wide one starts institution_code)."""
    return bool(header) and header[0].strip().lower() == ITEM_CODE


def returns_long_table_parse(
    table: SheetTable, *, parsed: ParsedFile, header: list[str], header_row: int, edition, items: list[Item]
) -> ParsedFile:
    """Parse the rows after the header (`table.rows` continues after it); problems are
    collected in `parsed`, never raised."""
    names = [name.strip().lower() for name in header]
    if VALUE not in names:
        parsed.problem_add(header_row, None, _(
            "The header starts with item_code but has no value column: put value above the answers."
        ))
        parsed.problems[:0] = table.problems
        return parsed
    value_index = names.index(VALUE)
    letter = column_letter(value_index)
    items_by_code = {item.code: item for item in items}
    seen: dict[str, int] = {}  # item code -> its row
    values: list[Value] = []
    institution_code, institution_row = "", None
    cell_problems = False
    data_rows = 0

    for row_number, cells in table.rows:
        if not cells:
            continue
        first = _text(cells[0])
        raw = cells[value_index] if value_index < len(cells) else None
        if first.startswith(NOTE_PREFIX):
            if first.lower().startswith(EDITION_NOTE) and _edition_refused(parsed, row_number, cells, edition):
                return parsed
            continue
        data_rows += 1
        if _rows_over_limit(parsed, table, data_rows):
            return parsed
        key = first.lower()
        if not first:
            if raw is not None:
                parsed.problem_add(row_number, letter, _("This row has an answer but no item code in column A."))
                cell_problems = True
            continue
        if key == INSTITUTION_CODE:
            if institution_row is not None:
                parsed.problem_add(row_number, "A", _(
                    "The institution code is given twice (first in row %(first)s); the file is for one institution."
                ) % {"first": institution_row})
                cell_problems = True
            elif isinstance(raw, FormulaCell):
                parsed.problem_add(row_number, f"{letter} ({INSTITUTION_CODE})", _formula_message(raw))
                cell_problems = True
            else:
                institution_code, institution_row = _institution_code(raw), row_number
            continue
        if key in INFO_COLUMNS:
            continue
        item = items_by_code.get(first) or items_by_code.get(key)
        if item is None:
            parsed.problem_add(row_number, "A", _(
                "“%(code)s” is not an item code of the %(year)s survey."
            ) % {"code": first, "year": edition.year})
            cell_problems = True
            continue
        if item.code in seen:
            parsed.problem_add(row_number, "A", _(
                "Item %(code)s appears again (first in row %(first)s); one row per item."
            ) % {"code": item.code, "first": seen[item.code]})
            cell_problems = True
            continue
        seen[item.code] = row_number
        where = f"{letter} ({item.code})"
        value = None
        if isinstance(raw, FormulaCell):
            parsed.problem_add(row_number, where, _formula_message(raw))
            cell_problems = True
        else:
            try:
                value = value_parse(item, raw)
            except ValueInvalid as exc:
                parsed.problem_add(row_number, where, str(exc))
                cell_problems = True
            else:
                if item.type == ItemType.TEXT and value is not None:
                    value = str(value)
                    if len(value) > MAX_TEXT_LENGTH:
                        parsed.problem_add(row_number, where, _(
                            "The text is longer than %(limit)s characters."
                        ) % {"limit": MAX_TEXT_LENGTH})
                        cell_problems = True
        parsed.item_codes.append(item.code)
        parsed.item_columns.append(f"{letter}{row_number} ({item.code})")
        values.append(value)

    parsed.problems[:0] = table.problems
    if institution_row is None or not institution_code:
        parsed.problem_add(institution_row, letter if institution_row else None, _(
            "The institution code is missing: the row institution_code needs the code in its value column."
        ))
    elif not parsed.item_codes and not parsed.problems:
        parsed.problem_add(None, None, _("The file has no item rows: nothing to import."))
    # A return with unreadable answers is not run through the questionnaire's rules (they would
    # only repeat the problem), as a wide file's row with a bad cell is not.
    if institution_code and not cell_problems and not table.problems:
        parsed.rows.append(ParsedRow(row_number=institution_row, institution_code=institution_code, values=values))
    return parsed
