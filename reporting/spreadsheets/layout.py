"""The one layout shared by templates, uploads, the import command and exports.

Row 1 is the header: ``institution_code``, optional information columns, then item codes.
Rows whose first cell starts with ``#`` are notes and are skipped on import (pandas reads
such files with ``comment="#"``). The template and exports write these note rows:

- ``#edition`` and the survey year (an upload of another edition's template is refused);
- ``#zh`` / ``#en``: each column's label in Chinese / English, with its unit;
- ``#hint``: what the column accepts (whole number >= 0, yes/no, the choice codes).

Empty rows are skipped. Information columns (``institution_name`` ...) are written for
people and ignored on import, so an export can be edited and imported back.

One institution's template may instead be laid out one item a row (easier to read than 125
columns across): row 1 is ``item_code, label_zh, label_en, unit, value, hint``; then a row
``institution_code`` with the code in the value column, and one row per item (its code in
column A, its answer in the value column). The importer tells the two apart by the header's
first cell (``institution_code`` or ``item_code``); ``#`` rows are notes in both.
"""

from __future__ import annotations

from reporting.models import Item, ItemType

INSTITUTION_CODE = "institution_code"
INSTITUTION_NAME = "institution_name"
INFO_COLUMNS = (INSTITUTION_NAME, "province", "return_status", "return_version")
NOTE_PREFIX = "#"
EDITION_NOTE = "#edition"
LABEL_ZH_NOTE = "#zh"
LABEL_EN_NOTE = "#en"
HINT_NOTE = "#hint"
SECTION_NOTE = "#section"

# One item a row (a single institution's template); VALUE is the column read on import.
ITEM_CODE = "item_code"
VALUE = "value"
LONG_HEADER = (ITEM_CODE, "label_zh", "label_en", "unit", VALUE, "hint")

YES_ZH, NO_ZH = "是", "否"


def item_label(item: Item, language: str) -> str:
    """The item's label with its unit, e.g. 'PET/CT 检查（例）'."""
    if language == "en":
        return f"{item.label_en} ({item.unit_en})" if item.unit_en else item.label_en
    return f"{item.label_zh}（{item.unit_zh}）" if item.unit_zh else item.label_zh


def item_unit(item: Item) -> str:
    """The item's unit in both languages, e.g. '台 / units' ('' when it has none)."""
    units = [unit for unit in (item.unit_zh, item.unit_en) if unit]
    return " / ".join(dict.fromkeys(units))


def item_hint(item: Item) -> str:
    """What a cell of this item accepts, in both languages."""
    if item.type == ItemType.INTEGER:
        return "整数 ≥ 0 / whole number ≥ 0"
    if item.type == ItemType.BOOLEAN:
        return "是/否 · yes/no"
    if item.type == ItemType.CHOICE:
        return " | ".join(f"{c['code']} = {c.get('label_zh', '')} / {c.get('label_en', '')}" for c in item.choices)
    return "文本 / text"


def edition_items(edition) -> list[Item]:
    """The edition's items in questionnaire order (section, then position)."""
    return list(
        Item.objects.filter(edition=edition).select_related("section").order_by("section__position", "position")
    )
