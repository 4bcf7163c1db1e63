"""The XLSX templates of an edition, in two layouts the import both reads.

Many institutions (``template_workbook_build``): one row per institution, item codes in the
header. Row 1 holds the codes the import reads; rows 2-5 are notes (edition, Chinese and
English labels with units, what each column accepts) that the import skips.

One institution (``return_template_workbook_build``): one item a row, with its code, labels,
unit, the answer and what it accepts, under headings per section: a person reads it down the
page instead of across 125 columns.

Answer cells carry data validation: drop-downs for yes/no and choices, whole numbers from 0
for counts, so Excel catches most mistakes while the form is filled offline. Templates can be
blank or prefilled with current answers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from reporting.formula_safety import cell_neutralise
from reporting.models import MAX_INTEGER_VALUE, Edition, Item, ItemType
from reporting.spreadsheets.layout import (
    EDITION_NOTE,
    HINT_NOTE,
    INSTITUTION_CODE,
    INSTITUTION_NAME,
    LABEL_EN_NOTE,
    LABEL_ZH_NOTE,
    LONG_HEADER,
    NO_ZH,
    NOTE_PREFIX,
    SECTION_NOTE,
    VALUE,
    YES_ZH,
    item_hint,
    item_label,
    item_unit,
)
from reporting.values import Value

FIRST_DATA_ROW = 6
SHEET_TITLE = "returns"
LISTS_SHEET = "lists"


def xlsx_safe(value):
    """Neutralised against formula injection, without the control characters XLSX cannot hold."""
    value = cell_neutralise(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def cell_value(item: Item, value: Value, language: str):
    """How a stored value is written into a template cell (the import reads it back)."""
    if value is None:
        return None
    if item.type == ItemType.BOOLEAN:
        if language == "en":
            return "yes" if value else "no"
        return YES_ZH if value else NO_ZH
    if item.type == ItemType.CHOICE:
        for choice in item.choices:
            if choice["code"] == value:
                return choice.get("label_en" if language == "en" else "label_zh") or value
        return value
    return xlsx_safe(value)


class AnswerValidations:
    """The data validations of a template's answer cells: whole numbers from 0 for counts, a
    yes/no drop-down, and a drop-down per choice item read from the hidden lists sheet."""

    def __init__(self, sheet, lists, language: str):
        self.sheet, self.lists, self.language = sheet, lists, language
        self.whole = DataValidation(
            type="whole", operator="between", formula1="0", formula2=str(MAX_INTEGER_VALUE),
            allow_blank=True, showErrorMessage=True,
            errorTitle="整数 / whole number", error="请输入 ≥ 0 的整数 / enter a whole number of 0 or more",
        )
        self.yes_no = DataValidation(
            type="list",
            formula1='"yes,no"' if language == "en" else f'"{YES_ZH},{NO_ZH}"',
            allow_blank=True, showErrorMessage=True,
            errorTitle="是/否 · yes/no", error="请选择 是 或 否 / choose yes or no",
        )
        sheet.add_data_validation(self.whole)
        sheet.add_data_validation(self.yes_no)
        self.list_column = 0

    def add(self, item: Item, cells: str) -> bool:
        """Validate `cells` (a range or one cell) as `item`'s answer; False for free text."""
        if item.type == ItemType.INTEGER:
            self.whole.add(cells)
        elif item.type == ItemType.BOOLEAN:
            self.yes_no.add(cells)
        elif item.type == ItemType.CHOICE and item.choices:
            # Choice labels may hold commas, so the drop-down reads them from a hidden sheet.
            self.list_column += 1
            list_letter = get_column_letter(self.list_column)
            self.lists.cell(row=1, column=self.list_column, value=item.code)
            for position, choice in enumerate(item.choices, start=2):
                label = choice.get("label_en" if self.language == "en" else "label_zh") or choice["code"]
                self.lists.cell(row=position, column=self.list_column, value=xlsx_safe(label))
            end = len(item.choices) + 1
            choices = DataValidation(
                type="list",
                formula1=f"{quote_sheetname(LISTS_SHEET)}!${list_letter}$2:${list_letter}${end}",
                allow_blank=True, showErrorMessage=True,
                errorTitle=item.code, error=item_hint(item)[:255],
            )
            self.sheet.add_data_validation(choices)
            choices.add(cells)
        else:
            return False
        return True


def template_workbook_build(
    *,
    edition: Edition,
    items: list[Item],
    rows: Iterable[tuple[str, str, dict[str, Value]]],
    language: str = "zh-hans",
    spare_rows: int = 0,
) -> bytes:
    """The template as XLSX bytes; `rows` are (institution code, name, {item code: value})."""
    language = "en" if language.startswith("en") else "zh"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"

    header = [INSTITUTION_CODE, INSTITUTION_NAME] + [item.code for item in items]
    sheet.append(header)
    sheet.append([EDITION_NOTE, edition.year, edition.title_zh, edition.title_en])
    sheet.append([LABEL_ZH_NOTE, "机构名称（仅供参考，导入时忽略）"] + [item_label(item, "zh") for item in items])
    sheet.append([LABEL_EN_NOTE, "Institution name (for reference; ignored on import)"] + [item_label(item, "en") for item in items])
    sheet.append([HINT_NOTE, "每行一个机构 · one row per institution"] + [item_hint(item) for item in items])

    count = 0
    for code, name, values in rows:
        sheet.append([xlsx_safe(code), xlsx_safe(name)] + [
            cell_value(item, values.get(item.code), language) for item in items
        ])
        count += 1
    last_row = FIRST_DATA_ROW + max(count + spare_rows, 1) - 1

    bold = Font(bold=True)
    note_fill = PatternFill("solid", fgColor="EEF2F7")
    for cell in sheet[1]:
        cell.font = bold
    for row in sheet.iter_rows(min_row=2, max_row=FIRST_DATA_ROW - 1):
        for cell in row:
            cell.fill = note_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[3].height = 45
    sheet.row_dimensions[4].height = 45
    sheet.freeze_panes = sheet.cell(row=FIRST_DATA_ROW, column=3)
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 24
    # Codes like 0101 must stay text, not become the number 101.
    for row_number in range(FIRST_DATA_ROW, last_row + 1):
        sheet.cell(row=row_number, column=1).number_format = "@"
    sheet["A1"].comment = Comment(
        "第1行是题目代码，导入时按代码读取；以 # 开头的行是说明，导入时跳过。\n"
        "Row 1 holds the item codes the import reads; rows starting with # are notes and are skipped.",
        "CSNM",
    )

    validations = AnswerValidations(sheet, lists, language)
    for index, item in enumerate(items, start=3):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 14
        validations.add(item, f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


LONG_SHEET_TITLE = "return"
LONG_VALUE_COLUMN = LONG_HEADER.index(VALUE) + 1  # E
LONG_WIDTHS = {"A": 26, "B": 44, "C": 44, "D": 12, "E": 18, "F": 40}


def return_template_workbook_build(
    *,
    edition: Edition,
    items: list[Item],
    institution_code: str,
    institution_name: str,
    values: dict[str, Value],
    language: str = "zh-hans",
) -> bytes:
    """One institution's template, one item a row (see reporting.spreadsheets.layout)."""
    language = "en" if language.startswith("en") else "zh"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = LONG_SHEET_TITLE
    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"

    bold = Font(bold=True)
    note_fill = PatternFill("solid", fgColor="EEF2F7")
    section_fill = PatternFill("solid", fgColor="D9E2F0")
    answer_fill = PatternFill("solid", fgColor="FFF8DC")
    sheet.append(list(LONG_HEADER))
    sheet.append([NOTE_PREFIX + "说明 / notes", "题目", "Item", "单位 / Unit", "答案 / Answer",
                  "可填写的内容 / Accepted values"])
    sheet.append([EDITION_NOTE, edition.year, edition.title_zh, edition.title_en])
    sheet.append([INSTITUTION_CODE, "机构代码（请勿修改）", "Institution code (do not change)", None,
                  xlsx_safe(institution_code)])
    code_row = 4
    sheet.append([INSTITUTION_NAME, "机构名称（仅供参考，导入时忽略）", "Institution name (for reference; ignored on import)",
                  None, xlsx_safe(institution_name)])
    row = 5  # counted, not read from sheet.max_row (which scans every cell each time)
    for sheet_row in sheet.iter_rows(min_row=1, max_row=row):
        for cell in sheet_row:
            if cell.row <= 2:
                cell.font = bold
            if cell.row >= 2:
                cell.fill = note_fill
    sheet.cell(row=code_row, column=LONG_VALUE_COLUMN).number_format = "@"  # codes keep leading zeros

    validations = AnswerValidations(sheet, lists, language)
    section_id = None
    for item in items:
        if item.section_id != section_id:
            section_id = item.section_id
            sheet.append([SECTION_NOTE, item.section.title_zh, item.section.title_en])
            row += 1
            for cell in sheet[row]:
                cell.font, cell.fill = bold, section_fill
        sheet.append([
            item.code, item.label_zh, item.label_en, item_unit(item),
            cell_value(item, values.get(item.code), language), item_hint(item),
        ])
        row += 1
        answer = sheet.cell(row=row, column=LONG_VALUE_COLUMN)
        answer.fill = answer_fill
        if not validations.add(item, answer.coordinate):
            answer.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in LONG_WIDTHS.items():
        sheet.column_dimensions[letter].width = width
    for sheet_row in sheet.iter_rows(min_row=2):
        for cell in sheet_row:
            if cell.column in (2, 3, 6):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A3"
    sheet["A1"].comment = Comment(
        "每行一个题目：在“value / 答案”列（E列）填写；A列是题目代码，导入时按代码读取，请勿修改。"
        "以 # 开头的行是说明，导入时跳过。\n"
        "One item a row: answer in the value column (E). Column A holds the item codes the import "
        "reads; do not change them. Rows starting with # are notes and are skipped.",
        "CSNM",
    )
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
