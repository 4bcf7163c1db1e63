"""Institution-level exports of an edition's returns: one row per institution, streamed.

Rows are produced a chunk of returns at a time (keyset pagination by institution code, one
answers query per chunk), so 100,000 returns export in bounded memory: CSV straight into a
StreamingHttpResponse, XLSX through openpyxl's write-only mode into a temporary file that is
then streamed. Every text cell is neutralised against formula injection. The layout is the
import layout (codes in row 1, # note rows with labels), so an export can be edited and
imported back.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator

from reporting.formula_safety import cell_neutralise, row_neutralise
from reporting.models import Answer, Edition, SurveyReturn
from reporting.spreadsheets.layout import (
    EDITION_NOTE,
    HINT_NOTE,
    INSTITUTION_CODE,
    LABEL_EN_NOTE,
    LABEL_ZH_NOTE,
    edition_items,
    item_hint,
    item_label,
)
from reporting.values import value_display

EXPORT_INFO_COLUMNS = ["institution_name", "province", "return_status", "return_version"]
CHUNK = 1000


def returns_export_rows(*, edition: Edition, statuses: list[str] | None = None,
                        chunk_size: int = CHUNK) -> Iterator[list]:
    """Header, note rows, then one row per return (ordered by institution code)."""
    items = edition_items(edition)
    blanks = [""] * len(EXPORT_INFO_COLUMNS)
    yield [INSTITUTION_CODE, *EXPORT_INFO_COLUMNS, *(item.code for item in items)]
    yield [EDITION_NOTE, edition.year, edition.title_zh, edition.title_en]
    yield [LABEL_ZH_NOTE, *blanks, *(item_label(item, "zh") for item in items)]
    yield [LABEL_EN_NOTE, *blanks, *(item_label(item, "en") for item in items)]
    yield [HINT_NOTE, *blanks, *(item_hint(item) for item in items)]
    position = {item.id: index for index, item in enumerate(items)}
    types = [item.type for item in items]
    returns = SurveyReturn.objects.filter(edition=edition).order_by("institution__code")
    if statuses:
        returns = returns.filter(status__in=statuses)
    last_code = None
    while True:
        page = returns if last_code is None else returns.filter(institution__code__gt=last_code)
        batch = list(page.values_list(
            "id", "institution__code", "institution__name", "institution__province_id", "status", "version"
        )[:chunk_size])
        if not batch:
            return
        values: dict[int, list] = {row[0]: [""] * len(items) for row in batch}
        for return_id, item_id, int_value, bool_value, text_value in Answer.objects.filter(
            survey_return_id__in=list(values)
        ).values_list("survey_return_id", "item_id", "int_value", "bool_value", "text_value"):
            index = position.get(item_id)
            if index is None:
                continue
            kind = types[index]
            value = int_value if kind == "integer" else bool_value if kind == "boolean" else text_value
            values[return_id][index] = value if kind == "integer" else value_display(value)
        for return_id, code, name, province, status, version in batch:
            yield row_neutralise([code, name, province, status, version]) + [
                cell_neutralise(value) for value in values[return_id]
            ]
        last_code = batch[-1][1]


class _Echo:
    def write(self, value):
        return value


def returns_export_csv_chunks(*, edition: Edition, statuses=None) -> Iterator[str]:
    """CSV text, a row at a time, UTF-8 with a byte-order mark so Excel opens Chinese correctly."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in returns_export_rows(edition=edition, statuses=statuses):
        yield writer.writerow(row)


def returns_export_xlsx_file(*, edition: Edition, statuses=None):
    """A temporary file (open, at position 0) holding the XLSX export, written in write-only mode."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("returns")
    from reporting.spreadsheets.workbooks import xlsx_safe

    for row in returns_export_rows(edition=edition, statuses=statuses):
        sheet.append([xlsx_safe(value) for value in row])
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle
