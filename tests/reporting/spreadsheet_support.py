"""Building returns files for the spreadsheet tests (CSV bytes, XLSX bytes)."""

import csv
import io

from openpyxl import Workbook

from reporting.values import value_display
from tests.reporting.entry_support import clean_values


def csv_bytes(rows, encoding="utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows, *, formulas=(), merge=None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    for ref, formula in formulas:
        sheet[ref] = formula
    if merge:
        sheet.merge_cells(merge)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def returns_rows(edition, institutions, values=None) -> list[list]:
    """Header plus one clean row per institution (values as people type them)."""
    values = values or clean_values(edition)
    codes = sorted(values)
    rows = [["institution_code", *codes]]
    for institution in institutions:
        rows.append([institution.code, *(value_display(values[code]) for code in codes)])
    return rows
