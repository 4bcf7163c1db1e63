"""Exports: an edition's returns (one row per institution, streamed) and its national figures.

Returns: rows are produced a page of 1,000 returns at a time (keyset pagination by institution
code; on PostgreSQL one query a page, each return's answers already gathered into arrays), so
100,000 returns export in bounded memory: CSV straight into a StreamingHttpResponse, XLSX
through openpyxl's write-only mode into a temporary file that is then streamed; the export
jobs (``export_jobs.py``) write the same pages. Every text cell is neutralised against formula
injection. The layout is the
import layout (codes in row 1, # note rows with labels), so an export can be edited and
imported back.

Figures (the report page's downloads and ``export_figures``): the contract columns first,
then names and the printed value for people; see ``FIGURE_COLUMNS``.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

from institutions.models import Institution, Province
from reporting.formula_safety import cell_neutralise, row_neutralise
from reporting.models import Answer, Breakdown, Edition, Indicator, Item, ItemType, SurveyReturn
from reporting.selectors_report import figure_export_rows, figure_rounded, value_number, value_plain
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
# A data row: the institution's code, the information columns, then the items in questionnaire order.
FIRST_ITEM_COLUMN = 1 + len(EXPORT_INFO_COLUMNS)


def returns_export_heading(*, edition: Edition, items: list[Item]) -> list[list]:
    """The header row (codes) and the note rows: edition, labels in Chinese and English, hints."""
    blanks = [""] * len(EXPORT_INFO_COLUMNS)
    return [
        [INSTITUTION_CODE, *EXPORT_INFO_COLUMNS, *(item.code for item in items)],
        [EDITION_NOTE, edition.year, edition.title_zh, edition.title_en],
        [LABEL_ZH_NOTE, *blanks, *(item_label(item, "zh") for item in items)],
        [LABEL_EN_NOTE, *blanks, *(item_label(item, "en") for item in items)],
        [HINT_NOTE, *blanks, *(item_hint(item) for item in items)],
    ]


def returns_export_pages(*, edition: Edition, items: list[Item], statuses: list[str] | None = None,
                         chunk_size: int = CHUNK) -> Iterator[list[list]]:
    """One row per return, ordered by institution code, in lists of up to `chunk_size` rows
    (one query each on PostgreSQL): code and information neutralised, then the answer to each
    of `items` (integers as numbers, yes/no, choice codes and text neutralised; '' unanswered)."""
    pages = _pages_postgresql if connection.vendor == "postgresql" else _pages_portable
    return pages(edition=edition, items=items, statuses=statuses, chunk_size=chunk_size)


def returns_export_rows(*, edition: Edition, statuses: list[str] | None = None,
                        chunk_size: int = CHUNK) -> Iterator[list]:
    """Header, note rows, then one row per return (ordered by institution code)."""
    for rows in returns_export_row_pages(edition=edition, statuses=statuses, chunk_size=chunk_size):
        yield from rows


def returns_export_row_pages(*, edition: Edition, statuses: list[str] | None = None,
                             chunk_size: int = CHUNK) -> Iterator[list[list]]:
    """The rows of `returns_export_rows` a list at a time: the heading, then pages of returns."""
    items = edition_items(edition)
    yield returns_export_heading(edition=edition, items=items)
    yield from returns_export_pages(edition=edition, items=items, statuses=statuses, chunk_size=chunk_size)


def _text_neutralised(text: str) -> str:
    # Most cells start with a letter, a digit or a Chinese character: cell_neutralise would
    # return them unchanged, after a few calls; this skips the calls.
    return text if not text or text[0].isalnum() else cell_neutralise(text)


# Per return, its answers as arrays of (cell position, value): whole numbers as numbers, every
# other value as the text the export shows (value_display's, yes/no passed in). The page of
# returns is a CTE so each return's answers are read once it is in the page (by the unique
# (return, item) index), and the item list is materialised so its hash is built once.
_PAGE_SQL = """
WITH page AS (
    SELECT r.id, i.code, i.name, i.province_id, r.status, r.version
    FROM {returns} r JOIN {institutions} i ON i.id = r.institution_id
    WHERE r.edition_id = %(edition)s{filters}
    ORDER BY i.code
    LIMIT %(limit)s
), cells AS MATERIALIZED (
    SELECT item_id, kind, (ordinality + %(first)s - 1)::int AS position
    FROM unnest(%(item_ids)s::bigint[], %(kinds)s::text[]) WITH ORDINALITY AS c(item_id, kind, ordinality)
)
SELECT p.code, p.name, p.province_id, p.status, p.version,
       v.integer_positions, v.integers, v.text_positions, v.texts
FROM page p LEFT JOIN LATERAL (
    SELECT array_agg(c.position) FILTER (WHERE c.kind = %(integer)s) AS integer_positions,
           array_agg(a.int_value) FILTER (WHERE c.kind = %(integer)s) AS integers,
           array_agg(c.position) FILTER (WHERE c.kind <> %(integer)s) AS text_positions,
           array_agg(CASE WHEN c.kind <> %(boolean)s THEN coalesce(a.text_value, '')
                          WHEN a.bool_value THEN %(yes)s WHEN NOT a.bool_value THEN %(no)s ELSE '' END)
               FILTER (WHERE c.kind <> %(integer)s) AS texts
    FROM {answers} a JOIN cells c ON c.item_id = a.item_id
    WHERE a.survey_return_id = p.id
) v ON true
ORDER BY p.code
"""


def _pages_postgresql(*, edition, items, statuses, chunk_size) -> Iterator[list[list]]:
    """PostgreSQL gathers each return's answers into arrays: Python only places them. (A row
    per answer through the ORM, and a few calls each, took 11.6 s of CPU for 100,000 returns,
    twice this; on a busy machine the CPU is what is short.)"""
    quote = connection.ops.quote_name
    filters = " AND r.status = ANY(%(statuses)s)" if statuses else ""
    parameters = {
        "edition": edition.pk, "limit": chunk_size, "first": FIRST_ITEM_COLUMN, "statuses": list(statuses or []),
        "item_ids": [item.id for item in items], "kinds": [item.type for item in items],
        "integer": ItemType.INTEGER.value, "boolean": ItemType.BOOLEAN.value,
        "yes": value_display(True), "no": value_display(False),
    }
    blank = [""] * len(items)
    after = None
    while True:
        sql = _PAGE_SQL.format(
            returns=quote(SurveyReturn._meta.db_table), institutions=quote(Institution._meta.db_table),
            answers=quote(Answer._meta.db_table),
            filters=filters + (" AND i.code > %(after)s" if after is not None else ""),
        )
        with transaction.atomic(), connection.cursor() as cursor:
            # The plan's cost (1,000 lateral aggregates) is above jit_above_cost, and compiling
            # it took 50 ms of each page's 150-250 ms; it runs no faster compiled.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(sql, {**parameters, "after": after})
            fetched = cursor.fetchall()
        page = []
        for code, name, province, status, version, integer_positions, integers, text_positions, texts in fetched:
            row = [*row_neutralise([code, name, province, status, version]), *blank]
            for position, value in zip(integer_positions or (), integers or (), strict=True):
                row[position] = value
            for position, text in zip(text_positions or (), texts or (), strict=True):
                row[position] = _text_neutralised(text)
            page.append(row)
        if page:
            yield page
        if len(fetched) < chunk_size:
            return
        after = fetched[-1][0]


def _pages_portable(*, edition, items, statuses, chunk_size) -> Iterator[list[list]]:
    """Any database (SQLite in development): a page of returns, then their answers, through the ORM."""
    position = {item.id: index for index, item in enumerate(items, start=FIRST_ITEM_COLUMN)}
    kinds = {item.id: item.type for item in items}
    blank = [""] * len(items)
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
        rows = {
            return_id: [*row_neutralise([code, name, province, status, version]), *blank]
            for return_id, code, name, province, status, version in batch
        }
        for return_id, item_id, int_value, bool_value, text_value in Answer.objects.filter(
            survey_return_id__in=list(rows)
        ).values_list("survey_return_id", "item_id", "int_value", "bool_value", "text_value"):
            kind = kinds.get(item_id)
            if kind is None:
                continue  # not an item of the edition
            if kind == ItemType.INTEGER:
                rows[return_id][position[item_id]] = int_value
            else:
                value = bool_value if kind == ItemType.BOOLEAN else text_value
                rows[return_id][position[item_id]] = _text_neutralised(value_display(value))
        yield list(rows.values())
        if len(batch) < chunk_size:
            return
        last_code = batch[-1][1]


def returns_csv_text(pages: Iterable[list[list]]) -> Iterator[str]:
    """CSV text a page of rows at a time (csv's default dialect), starting with UTF-8's
    byte-order mark so Excel reads the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    for rows in pages:
        writer.writerows(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def returns_xlsx_write(pages: Iterable[list[list]], handle) -> None:
    """The rows into `handle` as XLSX, in openpyxl's write-only mode (rows go to disk, not memory)."""
    from openpyxl import Workbook

    from reporting.spreadsheets.workbooks import xlsx_safe

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("returns")
    for rows in pages:
        for row in rows:
            sheet.append([xlsx_safe(value) for value in row])
    workbook.save(handle)


def returns_export_csv_chunks(*, edition: Edition, statuses=None) -> Iterator[str]:
    """CSV text, a page of returns at a time, UTF-8 with a byte-order mark so Excel opens Chinese correctly."""
    return returns_csv_text(returns_export_row_pages(edition=edition, statuses=statuses))


def returns_export_xlsx_file(*, edition: Edition, statuses=None):
    """A temporary file (open, at position 0) holding the XLSX export, written in write-only mode."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    returns_xlsx_write(returns_export_row_pages(edition=edition, statuses=statuses), handle)
    handle.seek(0)
    return handle


# --- the national figures: report page downloads and `manage.py export_figures` ------------
#
# The first five columns are a contract scripts rely on (edition, group_by, group, key, value:
# codes and the unrounded value, as `export_figures` always wrote them). The columns after them
# are for people: the figure as printed, its unit and format, the indicator's and the group's
# names in Chinese and English.

FIGURE_CONTRACT_COLUMNS = ["edition", "group_by", "group", "key", "value"]
FIGURE_COLUMNS = [
    # (name, header in Chinese / English, XLSX column width)
    ("edition", "普查年份 / Edition", 10),
    ("group_by", "分组方式 / Grouped by", 14),
    ("group", "分组代码 / Group code", 14),
    ("key", "指标代码 / Indicator key", 28),
    ("value", "精确值 / Exact value", 16),
    ("value_rounded", "报告中的数值（取整） / Value as printed", 16),
    ("unit", "单位 / Unit", 8),
    ("label_zh", "指标（中文） / Indicator (Chinese)", 40),
    ("label_en", "指标（英文） / Indicator (English)", 48),
    ("group_zh", "分组（中文） / Group (Chinese)", 16),
    ("group_en", "分组（英文） / Group (English)", 20),
    ("format", "格式 / Format", 8),
]
FIGURE_COLUMN_NAMES = [name for name, _header, _width in FIGURE_COLUMNS]
# How Excel shows the rounded value: as the report prints it (1,237 · 63.6 · -54.43).
XLSX_NUMBER_FORMATS = {"int": "#,##0", "pct0": "0", "pct1": "0.0", "pct2": "0.00", "dec1": "0.0", "dec2": "0.00"}


@dataclass(frozen=True)
class FigureRow:
    edition: int
    group_by: str
    group: str
    key: str
    value: Decimal | None
    format: str
    label_zh: str
    label_en: str
    group_zh: str
    group_en: str

    @property
    def value_rounded(self) -> Decimal | None:
        return figure_rounded(self.value, self.format)

    @property
    def unit(self) -> str:
        return "%" if self.format.startswith("pct") else ""


def _group_names(edition: Edition) -> dict[tuple[str, str], tuple[str, str]]:
    """{(group_by, group): (Chinese name, English name)}: provinces from the registry, ownership
    and hospital level from the questionnaire's choices (2 queries)."""
    names = {(Breakdown.NATIONAL.value, "national"): ("全国", "National")}
    for code, name_zh, name_en in Province.objects.values_list("code", "name_zh", "name_en"):
        names[(Breakdown.PROVINCE.value, code)] = (name_zh, name_en)
    for item_code, choices in Item.objects.filter(
        edition=edition, code__in=[Breakdown.OWNERSHIP, Breakdown.HOSPITAL_LEVEL]
    ).values_list("code", "choices"):
        for choice in choices:
            names[(item_code, choice["code"])] = (choice.get("label_zh", ""), choice.get("label_en", ""))
    return names


def figure_download_rows(*, edition: Edition, breakdown: str | None = None, publication=None,
                         rows: list[list] | None = None) -> list[FigureRow]:
    """The rows of `figure_export_rows` (same order, same values), or the given `rows` (the
    trends), with what a person needs to read them. Five queries, whatever the number of groups."""
    if rows is None:
        rows = figure_export_rows(edition=edition, breakdown=breakdown, publication=publication)
    indicators = {
        key: (fmt, label_zh, label_en)
        for key, fmt, label_zh, label_en in Indicator.objects.filter(edition=edition).values_list(
            "key", "format", "label_zh", "label_en")
    }
    groups = _group_names(edition)
    result = []
    for year, group_by, group, key, value in rows:
        fmt, label_zh, label_en = indicators.get(key, ("", "", ""))
        group_zh, group_en = groups.get((group_by, group), ("", ""))
        result.append(FigureRow(
            edition=year, group_by=group_by, group=group, key=key, value=value, format=fmt,
            label_zh=label_zh, label_en=label_en, group_zh=group_zh, group_en=group_en,
        ))
    return result


def figures_csv(rows: list[FigureRow], *, for_excel: bool = False) -> str:
    """CSV text; values unrounded (up to 8 decimals) and empty where a percentage's
    denominator is 0. `for_excel` (the browser download) starts it with a byte-order mark, so
    Excel reads the Chinese names as UTF-8, and ends lines with CRLF; the command writes
    plain UTF-8 lines for scripts."""
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n" if for_excel else "\n")
    writer.writerow(FIGURE_COLUMN_NAMES)
    for row in rows:
        writer.writerow(
            row_neutralise([row.edition, row.group_by, row.group, row.key])
            + [value_plain(row.value), _printed_digits(row.value_rounded)]
            + row_neutralise([row.unit, row.label_zh, row.label_en, row.group_zh, row.group_en, row.format])
        )
    return ("\ufeff" if for_excel else "") + output.getvalue()


def _printed_digits(rounded: Decimal | None) -> str:
    """The rounded value with the report's decimals (63.60 stays 63.60), no thousands separator."""
    return "" if rounded is None else format(rounded, "f")


def figures_json(rows: list[FigureRow]) -> list[dict]:
    """One object per figure: the contract fields, then the readable ones; numbers as numbers."""
    return [
        {
            "edition": row.edition, "group_by": row.group_by, "group": row.group, "key": row.key,
            "value": value_number(row.value), "value_rounded": value_number(row.value_rounded),
            "unit": row.unit, "label_zh": row.label_zh, "label_en": row.label_en,
            "group_zh": row.group_zh, "group_en": row.group_en, "format": row.format,
        }
        for row in rows
    ]


def figures_xlsx(rows: list[FigureRow]) -> bytes:
    """XLSX: row 1 the column names of the CSV, row 2 their Chinese / English headers (both
    frozen), data from row 3; numbers stored as numbers, the rounded value shown as printed.
    Written in openpyxl's write-only mode (a national download has some 6,000 rows)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from reporting.spreadsheets.workbooks import xlsx_safe

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("figures")
    sheet.freeze_panes = "A3"  # both header rows stay in view
    for index, (_name, _header, width) in enumerate(FIGURE_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(FIGURE_COLUMNS))}{len(rows) + 2}"
    sheet.row_dimensions[2].height = 45  # the bilingual headers wrap onto a few lines
    bold, header_fill = Font(bold=True), PatternFill("solid", fgColor="EEF2F7")
    wrap = Alignment(wrap_text=True, vertical="top")

    def header_cell(text, fill=None):
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        if fill is not None:
            cell.fill, cell.alignment = fill, wrap
        return cell

    sheet.append([header_cell(name) for name in FIGURE_COLUMN_NAMES])
    sheet.append([header_cell(header, header_fill) for _name, header, _width in FIGURE_COLUMNS])
    for row in rows:
        rounded = value_number(row.value_rounded)
        number_format = XLSX_NUMBER_FORMATS.get(row.format)
        if number_format:
            rounded = WriteOnlyCell(sheet, value=rounded)
            rounded.number_format = number_format
        sheet.append(
            [xlsx_safe(cell) for cell in (row.edition, row.group_by, row.group, row.key)]
            + [value_number(row.value), rounded]
            + [xlsx_safe(cell) for cell in (row.unit, row.label_zh, row.label_en, row.group_zh, row.group_en,
                                            row.format)]
        )
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
